/**
 * The PEMA adapter and its two training phases, on the data owner's side. Everything here takes
 * an `ExternalMemory` and an `OutputHead`; the training graphs hold the adapter's matrices, the
 * head's final norm and LM head, and nothing else.
 */
import { GraphBuilder, Rng, Tensor, type Graph } from '@tessera/core';
import { adam, Trainer, type LossBuilder } from '@tessera/train';
import { ExternalMemory, OutputHead } from './memory.js';

/** z = s·f·A, h_rct = z·B_rct, h_pd = z·B_pd (row-vector form of the official x Aᵀ Bᵀ · s). */
export interface PemaAdapter {
  d: number;
  rank: number;
  scale: number;
  /** [d, r] encoder (A' after phase 2). */
  A: Float32Array;
  /** [r, d] reconstruction decoder (phase 1; frozen in phase 2). */
  Brct: Float32Array;
  /** [r, d] token-prediction decoder (phase 2). */
  Bpd: Float32Array;
}

export interface PemaTrainConfig {
  rank: number;
  /** s = alpha / rank (official alpha 1). */
  alpha: number;
  inputDropout: number;
  /** Weight of the reconstruction MSE in phase 2 (official 0.2). */
  kappa: number;
  lr: number;
  batchRct: number;
  batchJoint: number;
  maxEpochs: number;
  /** Dev loss every this many steps; stop when it exceeds both previous dev losses; keep the best. */
  evalEvery: number;
  reuseEncoderFromPhase1: boolean;
  /** Skip phase 1 (ablation); phase 2 then has no reconstruction decoder and kappa must be 0. */
  skipPhase1: boolean;
  seed: number;
}

export interface PemaTrainLogEntry {
  phase: 1 | 2;
  step: number;
  train: number;
  dev?: number;
}

export interface PemaTrainResult {
  adapter: PemaAdapter;
  log: PemaTrainLogEntry[];
  /** Per phase: engine accounting of its training graph and wall time per epoch (ms). */
  phases: { phase: 1 | 2; epochs: number; steps: number; msPerEpoch: number[]; msPerStep: number; savedActivationBytes: number; optimizerStateBytes: number; trainableScalars: number; bestDev: number }[];
  /** Initializer names of the last training graph (what the data owner's training sees). */
  trainingInitializers: string[];
}

/** Kaiming-uniform with a = √5 (torch.nn.Linear's default): U(−1/√fanIn, 1/√fanIn). */
function kaimingUniform(rng: Rng, n: number, fanIn: number): Float32Array {
  const bound = 1 / Math.sqrt(fanIn);
  return Float32Array.from({ length: n }, () => (2 * rng.uniform() - 1) * bound);
}

function headInitializers(b: GraphBuilder, head: OutputHead): { w: ReturnType<GraphBuilder['param']>; bias: ReturnType<GraphBuilder['param']>; lm: ReturnType<GraphBuilder['param']> } {
  return {
    w: b.param('head.norm.weight', new Tensor('float32', [head.d], head.normWeight.slice())),
    bias: b.param('head.norm.bias', new Tensor('float32', [head.d], head.normBias.slice())),
    lm: b.param('head.lm_head.weight', new Tensor('float32', [head.d, head.vocab], head.lmHead.slice())),
  };
}

/**
 * The forward graph of one training phase over memory keys f [N, d]. Phase 1 outputs h_rct;
 * phase 2 outputs logits = N(h_pd)·W_hd and (when kappa > 0) h_rct from the frozen B_rct.
 */
