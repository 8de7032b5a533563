/**
 * Fine-tuning an adapted graph on @tessera/train's Trainer with LaMDA's freeze schedule, and the
 * engine-measured report: trainable scalars per step (so cumulative parameter updates), Adam
 * state bytes at every freeze event, peak saved-activation bytes, ms/step before and after the
 * freeze completes, and the drift of frozen rows of B.
 */
import { Tensor, type Graph, type OpRegistry } from '@tessera/core';
import { createExecutor, type Executor } from '@tessera/runtime';
import { Trainer, adamw, argmax, cosine, linearWarmup, matthews, type Batch, type Examples } from '@tessera/train';
import { adapterParams, type AdapterLayer } from './adapters.js';
import { frozenRowsAt, gradientMaskFeeds, insertGradientZeroing, lamdaFreezeHooks, rowFreezeStep, type FreezeOrder, type FreezeSchedule } from './freeze.js';

export type FreezeMode = 'rows' | 'none' | 'gradient-zeroing';

export interface FinetuneOptions {
  /** Optimizer steps T. */
  steps: number;
  batchSize: number;
  lr: number;
  weightDecay: number;
  /** Linear warmup as a fraction of T, then cosine decay (the released recipe: 3 %). */
  warmupFraction: number;
  /** η: B fully frozen at ⌈ηT⌉. */
  freezeEndFraction: number;
  freezeOrder: FreezeOrder;
  /** 'rows': the engine's real freezing; 'none': B trainable throughout; 'gradient-zeroing': the released code's mask (ablation). */
  freezeMode: FreezeMode;
  /** Further trainable parameters besides the adapters (regex source; '' for none), e.g. a new task head. */
  alsoTrain: string;
  seed: number;
}

export interface FinetuneEnv {
  executor?: Executor;
  registry?: OpRegistry;
  threads?: number;
  onStep?: (step: number, total: number, loss: number) => void;
}

export interface StepRecord {
  step: number;
  loss: number;
  ms: number;
  trainableScalars: number;
  adapterScalars: number;
  optimizerStateBytes: number;
  savedActivationBytes: number;
  /** Whether the step recompiled the training graph (a freeze event): its ms include the compile. */
  recompiled: boolean;
}

export interface FinetuneReport {
  steps: number;
  freezeMode: FreezeMode;
  /** Step from which B is completely frozen (⌈ηT⌉); null when nothing is frozen. */
  freezeEndStep: number | null;
  trainableScalars: { start: number; end: number };
  adapterScalars: { start: number; end: number };
  /** Σ_t trainable scalars fed to the optimizer at step t (engine's slot list), all and adapters only. */
  parameterUpdates: { total: number; adapters: number };
  optimizerStateBytes: { start: number; peak: number; end: number; events: { step: number; bytes: number }[] };
  savedActivationBytes: { start: number; peak: number; end: number };
  /** Median ms/step without recompiles, before ⌈ηT⌉ and from it on. */
  msPerStep: { beforeFreeze: number | null; afterFreeze: number | null };
  compiles: number;
  /** Largest |change| of any B row between its scheduled freeze step and the end (0 for real freezing). */
  frozenRowDrift: number | null;
  test: { accuracy: number; mcc: number };
  records: StepRecord[];
}

function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** Logits of a forward graph over x in batches (the last batch padded), on the executor. */
export async function predictLogits(graph: Graph, x: Tensor, executor: Executor, batchSize = 128): Promise<Tensor> {
  const session = await executor.session(graph);
  const n = x.shape[0]!;
  const row = x.size / n;
  const parts: Float32Array[] = [];
  let classes = 0;
  for (let start = 0; start < n; start += batchSize) {
    const k = Math.min(batchSize, n - start);
    const data = (x.data as BigInt64Array).slice(start * row, (start + k) * row);
    const xb = new Tensor(x.dtype, [k, ...x.shape.slice(1)], data);
    const out = (await session.run({ [graph.inputs[0]!.name]: xb }))[graph.outputs[0]!.name]!;
    classes = out.size / k;
    parts.push(out.data as Float32Array);
  }
  const all = new Float32Array(n * classes);
  let off = 0;
  for (const p of parts) { all.set(p, off); off += p.length; }
  return new Tensor('float32', [n, classes], all);
}

