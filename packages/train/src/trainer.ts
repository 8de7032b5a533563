import { Rng, Tensor, hutchinsonTrace, hvpCentral, topEigenvalue, type Graph, type OpRegistry } from '@tessera/core';
import { createExecutor, type BackendName, type Executor, type Feeds, type Session } from '@tessera/runtime';
import { staticAccounting, type Accounting } from './accounting.js';
import { readCheckpoint, writeCheckpoint } from './checkpoint.js';
import { accuracy, ece, nll } from './metrics.js';
import { optimizerFromConfig, type Optimizer } from './optimizers.js';
import { Progress, type ProgressOptions } from './progress.js';
import { constant, type Schedule } from './schedules.js';
import { putAlong, takeAlong } from './tensor-util.js';
import { buildTrainingGraph, type FreezeSpec, type LossBuilder, type ParamGroup, type Slot, type TrainingGraph } from './training-graph.js';

/** In-memory examples: x [N, ...] (float32 or int64 tokens), y [N, ...] int64 labels. @tessera/data's Dataset fits. */
export interface Examples {
  x: Tensor;
  y: Tensor;
  /**
   * Values of further graph inputs (beyond the first forward input and the labels), by name. In
   * `fit`/`evaluate`/`batches` they are per-example (first dimension N, like x) and sliced with each
   * batch; in a `Batch` given to `step` they are the batch's values as fed.
   */
  feeds?: Record<string, Tensor>;
}

/** Feeds of further graph inputs per step: fixed values, or a function of the step about to run. */
export type StepFeeds = Record<string, Tensor> | ((step: number) => Record<string, Tensor>);

export interface Batch extends Examples {
  /** Indices of the batch's examples in their dataset. */
  ids: Int32Array;
}

export interface StepContext {
  step: number;
  epoch: number;
  /** Learning rate of each parameter group this step (last: the default group). */
  lr: number[];
  trainer: Trainer;
}

export interface StepResult {
  step: number;
  loss: number;
  ms: number;
  /** The values named in `TrainerOptions.fetch`, by name, from this step's run (present when `fetch` is set). */
  fetched?: Record<string, Tensor>;
}

/** What `afterForward` receives each step (values before the update; with SAM, from the run at p + ε). */
export interface ForwardOutputs {
  /** The first forward output (what the built-in loss and metrics use). */
  logits: Tensor;
  /** Every forward output by name (`trainingGraph.forwardOutputs`), the first included. */
  outputs: Record<string, Tensor>;
  /** The values named in `TrainerOptions.fetch`, by name (empty without it). */
  fetched: Record<string, Tensor>;
  exampleIds: Int32Array;
  loss: number;
}

export interface TrainHooks {
  /** Before a step's graph runs (e.g. apply a freeze schedule with trainer.setFreeze). */
  beforeStep?(ctx: StepContext): void | Promise<void>;
  /** The training forward's outputs (all of them, by name) and fetched values, with the example ids of the batch. */
  afterForward?(ctx: StepContext, out: ForwardOutputs): void;
  afterStep?(ctx: StepContext, result: StepResult): void | Promise<void>;
}

export interface TrainerOptions {
  forward: Graph;
  optimizer: Optimizer;
  batchSize: number;
  /** 'cross-entropy' (default) adds SoftmaxCrossEntropyLoss over the first output and an int64 'labels' input. */
  loss?: 'cross-entropy' | LossBuilder;
  schedule?: Schedule;
  groups?: readonly ParamGroup[];
  freeze?: readonly FreezeSpec[];
  /** Trainable candidates (default: trainableCandidates(forward)). */
  params?: readonly string[];
  /** Seed of the data order: epoch e visits examples in `new Rng(seed).fork(e).permutation(n)`. */
  seed?: number;
  backend?: BackendName;
  executor?: Executor;
  threads?: number;
  registry?: OpRegistry;
  hooks?: TrainHooks;
  /**
   * Further values of the training graph (forward intermediates, the loss, gradients `<slot>__grad`
   * under SAM...) fetched every step by name: they become outputs of the training graph, are returned
   * in `StepResult.fetched` and passed to `afterForward`.
   */
  fetch?: readonly string[];
  /** Sharpness-aware minimisation: two gradient evaluations per step (perturb by rho·g/‖g‖, re-grad, update). */
  sam?: { rho: number };
  /** Running-statistics momentum of batch-statistics BatchNorm layers (PyTorch's convention, default 0.1). */
  batchNormMomentum?: number;
}