export function adapterTrainingForward(head: OutputHead, a: PemaAdapter, phase: 1 | 2, opts: { inputDropout: number; withReconstruction: boolean }): Graph {
  const b = new GraphBuilder();
  b.graph.name = `pema-phase${phase}`;
  const f = b.input('f', 'float32', ['N', a.d]);
  const x = opts.inputDropout > 0 ? b.op('Dropout', [f, b.constant(opts.inputDropout, 'float32', 'dropout_ratio')], {}, { name: 'pema.dropout' }) : f;
  const A = b.param('pema.A', new Tensor('float32', [a.d, a.rank], a.A.slice()));
  const z = b.op('Mul', [b.op('MatMul', [x, A]), b.constant(a.scale, 'float32', 'pema.scale')], {}, { name: 'pema.z' });
  const rct = () => b.op('MatMul', [z, b.param('pema.B_rct', new Tensor('float32', [a.rank, a.d], a.Brct.slice()))], {}, { name: 'pema.h_rct' });
  if (phase === 1) {
    b.output(rct(), 'h_rct');
    return b.graph;
  }
  const hpd = b.op('MatMul', [z, b.param('pema.B_pd', new Tensor('float32', [a.rank, a.d], a.Bpd.slice()))], {}, { name: 'pema.h_pd' });
  const h = headInitializers(b, head);
  const normed = b.op('LayerNormalization', [hpd, h.w, h.bias], { axis: -1, epsilon: head.normEpsilon }, { name: 'head.norm' });
  b.output(b.op('MatMul', [normed, h.lm], {}, { name: 'head.lm_head' }), 'logits');
  if (opts.withReconstruction) b.output(rct(), 'h_rct');
  return b.graph;
}

function mse(b: GraphBuilder, h: ReturnType<GraphBuilder['param']>): ReturnType<GraphBuilder['param']> {
  const f = b.graph.inputs.find((v) => v.name === 'f')!;
  const diff = b.op('Sub', [h, f]);
  return b.op('ReduceMean', [b.op('Mul', [diff, diff])], { keepdims: 0 }, { name: 'loss.mse' });
}

/** Phase 1: plain MSE(h_rct, f). Phase 2: κ·MSE(h_rct, f) + (1 − κ)·CE(logits, y). */
export function pemaLoss(phase: 1 | 2, kappa: number): LossBuilder {
  return (b, outputs) => {
    if (phase === 1) return { loss: mse(b, outputs[0]!), inputs: [] };
    const labels = b.input('labels', 'int64', [outputs[0]!.shape![0]!]);
    const ce = b.op('SoftmaxCrossEntropyLoss', [outputs[0]!, labels], { reduction: 'mean' }, { name: 'loss.ce' });
    if (kappa === 0) return { loss: ce, inputs: [labels] };
    const loss = b.op('Add', [
      b.op('Mul', [mse(b, outputs[1]!), b.constant(kappa, 'float32', 'kappa')]),
      b.op('Mul', [ce, b.constant(1 - kappa, 'float32', 'one_minus_kappa')]),
    ], {}, { name: 'loss' });
    return { loss, inputs: [labels] };
  };
}

/** Fresh adapter: A Kaiming-uniform (a = √5), both decoders zero, s = alpha / rank. */
export function initAdapter(d: number, rank: number, alpha: number, rng: Rng): PemaAdapter {
  return { d, rank, scale: alpha / rank, A: kaimingUniform(rng, d * rank, d), Brct: new Float32Array(rank * d), Bpd: new Float32Array(rank * d) };
}

/** z = s·f·A for n rows of f. */
function encode(a: PemaAdapter, f: Float32Array, n: number): Float32Array {
  const { d, rank: r, scale } = a;
  const z = new Float32Array(n * r);
  for (let i = 0; i < n; i++) {
    const fi = i * d;
    for (let j = 0; j < d; j++) {
      const x = f[fi + j]! * scale;
      if (x === 0) continue;
      const aj = j * r;
      for (let k = 0; k < r; k++) z[i * r + k] += x * a.A[aj + k]!;
    }
  }
  return z;
}

function decode(z: Float32Array, B: Float32Array, n: number, r: number, d: number): Float32Array {
  const h = new Float32Array(n * d);
  for (let i = 0; i < n; i++) for (let k = 0; k < r; k++) {
    const zk = z[i * r + k]!;
    if (zk === 0) continue;
    const bk = k * d;
    for (let j = 0; j < d; j++) h[i * d + j] += zk * B[bk + j]!;
  }
  return h;
}