/** Accuracy and Matthews correlation of a classifier graph. */
export async function scoreClassifier(graph: Graph, data: Examples, executor: Executor): Promise<{ accuracy: number; mcc: number }> {
  const logits = await predictLogits(graph, data.x, executor);
  const pred = argmax(logits);
  const labels = Int32Array.from(data.y.data as BigInt64Array, Number);
  let hit = 0;
  for (let i = 0; i < pred.length; i++) if (pred[i] === labels[i]) hit++;
  return { accuracy: hit / pred.length, mcc: matthews(pred, labels, logits.shape[1]) };
}

function rowsOf(t: Tensor, rows: number[]): Float32Array[] {
  const cols = t.shape[1]!;
  const d = t.data as Float32Array;
  return rows.map((r) => d.slice(r * cols, (r + 1) * cols));
}

/**
 * Fine-tunes the adapted graph: trainable = the adapters' parameters (LaMDA: S, B; LoRA: A, B)
 * plus `alsoTrain`; everything else (pretrained weights, LaMDA's A) is a constant of the training
 * graph. Returns the trained forward graph and the report.
 */
export async function finetuneAdapters(graph: Graph, layers: readonly AdapterLayer[], data: { train: Examples; test: Examples }, o: FinetuneOptions, env: FinetuneEnv = {}): Promise<{ graph: Graph; report: FinetuneReport }> {
  const executor = env.executor ?? createExecutor('ort-node', { threads: env.threads ?? 1, registry: env.registry });
  const T = o.steps;
  const sched: FreezeSchedule = { totalSteps: T, eta: o.freezeEndFraction, order: o.freezeOrder };
  const lamda = layers.filter((l) => l.kind === 'lamda');
  const extra = o.alsoTrain ? graph.parameters().map((v) => v.name).filter((n) => new RegExp(o.alsoTrain).test(n)) : [];
  const params = [...adapterParams(layers), ...extra];
  const adapterSet = new Set(adapterParams(layers));
  const forward = graph.clone();
  const masks = o.freezeMode === 'gradient-zeroing' ? insertGradientZeroing(forward, lamda, env.registry) : new Map<string, string>();
  const snapshots = new Map<string, { step: number; rows: Map<number, Float32Array> }>();
  const snapshot = (trainer: Trainer, step: number) => {
    // Values of the rows scheduled to be frozen from this step on, read before the step runs.
    const cur = trainer.parameters();
    for (const l of lamda) {
      const s = snapshots.get(l.B) ?? { step, rows: new Map() };
      const rows = frozenRowsAt(l.rank, step, sched).filter((r) => !s.rows.has(r));
      rowsOf(cur.get(l.B)!, rows).forEach((v, i) => s.rows.set(rows[i]!, v));
      snapshots.set(l.B, s);
    }
  };
  const freezeSteps = new Set(lamda.flatMap((l) => Array.from({ length: l.rank }, (_, j) => rowFreezeStep(j, l.rank, sched))));
  const hooks = o.freezeMode === 'rows' && lamda.length ? lamdaFreezeHooks(lamda, sched) : undefined;
  const trainer = await Trainer.create({
    forward, params, executor, registry: env.registry, batchSize: o.batchSize, seed: o.seed,
    optimizer: adamw({ lr: o.lr, weightDecay: o.weightDecay }),
    schedule: linearWarmup(Math.max(1, Math.ceil(o.warmupFraction * T)), cosine({ total: Math.max(1, T - Math.ceil(o.warmupFraction * T)) })),
    hooks: {
      async beforeStep(ctx) {
        await hooks?.beforeStep?.(ctx);
        if (o.freezeMode !== 'none' && freezeSteps.has(ctx.step)) snapshot(ctx.trainer, ctx.step);
      },
    },
  });
  const records: StepRecord[] = [];
  const per = Math.floor(data.train.x.shape[0]! / o.batchSize);
  if (per === 0) throw new Error(`finetune: ${data.train.x.shape[0]} training examples are fewer than one batch of ${o.batchSize}`);
  let compiles = trainer.accounting.compiles;
  for (let epoch = 0; trainer.stepCount < T; epoch++) {
    for (const batch of trainer.batches(data.train, epoch)) {
      if (trainer.stepCount >= T) break;
      const t = trainer.stepCount;
      const b: Batch = masks.size ? { ...batch, feeds: gradientMaskFeeds(lamda, masks, t, sched) } : batch;
      const r = await trainer.step(b);
      const acc = trainer.accounting;
      const adapterScalars = trainer.trainingGraph.slots.filter((s) => adapterSet.has(s.param)).reduce((a, s) => a + s.shape.reduce((x, y) => x * y, 1), 0);
      records.push({
        step: t, loss: r.loss, ms: r.ms, trainableScalars: acc.trainableScalars, adapterScalars, optimizerStateBytes: acc.optimizerStateBytes,
        savedActivationBytes: acc.savedActivationBytes, recompiled: acc.compiles !== compiles,
      });
      compiles = acc.compiles;
      env.onStep?.(t + 1, T, r.loss);
    }
  }
  const trained = trainer.currentGraph();
  // Evaluate the adapted graph itself (the gradient-zeroing masks are training-only).
  const evalGraph = graph.clone();
  for (const [k, v] of trainer.parameters()) if (evalGraph.initializers.has(k)) evalGraph.setInitializer(k, v);
  const test = await scoreClassifier(evalGraph, data.test, executor);
  let drift: number | null = null;
  if (o.freezeMode !== 'none' && lamda.length) {
    drift = 0;
    const end = trainer.parameters();
    for (const l of lamda) {
      const s = snapshots.get(l.B);
      if (!s) continue;
      const cols = l.dOut;
      const cur = end.get(l.B)!.data as Float32Array;
      for (const [r, v] of s.rows) for (let j = 0; j < cols; j++) drift = Math.max(drift, Math.abs(cur[r * cols + j]! - v[j]!));
    }
  }
  const tEndAll = lamda.length && o.freezeMode !== 'none' ? Math.max(...lamda.map((l) => rowFreezeStep(l.rank - 1, l.rank, sched))) : null;
  const steady = records.filter((r) => !r.recompiled && r.step > 0);
  const cut = tEndAll ?? T;
  const events: { step: number; bytes: number }[] = [];
  records.forEach((r, i) => { if (i === 0 || r.optimizerStateBytes !== records[i - 1]!.optimizerStateBytes) events.push({ step: r.step, bytes: r.optimizerStateBytes }); });
  const first = records[0]!;
  const last = records[records.length - 1]!;
  return {
    graph: trained,
    report: {
      steps: T,
      freezeMode: o.freezeMode,
      freezeEndStep: tEndAll,
      trainableScalars: { start: first.trainableScalars, end: last.trainableScalars },
      adapterScalars: { start: first.adapterScalars, end: last.adapterScalars },
      parameterUpdates: { total: records.reduce((a, r) => a + r.trainableScalars, 0), adapters: records.reduce((a, r) => a + r.adapterScalars, 0) },
      optimizerStateBytes: { start: first.optimizerStateBytes, peak: Math.max(...records.map((r) => r.optimizerStateBytes)), end: last.optimizerStateBytes, events },
      savedActivationBytes: { start: first.savedActivationBytes, peak: Math.max(...records.map((r) => r.savedActivationBytes)), end: last.savedActivationBytes },
      msPerStep: { beforeFreeze: median(steady.filter((r) => r.step < cut).map((r) => r.ms)), afterFreeze: cut < T ? median(steady.filter((r) => r.step >= cut).map((r) => r.ms)) : null },
      compiles: trainer.accounting.compiles,
      frozenRowDrift: drift,
      test,
      records,
    },
  };
}