export interface EngineAccounting extends Accounting {
  /** Wall time of each step so far (ms), including feeding and fetching. */
  msPerStep: number[];
  /** Time to build the training graph and create its session at the last (re)compile (ms). */
  compileMs: number;
  compiles: number;
}

interface Compiled {
  train: TrainingGraph;
  session: Session;
  evalGraph: TrainingGraph;
  evalSession?: Session;
  accounting: Accounting;
}

/**
 * Trains a Tessera graph on onnxruntime: the training graph (forward + loss + backward + optimizer
 * update) is compiled once into a cached session; trainable tensors and optimizer state live here
 * in JS and are fed and fetched each step. Freezing is a graph rewrite; changing it recompiles.
 */
export class Trainer {
  readonly executor: Executor;
  readonly optimizer: Optimizer;
  readonly batchSize: number;
  readonly seed: number;
  /** Steps taken so far. */
  stepCount = 0;
  /**
   * Forward + backward runs this trainer has made: one per step, two per SAM step, one per
   * `gradientAt` (Hessian tools included). Evaluation runs are not counted; checkpoints do not carry it.
   */
  gradientEvaluations = 0;
  private forward: Graph;
  private readonly opts: TrainerOptions;
  private freezeSpec: readonly FreezeSpec[];
  private compiled!: Compiled;
  private gradCompiled?: { tg: TrainingGraph; session: Session };
  /** Current value of every parameter (trainable parts are refreshed from `slotValues` on demand). */
  private readonly params = new Map<string, Tensor>();
  private slotValues = new Map<string, Tensor>();
  private slotStates = new Map<string, Tensor[]>();
  private readonly msPerStep: number[] = [];
  private compileMs = 0;
  private compiles = 0;
  private readonly scalarCache = new Map<number, Tensor>();

  private constructor(opts: TrainerOptions) {
    this.opts = opts;
    this.optimizer = opts.optimizer;
    this.batchSize = opts.batchSize;
    this.seed = opts.seed ?? 0;
    this.forward = opts.forward.clone();
    this.freezeSpec = opts.freeze ?? [];
    for (const v of this.forward.parameters()) this.params.set(v.name, v.initializer!);
    this.executor = opts.executor ?? createExecutor(opts.backend ?? 'ort-node', { threads: opts.threads, registry: opts.registry });
  }

  static async create(opts: TrainerOptions): Promise<Trainer> {
    const t = new Trainer(opts);
    await t.compile();
    return t;
  }

  get trainingGraph(): TrainingGraph {
    return this.compiled.train;
  }

  get frozen(): readonly FreezeSpec[] {
    return this.freezeSpec;
  }

  /** Engine accounting: trainable scalars, optimizer-state bytes, peak saved-activation bytes, step times. */
  get accounting(): EngineAccounting {
    return { ...this.compiled.accounting, msPerStep: [...this.msPerStep], compileMs: this.compileMs, compiles: this.compiles };
  }

  /**
   * Changes what is frozen: a new training graph and a new cached session. Optimizer state of
   * indices that stay trainable is kept; newly trainable indices start from zero state; state of
   * newly frozen ones is dropped.
   */
  async setFreeze(freeze: readonly FreezeSpec[]): Promise<void> {
    this.syncParams();
    this.freezeSpec = freeze;
    await this.compile();
  }

  /** Every parameter's current value (full tensors, frozen parts included). */
  parameters(): Map<string, Tensor> {
    this.syncParams();
    return new Map([...this.params].map(([k, v]) => [k, v.clone()]));
  }

  /** The forward graph with the current parameter values as initializers (for export or evaluation elsewhere). */
  currentGraph(): Graph {
    this.syncParams();
    const g = this.forward.clone();
    for (const [k, v] of this.params) g.setInitializer(k, v.clone());
    return g;
  }

  private syncParams(): void {
    if (!this.compiled) return;
    for (const s of this.compiled.train.slots) {
      const v = this.slotValues.get(s.input)!;
      if (s.axis === null) this.params.set(s.param, v);
      else {
        const full = this.params.get(s.param)!.clone();
        putAlong(full, v, s.index!, s.axis);
        this.params.set(s.param, full);
      }
    }
  }

