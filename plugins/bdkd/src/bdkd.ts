/**
 * Online distillation: teacher and student trained together from scratch, both updated in the
 * same step. The two forward graphs are merged into one (jointGraph), the BD-KD losses are added
 * to it (bdkdLossBuilder), and @tessera/train compiles forward + both losses + one backward + the
 * update of both parameter sets into one training graph, run once per batch on onnxruntime.
 */
import { Tensor, type Graph, type OpRegistry } from '@tessera/core';
import { createExecutor, type Executor } from '@tessera/runtime';
import { optimizerFromConfig, takeAlong, Trainer, type Examples } from '@tessera/train';
import { classification, hostDivergenceWeights, sampleDivergences, type Classification } from './calibration.js';
import { jointGraph, STUDENT_PREFIX, TEACHER_PREFIX, type JointGraph } from './joint-graph.js';
import { bdkdLossBuilder } from './loss.js';
import { parseBdkdOptions, type BdkdOptions, type BdkdOptionsInput } from './options.js';

export interface BdkdData {
  train: Examples;
  /** Held-out examples scored after every epoch (accuracy, ECE, NLL of both networks). */
  val?: Examples;
}

export interface EpochLog {
  epoch: number;
  /** Joint steps taken so far. */
  steps: number;
  /** Mean of L_S + L_T (or the student's CE for 'none') over the epoch's steps. */
  loss: number;
  /**
   * Fraction of the epoch's training samples whose reverse-KL weight exceeded the forward-KL
   * weight in their step (from that step's own logits); null for 'none'.
   */
  fracRklDominant: number | null;
  /** Fraction of the epoch's samples with entropy gap H(p_S) − H(p_T) > 0 at τ; null for 'none'. */
  fracGapPositive: number | null;
  /** Mean entropy gap (nats) over the epoch's samples; null for 'none'. */
  meanGap: number | null;
  /** Metrics on data.val after the epoch (when given). */
  student?: Classification;
  teacher?: Classification | null;
}

export interface BdkdResult {
  /** The student graph with its trained weights (the deliverable). */
  student: Graph;
  /** The teacher with its trained weights; null for weighting 'none'. */
  teacher: Graph | null;
  log: EpochLog[];
  options: BdkdOptions;
  /** Engine accounting of the joint training graph. */
  accounting: { trainableScalars: number; optimizerStateBytes: number; msPerStep: number; compiles: number };
  seconds: number;
}

export interface BdkdRunOptions {
  /** Executor for the training graph (default: a new ort-node executor). */
  executor?: Executor;
  registry?: OpRegistry;
  onEpoch?(log: EpochLog): void | Promise<void>;
  /** Called after every joint step (progress bars); throw to stop (cancellation). */
  onStep?(step: number, total: number, loss: number): void;
  /**
   * Inference forms of the networks (same parameter names), used to score and return them: a
   * network trained in @tessera/models' 'batch-stats' BatchNorm form is scored in its 'inference'
   * form with the running statistics the trainer kept. Default: the training graphs themselves.
   */
  inference?: { teacher?: Graph; student?: Graph };
}

/** Runs `graph` over `x` in batches and returns the named outputs as [N, ...] tensors. */
export async function predictLogits(graph: Graph, x: Tensor, executor: Executor, outputs: string[] = [graph.outputs[0]!.name], batchSize = 500): Promise<Tensor[]> {
  const input = graph.inputs[0]!.name;
  const session = await executor.session(graph);
  const n = x.shape[0]!;
  const parts: Tensor[][] = outputs.map(() => []);
  for (let start = 0; start < n; start += batchSize) {
    const ids = Array.from({ length: Math.min(batchSize, n - start) }, (_, i) => start + i);
    const res = await session.run({ [input]: takeAlong(x, ids, 0) }, outputs);
    outputs.forEach((o, k) => parts[k]!.push(res[o]!));
  }
  return parts.map((ps) => {
    const row = ps[0]!.size / ps[0]!.shape[0]!;
    const all = new Float32Array(n * row);
    let off = 0;
    for (const p of ps) { all.set(p.data as Float32Array, off); off += p.size; }
    return new Tensor('float32', [n, ...ps[0]!.shape.slice(1)], all);
  });
}

