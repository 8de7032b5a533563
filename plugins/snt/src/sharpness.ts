import { hutchinsonTrace, hvpCentral, Rng, standardOps, Tensor, topEigenvalue, type Graph, type OpRegistry } from '@tessera/core';
import { sampleSubset, type Dataset } from '@tessera/data';
import { createExecutor, type Executor, type Session } from '@tessera/runtime';
import { adam, buildTrainingGraph, type TrainingGraph } from '@tessera/train';
import { parseOptions, SharpnessOptionsSchema, type SharpnessOptionsInput } from './options.js';
import { expansionsOf } from './transform.js';

/** Named splits; sharpness reads only `train` or `search` (both carved from the official train set). */
export interface SplitData {
  train?: Dataset;
  search?: Dataset;
  test?: Dataset;
}

export interface SharpnessResult {
  split: 'train' | 'search';
  /** Name of the dataset the examples came from. */
  dataset: string;
  examples: number;
  /** Mean cross-entropy at θ on those examples. */
  loss: number;
  /** max over the ascent iterates of L(θ+ε) − L(θ), ‖ε‖₂ ≤ ρ. */
  epsSharpness: number;
  /** Top Hessian eigenvalue (power iteration on central-difference HVPs). */
  lambdaMax: number;
  /** Hutchinson estimate of Tr(H) (null when traceProbes is 0). */
  traceH: number | null;
  /** Trainable scalars θ covers (the merged parameter space). */
  parameters: number;
  gradientEvaluations: number;
}

/** Loss and gradient of the mean cross-entropy on one fixed batch, at any flat θ (ORT session, compiled once). */
export class LossOracle {
  evaluations = 0;
  private constructor(readonly tg: TrainingGraph, private readonly session: Session, private readonly x: Tensor, private readonly y: Tensor, readonly theta: Float64Array) {}

  static async create(graph: Graph, batch: { x: Tensor; y: Tensor }, executor: Executor, registry: OpRegistry = standardOps()): Promise<LossOracle> {
    const n = batch.x.shape[0]!;
    const tg = buildTrainingGraph({ forward: graph, loss: 'cross-entropy', optimizer: adam({ lr: 0 }), registry, batchSize: n, gradientsOnly: true });
    const session = await executor.session(tg.graph);
    const parts = tg.slots.map((s) => graph.initializers.get(s.param)!.initializer!.toFloat64());
    const theta = new Float64Array(parts.reduce((a, p) => a + p.length, 0));
    let off = 0;
    for (const p of parts) { theta.set(p, off); off += p.length; }
    return new LossOracle(tg, session, batch.x, batch.y, theta);
  }

  async at(theta: Float64Array): Promise<{ loss: number; grad: Float64Array }> {
    const feeds: Record<string, Tensor> = { [this.tg.dataInputs[0]!]: this.x, labels: this.y };
    let off = 0;
    for (const s of this.tg.slots) {
      const n = s.shape.reduce((a, c) => a * c, 1);
      feeds[s.input] = new Tensor('float32', s.shape, Float32Array.from(theta.subarray(off, off + n)));
      off += n;
    }
    const res = await this.session.run(feeds, [this.tg.lossOutput, ...this.tg.slots.map((s) => s.grad!)]);
    this.evaluations++;
    const grad = new Float64Array(this.theta.length);
    off = 0;
    for (const s of this.tg.slots) { const d = res[s.grad!]!.toFloat64(); grad.set(d, off); off += d.length; }
    return { loss: res[this.tg.lossOutput]!.getFlat(0), grad };
  }
}

function norm(v: Float64Array): number {
  let s = 0;
  for (const x of v) s += x * x;
  return Math.sqrt(s);
}

/**
 * ε-sharpness and λmax of a (merged) classifier on TRAINING data. The data come as named splits and
 * `split` says which one to read: 'train' or 'search'. Asking for 'test', or handing a test set in
 * under the name of another split, is an error — diagnostics that steer model choices never look
 * at test. An expanded SNT graph is refused too: sharpness is compared in the merged space.
 *
 * ε-sharpness: ε₀ = 0, then `ascentSteps` times ε ← Π_ρ(ε + ρ·g/‖g‖) with g = ∇L(θ+ε) (projected
 * normalised ascent on the L2 ball); the result is the largest L(θ+ε) − L(θ) seen.
 */
export async function measureSharpness(graph: Graph, data: SplitData, options: SharpnessOptionsInput, env: { executor?: Executor; registry?: OpRegistry } = {}): Promise<SharpnessResult> {
  if ((options as { split?: string })?.split === 'test') {
    throw new Error("measureSharpness: option 'split' is 'test'; sharpness is measured on training data only: use 'train' or 'search'");
  }
  const o = parseOptions(SharpnessOptionsSchema, options, 'measureSharpness');
  const ds = data[o.split];
  if (!ds) throw new Error(`measureSharpness: option 'split' is '${o.split}', but the data have no '${o.split}' split (have: ${Object.keys(data).filter((k) => data[k as keyof SplitData]).join(', ') || 'none'})`);
  if (data.test && ds === data.test) throw new Error(`measureSharpness: the '${o.split}' split is the test set itself; pass a split of the training data`);
  if (/(^|[/_-])test$/i.test(ds.name)) throw new Error(`measureSharpness: the '${o.split}' split is dataset '${ds.name}', a test set; sharpness is measured on training data only`);
  if (expansionsOf(graph).length) throw new Error(`measureSharpness: graph "${graph.name}" is SNT-expanded (${expansionsOf(graph).length} layers); merge it first — sharpness is compared in the merged parameter space`);
  const n = ds.x.shape[0]!;
  const batch = o.examples < n ? sampleSubset(ds, o.examples, o.seed, { stratified: true }) : ds;
  const executor = env.executor ?? createExecutor('ort-node', { registry: env.registry });
  const oracle = await LossOracle.create(graph, batch, executor, env.registry);
  const theta = oracle.theta;

  // ε-sharpness by projected ascent.
  const base = await oracle.at(theta);
  let g = base.grad;
  const eps = new Float64Array(theta.length);
  const probe = new Float64Array(theta.length);
  let worst = 0;
  for (let t = 0; t < o.ascentSteps; t++) {
    const gn = norm(g) || 1;
    for (let i = 0; i < eps.length; i++) eps[i]! += (o.rho * g[i]!) / gn;
    const en = norm(eps);
    if (en > o.rho) for (let i = 0; i < eps.length; i++) eps[i]! *= o.rho / en;
    for (let i = 0; i < eps.length; i++) probe[i] = theta[i]! + eps[i]!;
    const r = await oracle.at(probe);
    worst = Math.max(worst, r.loss - base.loss);
    g = r.grad;
  }

  // λmax and Tr(H) from central-difference Hessian-vector products (core B2 tools).
  const gradient = async (th: Float64Array) => (await oracle.at(th)).grad;
  const hvp = (v: Float64Array) => hvpCentral(gradient, theta, v);
  const rng = new Rng(o.seed);
  const top = await topEigenvalue(hvp, theta.length, { iterations: o.powerIterations, rng: rng.fork(1) });
  const trace = o.traceProbes > 0 ? (await hutchinsonTrace(hvp, theta.length, { probes: o.traceProbes, rng: rng.fork(2) })).trace : null;
  return {
    split: o.split, dataset: ds.name, examples: batch.x.shape[0]!, loss: base.loss, epsSharpness: worst, lambdaMax: top.eigenvalue, traceH: trace,
    parameters: theta.length, gradientEvaluations: oracle.evaluations,
  };
}