  private async compile(): Promise<void> {
    const t0 = performance.now();
    for (const [k, v] of this.params) this.forward.setInitializer(k, v);
    const base = {
      forward: this.forward, optimizer: this.optimizer, registry: this.opts.registry, params: this.opts.params, groups: this.opts.groups,
      freeze: this.freezeSpec, batchSize: this.batchSize,
    };
    const train = buildTrainingGraph({ ...base, loss: this.opts.loss ?? 'cross-entropy', perturbInputs: !!this.opts.sam });
    const evalGraph = buildTrainingGraph({ ...base, loss: 'cross-entropy', forwardOnly: true });
    for (const name of this.opts.fetch ?? []) {
      const v = train.graph.hasValue(name) ? train.graph.value(name) : undefined;
      if (!v || v.isInitializer) {
        throw new Error(`trainer: option 'fetch' names '${name}', which is not a computed or fed value of training graph "${train.graph.name}" (forward outputs: ${train.forwardOutputs.join(', ')})`);
      }
      if (!v.isGraphInput && !train.graph.outputs.includes(v)) train.graph.addOutput(v);
    }
    const session = await this.executor.session(train.graph);
    const old = this.compiled?.train.slots ?? [];
    const oldStates = this.slotStates;
    const values = new Map<string, Tensor>();
    const states = new Map<string, Tensor[]>();
    for (const s of train.slots) {
      const full = this.params.get(s.param)!;
      values.set(s.input, s.axis === null ? full.clone() : takeAlong(full, s.index!, s.axis));
      states.set(s.input, train.optimizerStateSlots.map((_, k) => carryState(s, old, oldStates, k, full)));
    }
    this.slotValues = values;
    this.slotStates = states;
    this.compiled = { train, session, evalGraph, accounting: staticAccounting(train) };
    this.gradCompiled = undefined;
    this.compileMs = performance.now() - t0;
    this.compiles++;
  }

  private scalar(v: number): Tensor {
    let t = this.scalarCache.get(v);
    if (!t) {
      t = Tensor.scalar(v, 'float32');
      if (this.scalarCache.size < 4096) this.scalarCache.set(v, t);
    }
    return t;
  }

  /** Learning rate per group at step t: group lr (or the optimizer's) × schedule(t). */
  lrAt(step: number): number[] {
    const f = (this.opts.schedule ?? constant())(step);
    const groups = this.opts.groups ?? [];
    return [...groups.map((g) => (g.lr ?? this.optimizer.lr) * f), this.optimizer.lr * f];
  }

  /** x feeds the first forward input, y the labels (or a custom loss's single extra input), `feeds` the rest. */
  private dataFeeds(tg: TrainingGraph, batch: Examples): Feeds {
    const feeds: Feeds = { ...batch.feeds, [tg.dataInputs[0]!]: batch.x };
    const rest = tg.dataInputs.slice(1).filter((n) => !(n in feeds));
    if (rest.includes('labels')) feeds.labels = batch.y;
    else if (rest.length === 1) feeds[rest[0]!] = batch.y;
    const missing = tg.dataInputs.filter((n) => !(n in feeds));
    if (missing.length) throw new Error(`trainer: graph inputs ${missing.map((m) => `'${m}'`).join(', ')} are not fed: pass them in batch.feeds (fit: data.feeds per example or opts.feeds per step)`);
    return feeds;
  }