function checkData(data: BdkdData): void {
  for (const [k, d] of Object.entries(data) as [string, Examples | undefined][]) {
    if (!d) continue;
    if (d.y.dtype !== 'int64' || d.y.rank !== 1) throw new Error(`bdkd: data.${k}.y must be int64 labels [N], got ${d.y.dtype}[${d.y.shape.join(', ')}]`);
    if (d.x.shape[0] !== d.y.shape[0]) throw new Error(`bdkd: data.${k} has ${d.x.shape[0]} inputs but ${d.y.shape[0]} labels`);
  }
}

/** Copies the trained parameters named `prefix + name` into a clone of `g`. */
function withParams(g: Graph, params: Map<string, Tensor>, prefix: string): Graph {
  const out = g.clone();
  for (const v of out.parameters()) {
    const t = params.get(prefix + v.name);
    if (t) out.setInitializer(v.name, t);
  }
  return out;
}

/** The joint Trainer of online KD (exposed for tests and for callers that drive steps themselves). */
export async function createJointTrainer(teacher: Graph, student: Graph, options: BdkdOptionsInput | BdkdOptions, run: BdkdRunOptions & { afterForward?: (pair: Tensor, ids: Int32Array) => void; onStepLoss?: (loss: number) => void } = {}): Promise<{ trainer: Trainer; joint: JointGraph | null; options: BdkdOptions }> {
  const o = parseBdkdOptions(options);
  const optimizer = optimizerFromConfig(o.optimizer === 'sgd'
    ? { kind: 'sgd', lr: o.lr, momentum: o.momentum, weightDecay: o.weightDecay }
    : { kind: o.optimizer, lr: o.lr, weightDecay: o.weightDecay });
  const executor = run.executor ?? createExecutor('ort-node', { threads: o.threads, registry: run.registry });
  const base = { optimizer, batchSize: o.batchSize, seed: o.seed, executor, registry: run.registry };
  if (o.weighting === 'none') {
    const trainer = await Trainer.create({ ...base, forward: student, hooks: { afterForward: (_c, out) => run.onStepLoss?.(out.loss) } });
    return { trainer, joint: null, options: o };
  }
  const joint = jointGraph(teacher, student, run.registry);
  const trainer = await Trainer.create({
    ...base,
    forward: joint.graph,
    loss: bdkdLossBuilder(joint, o),
    // Two parameter groups of one per-tensor optimizer = two separate optimizers, each with its own lr.
    groups: [{ params: (name: string) => name.startsWith(TEACHER_PREFIX), lr: o.teacherLr ?? o.lr }],
    hooks: {
      afterForward: (_c, out) => {
        run.afterForward?.(out.logits, out.exampleIds);
        run.onStepLoss?.(out.loss);
      },
    },
  });
  return { trainer, joint, options: o };
}

/**
 * BD-KD online distillation of `student` with `teacher` (both trained from their initial weights).
 * `options` are validated first; a bad option throws one line naming the field. Baselines run by
 * config: weighting 'none' (student alone), 'fkl-only' + teacherReg 'forward-kl' (DML), 'rkl-only',
 * 'fixed-mix'. Returns both trained graphs and a per-epoch log with the divergence balance.
 */