/** log softmax(N(h)·W_hd) for n rows of h [n, d]: the PLM's own distribution when h = f. */
export function headLogProbs(head: OutputHead, h: Float32Array, n: number): Float32Array {
  const { d, vocab: V } = head;
  const out = new Float32Array(n * V);
  const normed = new Float64Array(d);
  const logits = new Float64Array(V);
  for (let i = 0; i < n; i++) {
    let mean = 0;
    for (let j = 0; j < d; j++) mean += h[i * d + j]!;
    mean /= d;
    let varSum = 0;
    for (let j = 0; j < d; j++) varSum += (h[i * d + j]! - mean) ** 2;
    const inv = 1 / Math.sqrt(varSum / d + head.normEpsilon);
    for (let j = 0; j < d; j++) normed[j] = (h[i * d + j]! - mean) * inv * head.normWeight[j]! + head.normBias[j]!;
    logits.fill(0);
    for (let j = 0; j < d; j++) {
      const x = normed[j]!;
      const row = j * V;
      for (let v = 0; v < V; v++) logits[v] += x * head.lmHead[row + v]!;
    }
    let max = -Infinity;
    for (let v = 0; v < V; v++) if (logits[v]! > max) max = logits[v]!;
    let sum = 0;
    for (let v = 0; v < V; v++) sum += Math.exp(logits[v]! - max);
    const lse = max + Math.log(sum);
    for (let v = 0; v < V; v++) out[i * V + v] = logits[v]! - lse;
  }
  return out;
}

/** log P_PEMA(· | f) = log softmax(W_hd · N(B_pd · s·A'·f)) for n rows of f (no dropout). */
export function pemaLogProbs(a: PemaAdapter, head: OutputHead, f: Float32Array, n: number): Float32Array {
  return headLogProbs(head, decode(encode(a, f, n), a.Bpd, n, a.rank, a.d), n);
}

/** Reconstruction h_rct = B_rct · s·A·f for n rows of f. */
export function reconstruct(a: PemaAdapter, f: Float32Array, n: number): Float32Array {
  return decode(encode(a, f, n), a.Brct, n, a.rank, a.d);
}

function devLoss(a: PemaAdapter, head: OutputHead, dev: ExternalMemory, phase: 1 | 2, kappa: number, withRct: boolean): number {
  const n = dev.n;
  let m = 0;
  if (phase === 1 || (withRct && kappa > 0)) {
    const h = reconstruct(a, dev.keys, n);
    for (let i = 0; i < h.length; i++) m += (h[i]! - dev.keys[i]!) ** 2;
    m /= h.length;
    if (phase === 1) return m;
  }
  const lp = pemaLogProbs(a, head, dev.keys, n);
  let ce = 0;
  for (let i = 0; i < n; i++) ce -= lp[i * head.vocab + dev.values[i]!]!;
  ce /= n;
  return withRct && kappa > 0 ? kappa * m + (1 - kappa) * ce : ce;
}

function checkDataOwnerInputs(train: unknown, dev: unknown, head: unknown): void {
  if (!ExternalMemory.is(train)) throw new Error('trainPema: train must be an ExternalMemory (made by buildExternalMemory or ExternalMemory.fromArrays), not a model or raw arrays');
  if (!ExternalMemory.is(dev)) throw new Error('trainPema: dev must be an ExternalMemory (made by buildExternalMemory or ExternalMemory.fromArrays)');
  if (!OutputHead.is(head)) throw new Error("trainPema: head must be the OutputHead the PLM owner shares (ModelOwner.outputHead()), not the model's graph");
  if (train.d !== head.d || dev.d !== head.d) throw new Error(`trainPema: memory keys have d = ${train.d} (dev ${dev.d}) but the output head has d = ${head.d}`);
}

/**
 * Trains PEMA from the external memory only: phase 1 (A, B_rct on MSE reconstruction), then
 * phase 2 (fresh A' and B_pd on κ·MSE through the frozen B_rct + (1 − κ)·CE through the frozen
 * head). Adam; dev loss every `evalEvery` steps; early stop when it exceeds both previous two;
 * the best dev checkpoint of each phase is kept. Compiled once per phase on onnxruntime-node.
 */