  /** One optimizer step on a batch of exactly batchSize examples. */
  async step(batch: Batch): Promise<StepResult> {
    const t0 = performance.now();
    const lr = this.lrAt(this.stepCount);
    const ctx: StepContext = { step: this.stepCount, epoch: Math.floor(this.stepCount / Math.max(1, this.stepsPerEpochHint)), lr, trainer: this };
    await this.opts.hooks?.beforeStep?.(ctx);
    const { train, session } = this.compiled;
    const feeds: Feeds = this.dataFeeds(train, batch);
    train.lrInputs.forEach((name, i) => (feeds[name] = this.scalar(lr[i]!)));
    const sv = this.optimizer.stepValues(this.stepCount + 1);
    for (const name of train.scalarInputs) feeds[name] = this.scalar(sv[name.slice(4)]!);
    for (const s of train.slots) {
      feeds[s.input] = this.slotValues.get(s.input)!;
      s.stateInputs.forEach((n, k) => (feeds[n] = this.slotStates.get(s.input)![k]!));
    }
    for (const d of train.dropoutMasks) feeds[d.input] = dropoutMask(this.seed, this.stepCount, d);
    if (this.opts.sam) {
      // First gradient at p (eps = 0), then the update with the gradient at p + rho·g/‖g‖.
      for (const s of train.slots) feeds[s.eps!] = Tensor.zeros('float32', s.shape);
      const first = await session.run(feeds, train.slots.map((s) => s.grad!));
      this.gradientEvaluations++;
      let sq = 0;
      for (const s of train.slots) for (const x of first[s.grad!]!.data as Float32Array) sq += x * x;
      const k = this.opts.sam.rho / (Math.sqrt(sq) + 1e-12);
      for (const s of train.slots) {
        const g = first[s.grad!]!.data as Float32Array;
        const e = new Float32Array(g.length);
        for (let i = 0; i < g.length; i++) e[i] = g[i]! * k;
        feeds[s.eps!] = new Tensor('float32', s.shape, e);
      }
    }
    const afterForward = this.opts.hooks?.afterForward;
    const fetchNames = (this.opts.fetch ?? []).filter((n) => !(n in feeds));
    const res = await session.run(feeds, [...new Set([
      train.lossOutput, ...(afterForward ? train.forwardOutputs : []), ...train.slots.flatMap((s) => [s.next, ...s.stateNext]),
      ...train.batchNormStats.flatMap((s) => [s.mean, s.variance]), ...fetchNames,
    ])]);
    this.gradientEvaluations++;
    this.updateRunningStats(res);
    for (const s of train.slots) {
      this.slotValues.set(s.input, res[s.next]!);
      this.slotStates.set(s.input, s.stateNext.map((n) => res[n]!));
    }
    const loss = res[train.lossOutput]!.getFlat(0);
    const fetched: Record<string, Tensor> = {};
    for (const n of this.opts.fetch ?? []) fetched[n] = res[n] ?? feeds[n]!;
    if (afterForward) {
      const outputs = Object.fromEntries(train.forwardOutputs.map((n) => [n, res[n]!]));
      afterForward(ctx, { logits: outputs[train.forwardOutputs[0]!]!, outputs, fetched, exampleIds: batch.ids, loss });
    }
    this.stepCount++;
    const ms = performance.now() - t0;
    this.msPerStep.push(ms);
    const result: StepResult = this.opts.fetch ? { step: this.stepCount, loss, ms, fetched } : { step: this.stepCount, loss, ms };
    await this.opts.hooks?.afterStep?.(ctx, result);
    return result;
  }

  private stepsPerEpochHint = 0;

  /** running = (1 − m)·running + m·batch, with the unbiased batch variance (torch.nn.BatchNorm's update). */
  private updateRunningStats(res: Record<string, Tensor>): void {
    const m = this.opts.batchNormMomentum ?? 0.1;
    for (const s of this.compiled.train.batchNormStats) {
      const upd = (name: string, batch: Tensor, factor: number) => {
        const old = this.params.get(name)!.data as Float32Array;
        const b = batch.data as Float32Array;
        const next = new Float32Array(old.length);
        for (let i = 0; i < old.length; i++) next[i] = (1 - m) * old[i]! + m * b[i]! * factor;
        this.params.set(name, new Tensor('float32', this.params.get(name)!.shape, next));
      };
      upd(s.runningMean, res[s.mean]!, 1);
      upd(s.runningVar, res[s.variance]!, s.count / Math.max(1, s.count - 1));
    }
  }

  /** Batches of one epoch, in the order fixed by (seed, epoch); the incomplete last batch is dropped. */
  *batches(data: Examples, epoch: number): Generator<Batch> {
    const n = data.x.shape[0]!;
    const order = new Rng(this.seed).fork(epoch).permutation(n);
    const per = Math.floor(n / this.batchSize);
    for (let i = 0; i < per; i++) {
      const ids = order.slice(i * this.batchSize, (i + 1) * this.batchSize);
      const rows = Array.from(ids);
      const feeds = exampleFeeds(data, rows, 'fit');
      yield { x: takeAlong(data.x, rows, 0), y: takeAlong(data.y, rows, 0), ids, ...(feeds ? { feeds } : {}) };
    }
  }