export async function bdkd(teacher: Graph, student: Graph, data: BdkdData, options: BdkdOptionsInput = {}, run: BdkdRunOptions = {}): Promise<BdkdResult> {
  const o = parseBdkdOptions(options);
  checkData(data);
  const n = data.train.x.shape[0]!;
  const perEpoch = Math.floor(n / o.batchSize);
  if (perEpoch === 0) throw new Error(`bdkd: data.train has ${n} examples, fewer than one batch of ${o.batchSize} (option batchSize)`);
  const total = Math.min(o.epochs * perEpoch, o.maxSteps ?? Infinity);

  // Per-epoch accumulators of the step diagnostics.
  let lossSum = 0, steps = 0, samples = 0, rklDominant = 0, gapPositive = 0, gapSum = 0;
  const classes = student.outputs[0]!.shape![1] as number;
  // An executor made here is disposed here; a caller's executor is left to its owner.
  const executor = run.executor ?? createExecutor('ort-node', { threads: o.threads, registry: run.registry });
  const { trainer, joint } = await createJointTrainer(teacher, student, o, {
    ...run,
    executor,
    onStepLoss: (loss) => {
      lossSum += loss;
      steps++;
      run.onStep?.(trainer.stepCount + 1, total, loss);
    },
    afterForward: (pair) => {
      // pair: [B, 2, C] = this step's student and teacher logits, before the update.
      const b = pair.shape[0]!;
      const d = pair.data as Float32Array;
      const zs = new Float32Array(b * classes);
      const zt = new Float32Array(b * classes);
      for (let i = 0; i < b; i++) {
        zs.set(d.subarray(i * 2 * classes, i * 2 * classes + classes), i * classes);
        zt.set(d.subarray(i * 2 * classes + classes, (i + 1) * 2 * classes), i * classes);
      }
      const { gap } = sampleDivergences(zs, zt, classes, o.tau);
      const w = hostDivergenceWeights(gap, o);
      for (let i = 0; i < b; i++) {
        if (w.rkl[i]! > w.fkl[i]!) rklDominant++;
        if (gap[i]! > 0) gapPositive++;
        gapSum += gap[i]!;
      }
      samples += b;
    },
  });

  // The trained networks as separate graphs (inference forms when given), from the joint parameters.
  const trained = (params: Map<string, Tensor>) => ({
    student: withParams(run.inference?.student ?? student, params, joint ? STUDENT_PREFIX : ''),
    teacher: joint ? withParams(run.inference?.teacher ?? teacher, params, TEACHER_PREFIX) : null,
  });
  const evalExec = createExecutor('ort-node', { threads: o.threads, registry: run.registry, maxSessions: 2 });
  const log: EpochLog[] = [];
  const t0 = performance.now();
  try {
    for (let epoch = 1; trainer.stepCount < total; epoch++) {
      lossSum = 0; steps = 0; samples = 0; rklDominant = 0; gapPositive = 0; gapSum = 0;
      await trainer.fit(data.train, { epochs: epoch, maxSteps: total, progress: false });
      const entry: EpochLog = {
        epoch, steps: trainer.stepCount, loss: lossSum / Math.max(1, steps),
        fracRklDominant: joint ? rklDominant / Math.max(1, samples) : null,
        fracGapPositive: joint ? gapPositive / Math.max(1, samples) : null,
        meanGap: joint ? gapSum / Math.max(1, samples) : null,
      };
      if (data.val) {
        const params = trainer.parameters();
        const scored = trained(params);
        entry.student = classification((await predictLogits(scored.student, data.val.x, evalExec))[0]!, data.val.y);
        entry.teacher = scored.teacher ? classification((await predictLogits(scored.teacher, data.val.x, evalExec))[0]!, data.val.y) : null;
      }
      log.push(entry);
      await run.onEpoch?.(entry);
    }
  } finally {
    await evalExec.dispose();
    if (!run.executor) await executor.dispose();
  }
  const seconds = (performance.now() - t0) / 1000;
  const final = trained(trainer.parameters());
  const acc = trainer.accounting;
  return {
    student: final.student,
    teacher: final.teacher,
    log,
    options: o,
    accounting: {
      trainableScalars: acc.trainableScalars,
      optimizerStateBytes: acc.optimizerStateBytes,
      msPerStep: acc.msPerStep.reduce((a, b) => a + b, 0) / Math.max(1, acc.msPerStep.length),
      compiles: acc.compiles,
    },
    seconds,
  };
}