export async function trainPema(train: ExternalMemory, dev: ExternalMemory, head: OutputHead, cfg: PemaTrainConfig,
  hooks: { onEpoch?: (phase: 1 | 2, epoch: number, ms: number) => void } = {}): Promise<PemaTrainResult> {
  checkDataOwnerInputs(train, dev, head);
  if (cfg.skipPhase1 && cfg.kappa > 0) throw new Error(`trainPema: kappa = ${cfg.kappa} needs phase 1's reconstruction decoder; set kappa to 0 or skipPhase1 to false`);
  const rng = new Rng(cfg.seed);
  let adapter = initAdapter(head.d, cfg.rank, cfg.alpha, rng.fork(1));
  const log: PemaTrainLogEntry[] = [];
  const phases: PemaTrainResult['phases'] = [];
  const data = { x: new Tensor('float32', [train.n, train.d], train.keys), y: new Tensor('int64', [train.n], BigInt64Array.from(train.values, (v) => BigInt(v))) };
  let initializers: string[] = [];

  const runPhase = async (phase: 1 | 2): Promise<void> => {
    const withRct = phase === 1 || cfg.kappa > 0;
    const batch = Math.min(phase === 1 ? cfg.batchRct : cfg.batchJoint, train.n);
    const trainer = await Trainer.create({
      forward: adapterTrainingForward(head, adapter, phase, { inputDropout: cfg.inputDropout, withReconstruction: withRct }),
      loss: pemaLoss(phase, cfg.kappa),
      optimizer: adam({ lr: cfg.lr }),
      params: phase === 1 ? ['pema.A', 'pema.B_rct'] : ['pema.A', 'pema.B_pd'],
      batchSize: batch,
      seed: cfg.seed * 7 + phase,
    });
    initializers = [...trainer.trainingGraph.graph.initializers.keys()];
    const current = (): PemaAdapter => {
      const p = trainer.parameters();
      const get = (k: string, fallback: Float32Array) => (p.get(k)?.data as Float32Array | undefined)?.slice() ?? fallback;
      return { ...adapter, A: get('pema.A', adapter.A), Brct: get('pema.B_rct', adapter.Brct), Bpd: get('pema.B_pd', adapter.Bpd) };
    };
    let best = { loss: devLoss(adapter, head, dev, phase, cfg.kappa, withRct), adapter };
    const history: number[] = [];
    const msPerEpoch: number[] = [];
    let stop = false;
    let epoch = 0;
    let lastLoss = NaN;
    for (; epoch < cfg.maxEpochs && !stop; epoch++) {
      const t0 = performance.now();
      let evalMs = 0;
      for (const b of trainer.batches(data, epoch)) {
        const r = await trainer.step(b);
        lastLoss = r.loss;
        if (trainer.stepCount % cfg.evalEvery === 0) {
          const e0 = performance.now();
          const snap = current();
          const loss = devLoss(snap, head, dev, phase, cfg.kappa, withRct);
          log.push({ phase, step: trainer.stepCount, train: r.loss, dev: loss });
          if (loss < best.loss) best = { loss, adapter: snap };
          if (history.length >= 2 && loss > history[history.length - 1]! && loss > history[history.length - 2]!) stop = true;
          history.push(loss);
          evalMs += performance.now() - e0;
          if (stop) break;
        }
      }
      // Training time per epoch excludes the dev evaluations (they are not part of a training step).
      const ms = performance.now() - t0 - evalMs;
      msPerEpoch.push(ms);
      hooks.onEpoch?.(phase, epoch, ms);
    }
    const final = current();
    const finalLoss = devLoss(final, head, dev, phase, cfg.kappa, withRct);
    log.push({ phase, step: trainer.stepCount, train: lastLoss, dev: finalLoss });
    if (finalLoss < best.loss) best = { loss: finalLoss, adapter: final };
    adapter = best.adapter;
    const acc = trainer.accounting;
    phases.push({
      phase, epochs: epoch, steps: trainer.stepCount, msPerEpoch, msPerStep: acc.msPerStep.reduce((s, x) => s + x, 0) / Math.max(1, acc.msPerStep.length),
      savedActivationBytes: acc.savedActivationBytes, optimizerStateBytes: acc.optimizerStateBytes, trainableScalars: acc.trainableScalars, bestDev: best.loss,
    });
    await trainer.executor.dispose();
  };

  if (!cfg.skipPhase1) await runPhase(1);
  // Phase 2 starts from a fresh encoder A' (official code) unless asked to reuse phase 1's.
  if (!cfg.reuseEncoderFromPhase1) adapter = { ...adapter, A: kaimingUniform(rng.fork(2), head.d * cfg.rank, head.d) };
  await runPhase(2);
  return { adapter, log, phases, trainingInitializers: initializers };
}
