/**
 * Inference: the probability mixture of the PLM and PEMA, Gradual Unrolling, and generation
 * through the PLM owner's step-wise decoder.
 */
import { z } from 'zod';
import { pemaLogProbs, type PemaAdapter } from './adapter.js';
import type { ModelOwner, OutputHead } from './memory.js';

/**
 * log P = logsumexp(log(1 − λ) + log P_LM, log λ + log P_PEMA), elementwise over V: a mixture of
 * probabilities (not of logits). λ = 0 gives P_LM exactly, λ = 1 gives P_PEMA exactly.
 */
export function mixLogProbs(logPlm: ArrayLike<number>, logPema: ArrayLike<number>, lambda: number): Float64Array {
  if (!(lambda >= 0 && lambda <= 1)) throw new Error(`mixLogProbs: lambda must lie in [0, 1], got ${lambda}`);
  const out = new Float64Array(logPlm.length);
  const a = Math.log(1 - lambda);
  const b = Math.log(lambda);
  for (let v = 0; v < out.length; v++) {
    const x = a + logPlm[v]!;
    const y = b + logPema[v]!;
    const m = Math.max(x, y);
    out[v] = m === -Infinity ? -Infinity : m + Math.log(Math.exp(x - m) + Math.exp(y - m));
  }
  return out;
}

/**
 * Gradual Unrolling (official generation code): δ = λmax / L; the first token uses λmax as is;
 * after each token λ̃ ← λ̃ − δ while that stays positive; the applied weight is
 * λ̃²/m + (m − 1)/m with m = 1 / (1 − floorPct/100). With floorPct 0: λ_t = (λmax(1 − t/L))².
 * L is a length budget known at test time; this function takes nothing else.
 */
export function guSchedule(lambdaMax: number, lengthBudget: number, floorPct = 0): (t: number) => number {
  if (!(lambdaMax >= 0 && lambdaMax <= 1)) throw new Error(`guSchedule: lambdaMax must lie in [0, 1], got ${lambdaMax}`);
  if (!(Number.isInteger(lengthBudget) && lengthBudget >= 1)) throw new Error(`guSchedule: lengthBudget must be a positive integer, got ${lengthBudget}`);
  if (!(floorPct >= 0 && floorPct < 100)) throw new Error(`guSchedule: floorPct must lie in [0, 100), got ${floorPct}`);
  const delta = lambdaMax / lengthBudget;
  const m = 1 / (1 - floorPct / 100);
  return (t: number) => {
    if (t === 0) return lambdaMax;
    let tilde = lambdaMax;
    for (let k = 0; k < t; k++) if (tilde - delta > 0) tilde -= delta;
    return (tilde * tilde) / m + (m - 1) / m;
  };
}

/** Where GU's length budget comes from: the generation cap, or a ratio of the source (prompt) length. Never the reference. */
export const lengthBudgetSchema = z.discriminatedUnion('from', [
  z.object({ from: z.literal('maxNewTokens') }).strict(),
  z.object({ from: z.literal('sourceLength'), ratio: z.number().positive() }).strict(),
]);
export type LengthBudget = z.output<typeof lengthBudgetSchema>;

export const generateOptionsSchema = z.object({
  maxNewTokens: z.number().int().positive().default(32),
  /** Constant λ when gradualUnrolling is false; λmax of the schedule otherwise. */
  lambdaMax: z.number().min(0).max(1).default(0.9),
  gradualUnrolling: z.boolean().default(true),
  floorPct: z.number().min(0).lt(100).default(0),
  lengthBudget: lengthBudgetSchema.default({ from: 'maxNewTokens' }),
}).strict();
export type PemaGenerateOptions = z.output<typeof generateOptionsSchema>;

/** The length budget L from what is known when generating: the prompt and the options. */
export function resolveLengthBudget(budget: LengthBudget, maxNewTokens: number, sourceLength: number): number {
  return budget.from === 'maxNewTokens' ? maxNewTokens : Math.max(1, Math.ceil(budget.ratio * sourceLength));
}

/** One line for the first problem of a zod error: `path: message`. */
export function firstIssue(where: string, error: z.ZodError): string {
  const i = error.issues[0]!;
  const path = i.path.length ? i.path.join('.') : '(options)';
  return `${where}: ${path}: ${i.message}`;
}

/**
 * Greedy generation with PEMA plugged into the PLM owner's decoder: at step t the PLM's
 * distribution and P_PEMA of the step's representation are mixed with λ_t (constant, or GU over
 * a length budget from the prompt and the options). `onStep` sees every applied λ.
 */
export async function pemaGenerate(owner: ModelOwner, adapter: PemaAdapter, head: OutputHead, prompt: ArrayLike<number>,
  options: z.input<typeof generateOptionsSchema> = {}, onStep?: (t: number, lambda: number) => void): Promise<number[]> {
  const parsed = generateOptionsSchema.safeParse(options);
  if (!parsed.success) throw new Error(firstIssue('pemaGenerate', parsed.error));
  const o = parsed.data;
  const L = resolveLengthBudget(o.lengthBudget, o.maxNewTokens, prompt.length);
  const lambdaAt = o.gradualUnrolling ? guSchedule(o.lambdaMax, L, o.floorPct) : () => o.lambdaMax;
  return owner.decode(prompt, o.maxNewTokens, ({ step, representation, logits }) => {
    const lambda = lambdaAt(step);
    onStep?.(step, lambda);
    const plm = logSoftmax(logits);
    const pema = pemaLogProbs(adapter, head, representation, 1);
    return mixLogProbs(plm, pema, lambda);
  });
}

export function logSoftmax(logits: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let v = 0; v < logits.length; v++) if (logits[v]! > max) max = logits[v]!;
  let sum = 0;
  for (let v = 0; v < logits.length; v++) sum += Math.exp(logits[v]! - max);
  const lse = max + Math.log(sum);
  return Float64Array.from(logits, (x) => x - lse);
}
