/**
 * BD-KD options: the loss (temperature, weights, weighting rule, teacher regulariser) and the
 * joint training run (epochs, batch, optimizer). One zod schema serves the function and the
 * pipeline procedure, so both reject a bad option with the same single line.
 */
import { formatIssues } from '@tessera/pipeline';
import { z } from 'zod';

/**
 * How the student's forward KL `KL(p_T‖p_S)` and reverse KL `KL(p_S‖p_T)` are weighted per sample.
 * - 'hard'  [R]: entropy gap g_i = H(p_S) − H(p_T) > 0 (student less certain) -> (fkl, rkl) = (wMinor, wMajor), else (wMajor, wMinor).
 * - 'soft'  [R]: rkl = sigmoid(g_i / softTemp), fkl = 1 − rkl.
 * - 'fkl-only': DML-style online KD (student side). 'rkl-only'. 'fixed-mix': rkl = fixedMix, fkl = 1 − fixedMix for every sample.
 * - 'none': the student alone with cross-entropy (no teacher, no distillation): the baseline arm.
 */
export const WEIGHTINGS = ['hard', 'soft', 'fkl-only', 'rkl-only', 'fixed-mix', 'none'] as const;
export type Weighting = (typeof WEIGHTINGS)[number];

/** The teacher's distillation term: 'reverse-kl' KL(p_T‖sg p_S) (BD-KD), 'forward-kl' KL(sg p_S‖p_T) (DML), or 'none'. */
export const TEACHER_REGS = ['reverse-kl', 'forward-kl', 'none'] as const;
export type TeacherReg = (typeof TEACHER_REGS)[number];

export const BdkdLossSchema = z
  .object({
    /** Distillation temperature τ [R] (KL terms on softmax(z/τ), scaled by τ²; CE and metrics at τ = 1). */
    tau: z.number().positive().default(3),
    /** λ_S: weight of the student's KD term [R]. */
    lambdaStudent: z.number().nonnegative().default(1),
    /** λ_T: weight of the teacher's KD term [R]. */
    lambdaTeacher: z.number().nonnegative().default(1),
    weighting: z.enum(WEIGHTINGS).default('hard'),
    /** 'hard' rule: weight of the emphasised divergence [R]. */
    wMajor: z.number().nonnegative().default(1),
    /** 'hard' rule: weight of the other divergence [R]; must not exceed wMajor. */
    wMinor: z.number().nonnegative().default(0),
    /** 'soft' rule: temperature of the sigmoid over the entropy gap, in nats [R]. */
    softTemp: z.number().positive().default(1),
    /** 'fixed-mix': weight of the reverse KL for every sample (forward KL gets 1 − fixedMix). */
    fixedMix: z.number().min(0).max(1).default(0.5),
    teacherReg: z.enum(TEACHER_REGS).default('reverse-kl'),
  })
  .strict();

export const BdkdTrainSchema = z
  .object({
    epochs: z.number().int().positive().default(5),
    /** Stop after this many joint steps (default: all epochs). */
    maxSteps: z.number().int().positive().optional(),
    batchSize: z.number().int().positive().default(128),
    optimizer: z.enum(['adam', 'adamw', 'sgd']).default('adam'),
    /** Student learning rate (the default parameter group). */
    lr: z.number().positive().default(1e-3),
    /** Teacher learning rate (its own parameter group; default: lr). */
    teacherLr: z.number().positive().optional(),
    momentum: z.number().min(0).max(1).default(0.9),
    weightDecay: z.number().nonnegative().default(0),
    /** Seed of the batch order (weights are seeded by whoever built the graphs). */
    seed: z.number().int().nonnegative().default(0),
    /** onnxruntime intra-op threads (default: TESSERA_THREADS, else 1). */
    threads: z.number().int().positive().optional(),
  })
  .strict();

export const BdkdOptionsSchema = BdkdLossSchema.extend(BdkdTrainSchema.shape).strict();

export type BdkdLossConfig = z.output<typeof BdkdLossSchema>;
export type BdkdOptions = z.output<typeof BdkdOptionsSchema>;
export type BdkdOptionsInput = z.input<typeof BdkdOptionsSchema>;

/** Checks that zod cannot express on one field. Returns the problems, each naming its field. */
function crossFieldProblems(o: BdkdLossConfig): string[] {
  const p: string[] = [];
  if (o.weighting === 'hard' && o.wMinor > o.wMajor) p.push(`wMinor: ${o.wMinor} exceeds wMajor ${o.wMajor}; the 'hard' rule emphasises one divergence, so wMinor must be <= wMajor`);
  return p;
}

function parseWith<S extends typeof BdkdLossSchema | typeof BdkdOptionsSchema>(schema: S, raw: unknown, source: string): z.output<S> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${source}: options must be an object`);
  const r = schema.safeParse(raw, { reportInput: true });
  const problems = r.success ? crossFieldProblems(r.data as BdkdLossConfig) : formatIssues(r.error, schema);
  if (problems.length) throw new Error(`${source}: ${problems.join('; ')}`);
  return r.data as z.output<S>;
}

/** Validates and fills defaults; a bad option throws ONE line naming the field and what is valid. */
export function parseBdkdOptions(raw: unknown = {}, source = 'bdkd'): BdkdOptions {
  return parseWith(BdkdOptionsSchema, raw, source);
}

export function parseBdkdLossConfig(raw: unknown = {}, source = 'bdkd loss'): BdkdLossConfig {
  return parseWith(BdkdLossSchema, raw, source);
}