  /**
   * Trains until `epochs` epochs (counted from step 0) or `maxSteps` total steps. Resumes where
   * stepCount says: a run restored from a checkpoint continues with the same batches.
   */
  async fit(data: Examples, opts: {
    epochs: number; maxSteps?: number; progress?: ProgressOptions | false;
    /** Further graph inputs fed every step (beside `data.feeds`, which are per example). */
    feeds?: StepFeeds;
  }): Promise<StepResult[]> {
    const per = Math.floor(data.x.shape[0]! / this.batchSize);
    if (per === 0) throw new Error(`fit: ${data.x.shape[0]} examples are fewer than one batch of ${this.batchSize}`);
    this.stepsPerEpochHint = per;
    const total = Math.min(opts.epochs * per, opts.maxSteps ?? Infinity);
    const progress = opts.progress === false ? undefined : new Progress(total - this.stepCount, opts.progress);
    const results: StepResult[] = [];
    const start = this.stepCount;
    while (this.stepCount < total) {
      const epoch = Math.floor(this.stepCount / per);
      let skip = this.stepCount % per;
      for (const batch of this.batches(data, epoch)) {
        if (skip > 0) { skip--; continue; }
        if (this.stepCount >= total) break;
        const extra = typeof opts.feeds === 'function' ? opts.feeds(this.stepCount) : opts.feeds;
        const r = await this.step(extra ? { ...batch, feeds: { ...batch.feeds, ...extra } } : batch);
        results.push(r);
        progress?.update(this.stepCount - start, `loss ${r.loss.toFixed(4)}`);
      }
    }
    progress?.done();
    return results;
  }

  /**
   * Forward-only evaluation (its own cached session): accuracy, NLL and ECE over all examples, and
   * the scores. `output` names the forward output to score against `data.y` (default: the first).
   * Further forward inputs come from `data.feeds` (per example, padded like x) and `opts.feeds`
   * (the same values every batch).
   */
  async evaluate(data: Examples, opts: { output?: string; feeds?: Record<string, Tensor> } = {}): Promise<{ accuracy: number; nll: number; ece: number; logits: Tensor }> {
    const c = this.compiled;
    const outputs = c.evalGraph.forwardOutputs;
    const output = opts.output ?? outputs[0]!;
    if (!outputs.includes(output)) throw new Error(`evaluate: option 'output' is '${output}', not a forward output of graph "${c.evalGraph.graph.name}" (outputs: ${outputs.join(', ')})`);
    c.evalSession ??= await this.executor.session(c.evalGraph.graph);
    const n = data.x.shape[0]!;
    const chunks: Tensor[] = [];
    for (let start = 0; start < n; start += this.batchSize) {
      const ids = Array.from({ length: this.batchSize }, (_, i) => Math.min(start + i, n - 1)); // pad the last batch
      const feeds: Feeds = { ...opts.feeds, ...exampleFeeds(data, ids, 'evaluate'), [c.evalGraph.dataInputs[0]!]: takeAlong(data.x, ids, 0) };
      const missing = c.evalGraph.dataInputs.filter((name) => !(name in feeds));
      if (missing.length) throw new Error(`evaluate: graph inputs ${missing.map((m) => `'${m}'`).join(', ')} are not fed: pass them in data.feeds (per example) or opts.feeds (per batch)`);
      // Candidates the loss does not depend on are constants of the training graph: fed their value.
      for (const s of c.evalGraph.slots) feeds[s.input] = this.slotValues.get(s.input) ?? this.params.get(s.param)!;
      const out = (await c.evalSession.run(feeds, [output]))[output]!;
    const keep = Math.min(this.batchSize, n - start);
      chunks.push(keep === this.batchSize ? out : takeAlong(out, Array.from({ length: keep }, (_, i) => i), 0));
    }
    const row = chunks[0]!.size / chunks[0]!.shape[0]!;
    const all = new Float32Array(n * row);
    let off = 0;
    for (const ch of chunks) { all.set(ch.data as Float32Array, off); off += ch.size; }
    const logits = new Tensor('float32', [n, ...chunks[0]!.shape.slice(1)], all);
    // Same layouts as the built-in loss: [N, C], [N, T, V] (classes last), [N, C, d1, ...] (classes on axis 1).
    const flat = logits.rank === 2 ? logits : logits.rank === 3
      ? new Tensor('float32', [logits.size / logits.shape[2]!, logits.shape[2]!], all)
      : classesLast(logits);
    const labels = flat === logits ? data.y : new Tensor('int64', [flat.shape[0]!], data.y.data);
    return { accuracy: accuracy(flat, labels), nll: nll(flat, labels), ece: ece(flat, labels), logits };
  }

