import { Tensor, type Graph, type OpRegistry } from '@tessera/core';
import { createExecutor, type Executor } from '@tessera/runtime';
import { adam, Trainer, trainableCandidates, type Examples } from '@tessera/train';
import { applyFormatMap, type FormatMap } from './format-map.js';
import { FinetuneOptionsSchema, parseOptions, type FinetuneOptionsInput } from './options.js';
import { quantizedGraph } from './quantized-graph.js';

export interface FinetuneResult {
  /** The float (latent) model after fine-tuning, with the format map stored on it. */
  graph: Graph;
  losses: number[];
  steps: number;
  msPerStep: number;
}

/**
 * Quantization-aware fine-tuning through @tessera/train: the training forward is
 * quantizedGraph(graph, map, {mode: 'train'}) — fake-quantized Posit4 / FixP4 weights (and FixP
 * activations when `activations` is given) with the plain STE or the posit gradient [R] — and the
 * trainer updates the latent float weights. The map stays fixed during fine-tuning.
 */
export async function finetuneMixed(
  graph: Graph, map: FormatMap, data: Examples, activations: ReadonlyMap<string, string> | undefined,
  input: FinetuneOptionsInput = {}, env: { executor?: Executor; registry?: OpRegistry } = {},
): Promise<FinetuneResult> {
  const o = parseOptions(FinetuneOptionsSchema, input, 'posit-mixed fine-tuning');
  const forward = quantizedGraph(graph, map, { mode: 'train', gradient: o.gradient, positGradientClamp: o.positGradientClamp, activations, registry: env.registry });
  const trainer = await Trainer.create({
    forward, optimizer: adam({ lr: o.lr }), batchSize: o.batchSize, params: trainableCandidates(graph), seed: o.seed,
    executor: env.executor, registry: env.registry,
  });
  const results = await trainer.fit(data, { epochs: o.epochs, maxSteps: o.maxSteps > 0 ? o.maxSteps : undefined, progress: false });
  const out = graph.clone();
  for (const [name, t] of trainer.parameters()) if (out.initializers.has(name)) out.setInitializer(name, t);
  applyFormatMap(out, map);
  const ms = trainer.accounting.msPerStep;
  return { graph: out, losses: results.map((r) => r.loss), steps: results.length, msPerStep: ms.reduce((a, b) => a + b, 0) / Math.max(1, ms.length) };
}

export interface Evaluation {
  /** Top-1 accuracy over all predictions (tokens for a language model). */
  accuracy: number;
  /** Mean negative log-likelihood (nats) and its exp (perplexity). */
  nll: number;
  perplexity: number;
  examples: number;
}

/** Runs a classifier or next-token model on `data` in batches and scores its logits against the labels. */
export async function evaluateGraph(graph: Graph, data: Examples, opts: { batchSize?: number; executor?: Executor } = {}): Promise<Evaluation> {
  const executor = opts.executor ?? createExecutor('ort-node');
  const session = await executor.session(graph);
  const input = graph.inputs.find((v) => !v.isInitializer)!.name;
  const n = data.x.shape[0]!;
  const bs = opts.batchSize ?? 256;
  const row = data.x.size / n;
  let correct = 0;
  let nll = 0;
  let count = 0;
  for (let s = 0; s < n; s += bs) {
    const m = Math.min(bs, n - s);
    const x = sliceRows(data.x, s, m, row);
    const logits = (await session.run({ [input]: x }))[session.outputNames[0]!]!;
    const V = logits.shape[logits.rank - 1]!;
    const L = logits.data as Float32Array;
    const per = data.y.size / n;
    for (let i = 0; i < m * per; i++) {
      const label = Number(data.y.getFlat(s * per + i));
      let best = 0;
      let max = -Infinity;
      for (let v = 0; v < V; v++) if (L[i * V + v]! > max) { max = L[i * V + v]!; best = v; }
      let z = 0;
      for (let v = 0; v < V; v++) z += Math.exp(L[i * V + v]! - max);
      nll += Math.log(z) + max - L[i * V + label]!;
      if (best === label) correct++;
      count++;
    }
  }
  return { accuracy: correct / count, nll: nll / count, perplexity: Math.exp(nll / count), examples: n };
}

/** Rows start .. start+m-1 of a tensor (a view, no copy). */
export function sliceRows(t: Tensor, start: number, m: number, row = t.size / t.shape[0]!): Tensor {
  const data = (t.data as Float32Array | BigInt64Array).subarray(start * row, (start + m) * row);
  return new Tensor(t.dtype, [m, ...t.shape.slice(1)], data);
}

/** Stores a format map on a copy of the graph (the public entry for "the map is part of the model"). */
export function withFormatMap(graph: Graph, map: FormatMap): Graph {
  return applyFormatMap(graph.clone(), map);
}
