import { interpret, Rng, standardOps, Tensor, type Graph, type OpRegistry } from '@tessera/core';

/**
 * Runs a graph on named feeds and returns its outputs (or the named fetches) by name. Any executor
 * fits behind it, so this package does not depend on a runtime.
 */
export type GraphRunner = (graph: Graph, feeds: Record<string, Tensor>, fetches?: string[]) => Promise<Record<string, Tensor>>;

/** A GraphRunner on core's reference interpreter (exact, slow: for tests and tiny models). */
export function interpretRunner(registry: OpRegistry = standardOps()): GraphRunner {
  return async (graph, feeds, fetches) => interpret(graph, feeds, { registry, fetches });
}

export interface GenerateOptions {
  /** A causal LM graph: input 'x' int64 [1 or N, T], output 'logits' [., T, V] (as buildGpt makes). */
  graph: Graph;
  run: GraphRunner;
  prompt: ArrayLike<number>;
  /** Tokens to generate. */
  steps: number;
  /** 0 (default) = greedy argmax; > 0 samples from softmax(logits / temperature). */
  temperature?: number;
  /** Sample only among the k most likely tokens (default: all). */
  topK?: number;
  /** Seed of the sampling stream (default 0). */
  seed?: number;
  /** Id used to fill the window right of the last token (never attended by a causal model; default 0). */
  padId?: number;
  /**
   * Step hook: receives the next-token logits (float64, a copy), the step, all graph outputs and
   * `at`, the window position the logits were read at (so other [N, T, ...] outputs, e.g. a
   * hidden state, can be read there), and may return replacement logits (e.g. a mixture with an
   * adapter's distribution).
   */
  transformLogits?: (logits: Float64Array, step: number, outputs: Record<string, Tensor>, at: number) => Float64Array | undefined | void;
}

/**
 * Autoregressive decoding through any executor: each step feeds the last T tokens (T = the
 * graph's context), right-padded, and reads the logits at the last real position. Returns the
 * generated tokens (without the prompt). Deterministic for a given seed.
 */
export async function generate(opts: GenerateOptions): Promise<number[]> {
  const input = opts.graph.inputs.find((v) => v.name === 'x');
  const T = input?.shape?.[1];
  if (typeof T !== 'number') throw new Error(`generate: graph "${opts.graph.name}" needs an input 'x' of shape [N, T] with a fixed T`);
  if (opts.prompt.length === 0) throw new Error('generate: the prompt is empty; give at least one token');
  const temperature = opts.temperature ?? 0;
  const rng = new Rng(opts.seed ?? 0);
  const tokens = Array.from(opts.prompt, Number);
  const out: number[] = [];
  for (let step = 0; step < opts.steps; step++) {
    const window = tokens.slice(-T);
    const ids = new BigInt64Array(T).fill(BigInt(opts.padId ?? 0));
    window.forEach((t, i) => { ids[i] = BigInt(t); });
    const outputs = await opts.run(opts.graph, { x: new Tensor('int64', [1, T], ids) });
    const logitsT = outputs.logits;
    if (!logitsT || logitsT.rank !== 3) throw new Error(`generate: graph "${opts.graph.name}" must output 'logits' [N, T, V]`);
    const V = logitsT.shape[2]!;
    let logits: Float64Array = new Float64Array(V);
    const at = window.length - 1;
    for (let v = 0; v < V; v++) logits[v] = logitsT.getFlat(at * V + v);
    logits = opts.transformLogits?.(logits, step, outputs, at) ?? logits;
    const next = temperature <= 0 ? argmax(logits) : sample(logits, temperature, opts.topK ?? V, rng);
    tokens.push(next);
    out.push(next);
  }
  return out;
}

function argmax(a: Float64Array): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i]! > a[best]!) best = i;
  return best;
}

function sample(logits: Float64Array, temperature: number, topK: number, rng: Rng): number {
  const order = Array.from(logits.keys()).sort((a, b) => logits[b]! - logits[a]! || a - b).slice(0, Math.max(1, topK));
  const max = logits[order[0]!]!;
  const w = order.map((i) => Math.exp((logits[i]! - max) / temperature));
  let u = rng.uniform() * w.reduce((s, x) => s + x, 0);
  for (let k = 0; k < order.length; k++) {
    u -= w[k]!;
    if (u <= 0) return order[k]!;
  }
  return order[order.length - 1]!;
}