  /** Flat gradient of the loss on `batch` at flat trainable values θ (slots concatenated), for Hessian tools. */
  async gradientAt(batch: Examples, theta?: Float64Array): Promise<Float64Array> {
    if (!this.gradCompiled) {
      const tg = buildTrainingGraph({
        forward: this.forward, optimizer: this.optimizer, registry: this.opts.registry, params: this.opts.params, groups: this.opts.groups,
        freeze: this.freezeSpec, batchSize: this.batchSize, loss: this.opts.loss ?? 'cross-entropy', gradientsOnly: true,
      });
      this.gradCompiled = { tg, session: await this.executor.session(tg.graph) };
    }
    const { tg, session } = this.gradCompiled;
    const feeds = this.dataFeeds(tg, batch);
    for (const d of tg.dropoutMasks) feeds[d.input] = dropoutMask(this.seed, this.stepCount, d);
    let off = 0;
    for (const s of tg.slots) {
      const cur = this.slotValues.get(s.input)!;
      if (theta) feeds[s.input] = new Tensor('float32', s.shape, Float32Array.from(theta.subarray(off, off + cur.size)));
      else feeds[s.input] = cur;
      off += cur.size;
    }
    const res = await session.run(feeds, tg.slots.map((s) => s.grad!));
    this.gradientEvaluations++;
    const out = new Float64Array(off);
    off = 0;
    for (const s of tg.slots) { const d = res[s.grad!]!.data as Float32Array; out.set(d, off); off += d.length; }
    return out;
  }

  /** 1 at the flat positions (flatTrainable order) of the given parameters' trainable parts. */
  slotMask(params: readonly string[]): Uint8Array {
    const slots = this.compiled.train.slots;
    for (const p of params) if (!slots.some((s) => s.param === p)) throw new Error(`slotMask: '${p}' is not trainable here (trainable: ${slots.map((s) => s.param).join(', ')})`);
    const mask = new Uint8Array(slots.reduce((a, s) => a + s.shape.reduce((x, y) => x * y, 1), 0));
    let off = 0;
    for (const s of slots) {
      const n = s.shape.reduce((x, y) => x * y, 1);
      if (params.includes(s.param)) mask.fill(1, off, off + n);
      off += n;
    }
    return mask;
  }

  /** Flat trainable values (slots concatenated, in trainingGraph.slots order). */
  flatTrainable(): Float64Array {
    const parts = this.compiled.train.slots.map((s) => this.slotValues.get(s.input)!.data as Float32Array);
    const out = new Float64Array(parts.reduce((a, p) => a + p.length, 0));
    let off = 0;
    for (const p of parts) { out.set(p, off); off += p.length; }
    return out;
  }

  /** Hessian tools on one fixed batch (B2): HVP by central differences of gradients, Hutchinson trace, top eigenvalue. */
  hessian(batch: Examples): {
    hvp(v: Float64Array): Promise<Float64Array>;
    /** Hutchinson trace; `params` restricts the probes to those parameters (one layer's Tr(H_l)). */
    trace(opts: { probes?: number; seed: number; params?: readonly string[] }): Promise<{ trace: number; samples: number[] }>;
    topEigenvalue(opts: { iterations?: number; seed: number }): Promise<{ eigenvalue: number; vector: Float64Array }>;
  } {
    const theta = this.flatTrainable();
    const hvp = (v: Float64Array) => hvpCentral((th) => this.gradientAt(batch, th), theta, v);
    return {
      hvp,
      trace: (o) => hutchinsonTrace(hvp, theta.length, { probes: o.probes, rng: new Rng(o.seed), mask: o.params ? this.slotMask(o.params) : undefined }),
      topEigenvalue: (o) => topEigenvalue(hvp, theta.length, { iterations: o.iterations, rng: new Rng(o.seed) }),
    };
  }

  /** Writes params, optimizer state, step, seed and freeze spec atomically (temp file + rename). */
  async saveCheckpoint(path: string): Promise<void> {
    this.syncParams();
    const tensors: Record<string, Tensor> = {};
    for (const [k, v] of this.params) tensors[`param:${k}`] = v;
    for (const s of this.compiled.train.slots) this.slotStates.get(s.input)!.forEach((t, k) => (tensors[`state:${s.input}:${k}`] = t));
    await writeCheckpoint(path, {
      step: this.stepCount, seed: this.seed, batchSize: this.batchSize, optimizer: this.optimizer.config, freeze: this.freezeSpec,
      msPerStep: this.msPerStep,
    }, tensors);
  }

  /** Restores a checkpoint written by saveCheckpoint; training then continues bit-identically. */
  async loadCheckpoint(path: string): Promise<void> {
    const { header, tensors } = await readCheckpoint(path);
    const h = header as unknown as { step: number; seed: number; batchSize: number; optimizer: Record<string, unknown>; freeze: FreezeSpec[]; msPerStep: number[] };
    if (h.seed !== this.seed || h.batchSize !== this.batchSize) {
      throw new Error(`${path}: checkpoint has seed ${h.seed} and batchSize ${h.batchSize}, this trainer ${this.seed} and ${this.batchSize}`);
    }
    const kind = optimizerFromConfig(h.optimizer).name;
    if (kind !== this.optimizer.name) throw new Error(`${path}: checkpoint optimizer is ${kind}, this trainer uses ${this.optimizer.name}`);
    for (const [k, t] of tensors) if (k.startsWith('param:')) this.params.set(k.slice(6), t);
    this.freezeSpec = h.freeze;
    this.compiled = undefined as unknown as Compiled;
    await this.compile();
    for (const s of this.compiled.train.slots) {
      this.slotStates.set(s.input, s.stateInputs.map((_, k) => {
        const t = tensors.get(`state:${s.input}:${k}`);
        if (!t) throw new Error(`${path}: missing optimizer state ${k} of '${s.input}'`);
        return t;
      }));
    }
    this.stepCount = h.step;
    this.msPerStep.length = 0;
    this.msPerStep.push(...h.msPerStep);
  }
}

/** [N, C, d1, ...] -> [N·d1·..., C]: one row of class scores per position (dense maps). */
function classesLast(logits: Tensor): Tensor {
  const [n, c] = logits.shape as [number, number];
  const inner = logits.size / (n * c);
  const src = logits.data as Float32Array;
  const out = new Float32Array(logits.size);
  for (let i = 0; i < n; i++) for (let k = 0; k < c; k++) for (let j = 0; j < inner; j++) out[(i * inner + j) * c + k] = src[(i * c + k) * inner + j]!;
  return new Tensor('float32', [n * inner, c], out);
}

/** Rows `ids` of the per-example feeds of `data` (each must have one row per example of x). */
function exampleFeeds(data: Examples, ids: readonly number[], who: string): Record<string, Tensor> | undefined {
  if (!data.feeds) return undefined;
  const n = data.x.shape[0]!;
  const out: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(data.feeds)) {
    if (t.shape[0] !== n) throw new Error(`${who}: data.feeds '${name}' has shape [${t.shape.join(', ')}], not one row per example (${n}); pass values that are the same for every example in opts.feeds`);
    out[name] = takeAlong(t, ids, 0);
  }
  return out;
}

/** The bool keep-mask of one dropout layer at one step: a function of (seed, step, layer) only. */
function dropoutMask(seed: number, step: number, d: { input: string; shape: number[]; ratio: number }): Tensor {
  let h = 0;
  for (const ch of d.input) h = (Math.imul(h, 31) + ch.charCodeAt(0)) >>> 0;
  const rng = new Rng(seed).fork(step * 7919 + h);
  const n = d.shape.reduce((a, c) => a * c, 1);
  const m = new Uint8Array(n);
  for (let i = 0; i < n; i++) m[i] = rng.uniform() < d.ratio ? 0 : 1;
  return new Tensor('bool', d.shape, m);
}

/** Optimizer state k of a slot after a recompile: rows that were trainable before keep theirs. */
function carryState(s: Slot, old: Slot[], oldStates: Map<string, Tensor[]>, k: number, full: Tensor): Tensor {
  const prev = old.find((o) => o.param === s.param);
  const zeros = Tensor.zeros(full.dtype, s.shape);
  const st = prev ? oldStates.get(prev.input)?.[k] : undefined;
  if (!prev || !st) return zeros;
  if (prev.axis === null && s.axis === null) return st;
  // Expand the old state to the full shape (zeros where it was frozen), then take the new slot's part.
  const fullState = Tensor.zeros(full.dtype, full.shape);
  if (prev.axis === null) (fullState.data as Float32Array).set(st.data as Float32Array);
  else putAlong(fullState, st, prev.index!, prev.axis);
  return s.axis === null ? fullState : takeAlong(fullState, s.index!, s.axis);
}
