import { createHash } from 'node:crypto';
import { Tensor, type Graph, type OpRegistry } from '@tessera/core';
import { splitTrainSearchTest, type DataSplits, type Dataset } from '@tessera/data';
import { createExecutor, type Executor } from '@tessera/runtime';
import { accuracy, adam, cosine, takeAlong, Trainer, type Examples } from '@tessera/train';
import { recalibrateBatchNorm, trainingForm } from './batchnorm.js';
import { parseCtmqOptions, type CtmqOptions, type CtmqOptionsInput } from './options.js';
import { layerWeightBits, macLayers, quantizeGraph, type QuantizationPlan } from './quantize-pass.js';
import { quantizedWeightValues } from './quantizers.js';

export type PhaseKind = 'step' | 'accurate' | 'low-bit-in-cycle';

/** One training phase; the history of a run lists every phase in order. */
export interface PhaseRecord {
  index: number;
  kind: PhaseKind;
  /** Hidden-layer bits of the model trained in this phase; 'fp' for the accurate model. */
  bits: number | 'fp';
  /** Cycle number (1-based) for accurate / low-bit-in-cycle phases, at the step's bit width. */
  cycle: number | null;
  /** The bit step this phase belongs to. */
  stepBits: number;
  epochs: number;
  /** Validation accuracy after each epoch (its model evaluated with re-estimated BN statistics). */
  valAccuracy: number[];
  /** Index of the phase whose final weights initialised this one (-1: the pretrained FP model). */
  initFrom: number;
  /** Digest of the weights this phase started from / ended with: initDigest equals the initFrom phase's finalDigest. */
  initDigest: string;
  finalDigest: string;
  /** How far training moved the weights: ‖θ_end − θ_start‖ / ‖θ_start‖ over all MAC weights. */
  relativeWeightChange: number;
  /** Optimizer steps taken. */
  steps: number;
  wallMs: number;
}

/** A model state: every parameter (latent float weights, BN affine) plus BN running statistics. */
export type Checkpoint = Map<string, Tensor>;

export interface CtmqResult {
  /** The selected b_target model, weights folded to integer codes (±1 for binary), inference BatchNorm. */
  model: Graph;
  /** The same model with fake-quant weights over latent floats (what training saw). */
  fakeQuantModel: Graph;
  history: PhaseRecord[];
  /** Training epochs after pretraining, summed over phases (for compute-matched baselines). */
  totalEpochs: number;
  /** The selected checkpoint: phase index and epoch (1-based) with the best validation accuracy at b_target. */
  selected: { phase: number; epoch: number; valAccuracy: number };
  /** Test accuracy of the selected model (test is used for this report only). */
  testAccuracy: number;
  options: CtmqOptions;
  wallMs: number;
}

/** The data's search split is the validation split; without one, `validation` examples are held out of train (seeded, stratified). */
export function withValidation(splits: DataSplits | { train: Dataset; test: Dataset }, o: Pick<CtmqOptions, 'validation' | 'seed'>): DataSplits {
  if ('search' in splits && splits.search) return splits;
  return splitTrainSearchTest(splits, { search: o.validation, seed: o.seed });
}

export interface CtmqRunOptions {
  registry?: OpRegistry;
  executor?: Executor;
  /** Called after each epoch (progress bars). */
  onEpoch?(info: { phase: PhaseRecord; epoch: number; valAccuracy: number; epochsDone: number; totalEpochs: number }): void;
}

/** The schedule of phases as (kind, bits, epochs, stepBits, cycle) before anything runs. */
export function planPhases(o: CtmqOptions): { kind: PhaseKind; bits: number | 'fp'; epochs: number; stepBits: number; cycle: number | null }[] {
  const out: ReturnType<typeof planPhases> = [];
  for (let b = o.bStart; b >= o.bTarget; b--) {
    out.push({ kind: 'step', bits: b, epochs: o.epochsPerStep, stepBits: b, cycle: null });
    if (o.cycleScope === 'perStep' || b === o.bTarget) {
      for (let c = 1; c <= o.cycles; c++) {
        out.push({ kind: 'accurate', bits: 'fp', epochs: o.epochsAccurate, stepBits: b, cycle: c });
        out.push({ kind: 'low-bit-in-cycle', bits: b, epochs: o.epochsLowInCycle, stepBits: b, cycle: c });
      }
    }
  }
  return out;
}

/** Total training epochs of a configuration (what compute-matched arms must share). */
export function totalEpochsOf(opts: CtmqOptionsInput): number {
  return planPhases(parseCtmqOptions(opts)).reduce((a, p) => a + p.epochs, 0);
}

function digest(params: Map<string, Tensor>, names: string[]): string {
  const h = createHash('sha256');
  for (const n of names) {
    const t = params.get(n)!;
    const d = t.data as Float32Array;
    h.update(n);
    h.update(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
  }
  return h.digest('hex').slice(0, 16);
}

function relativeChange(a: Map<string, Tensor>, b: Map<string, Tensor>, names: string[]): number {
  let num = 0;
  let den = 0;
  for (const n of names) {
    const x = a.get(n)!.data as Float32Array;
    const y = b.get(n)!.data as Float32Array;
    for (let i = 0; i < x.length; i++) {
      num += (y[i]! - x[i]!) ** 2;
      den += x[i]! ** 2;
    }
  }
  return Math.sqrt(num / Math.max(den, 1e-30));
}

export function planFor(o: CtmqOptions, bits: number, weights: QuantizationPlan['weights']): QuantizationPlan {
  return { bits, keepFirstLast: o.keepFirstLast, quantizeActivations: o.quantizeActivations, weightClipStd: o.weightClipStd, weights };
}

/** A graph with the checkpoint's tensors as initializers (those it has). */
export function withParams(g: Graph, params: Map<string, Tensor>): Graph {
  const out = g.clone();
  for (const [k, v] of params) if (out.initializers.has(k)) out.setInitializer(k, v);
  return out;
}

/** Accuracy of a graph over a dataset, in chunks, on an executor. */
export async function evaluateAccuracy(graph: Graph, data: Examples, executor: Executor, chunk = 1000): Promise<{ accuracy: number; logits: Tensor }> {
  const session = await executor.session(graph);
  const n = data.x.shape[0]!;
  const parts: Float32Array[] = [];
  let classes = 0;
  for (let s = 0; s < n; s += chunk) {
    const ids = Array.from({ length: Math.min(chunk, n - s) }, (_, i) => s + i);
    const out = (await session.run({ [graph.inputs[0]!.name]: takeAlong(data.x, ids, 0) }, [graph.outputs[0]!.name]))[graph.outputs[0]!.name]!;
    classes = out.shape[1]!;
    parts.push(out.data as Float32Array);
  }
  const all = new Float32Array(n * classes);
  let off = 0;
  for (const p of parts) { all.set(p, off); off += p.length; }
  const logits = new Tensor('float32', [n, classes], all);
  return { accuracy: accuracy(logits, data.y), logits };
}

/**
 * CTMQ (Kim, Shin, Del Barrio 2022): quantization steps from bStart down to bTarget bits, one bit
 * at a time, each step initialised from the previous one; and cycles in which the accurate (float)
 * model is trained from the low-bit model's weights and the low-bit model is trained again from
 * the accurate model's. Quantization-aware training runs through @tessera/train on onnxruntime with
 * fake-quant weight and activation quantizers inserted by `quantizeGraph`. The b_target checkpoint
 * with the best validation accuracy is returned; the test split is only used for the final number.
 *
 * `model` is the pretrained float model in inference form (BatchNormalization nodes with running
 * statistics), e.g. an @tessera/models MLP with activation 'tanh' and batchNorm.
 */
export async function ctmq(model: Graph, splits: DataSplits | { train: Dataset; test: Dataset }, options: CtmqOptionsInput = {}, run: CtmqRunOptions = {}): Promise<CtmqResult> {
  const o = parseCtmqOptions(options);
  const data = withValidation(splits, o);
  const t0 = performance.now();
  const executor = run.executor ?? createExecutor(o.backend, { registry: run.registry });
  const fpInference = model.clone();
  const fpTrain = trainingForm(model);
  const weights = macLayers(fpInference).map((l) => l.weight);
  // Validate the graph against the plan once, before any training.
  quantizeGraph(fpInference, planFor(o, o.bTarget, 'folded'), run.registry);

  let state: Checkpoint = new Map(fpInference.parameters().map((v) => [v.name, v.initializer!]));
  const phases = planPhases(o);
  const totalEpochs = phases.reduce((a, p) => a + p.epochs, 0);
  const history: PhaseRecord[] = [];
  let best: { phase: number; epoch: number; valAccuracy: number; state: Checkpoint } | null = null;
  let epochsDone = 0;
  const trainEx: Examples = data.train;

  const evaluate = async (bits: number | 'fp', trainForward: Graph, params: Checkpoint, split: Examples, seed: number) => {
    const stats = await recalibrateBatchNorm(trainForward, params, trainEx, { batches: o.bnRecalibBatches, batchSize: o.batchSize, seed, executor });
    const full = new Map([...params, ...stats]);
    const g = bits === 'fp' ? withParams(fpInference, full) : quantizeGraph(withParams(fpInference, full), planFor(o, bits, 'folded'), run.registry);
    return { ...(await evaluateAccuracy(g, split, executor)), state: full };
  };

  for (const [index, p] of phases.entries()) {
    const start = performance.now();
    let init = state;
    if (p.kind === 'accurate' && o.transfer === 'quantized') {
      // The accurate model starts from the low-bit model's quantized weights instead of its latent ones.
      init = new Map(state);
      const layers = macLayers(fpInference);
      layers.forEach((l, i) => {
        const wb = layerWeightBits(i, layers.length, planFor(o, p.stepBits, 'fake-quant'));
        if (wb !== null) init.set(l.weight, quantizedWeightValues(state.get(l.weight)!, { bits: wb, outAxis: l.outAxis, clipStd: o.weightClipStd }));
      });
    }
    const forward = withParams(p.bits === 'fp' ? fpTrain : quantizeGraph(fpTrain, planFor(o, p.bits, 'fake-quant'), run.registry), init);
    const per = Math.floor(trainEx.x.shape[0]! / o.batchSize);
    const trainer = await Trainer.create({
      forward, optimizer: adam({ lr: o.lr }), batchSize: o.batchSize, schedule: cosine({ total: p.epochs * per }),
      seed: o.seed * 1000 + index, executor, registry: run.registry,
    });
    const record: PhaseRecord = {
      index, kind: p.kind, bits: p.bits, cycle: p.cycle, stepBits: p.stepBits, epochs: p.epochs, valAccuracy: [],
      initFrom: index - 1, initDigest: digest(init, weights), finalDigest: '', relativeWeightChange: 0, steps: 0, wallMs: 0,
    };
    let current: Checkpoint = init;
    for (let e = 1; e <= p.epochs; e++) {
      await trainer.fit(trainEx, { epochs: e, progress: false });
      current = new Map([...init, ...trainer.parameters()]);
      const ev = await evaluate(p.bits, forward, current, data.search, o.seed * 1000 + index);
      record.valAccuracy.push(ev.accuracy);
      epochsDone++;
      if (p.bits === o.bTarget && p.stepBits === o.bTarget && (!best || ev.accuracy > best.valAccuracy)) {
        best = { phase: index, epoch: e, valAccuracy: ev.accuracy, state: ev.state };
      }
      run.onEpoch?.({ phase: record, epoch: e, valAccuracy: ev.accuracy, epochsDone, totalEpochs });
    }
    record.steps = trainer.stepCount;
    record.finalDigest = digest(current, weights);
    record.relativeWeightChange = relativeChange(init, current, weights);
    record.wallMs = performance.now() - start;
    history.push(record);
    state = current;
  }

  const sel = best!;
  const fakeQuantModel = quantizeGraph(withParams(fpInference, sel.state), planFor(o, o.bTarget, 'fake-quant'), run.registry);
  const deployed = quantizeGraph(withParams(fpInference, sel.state), planFor(o, o.bTarget, 'folded'), run.registry);
  deployed.name = `${model.name}-ctmq-w${o.bTarget}a${o.quantizeActivations ? o.bTarget : 32}`;
  const test = await evaluateAccuracy(deployed, data.test, executor);
  return {
    model: deployed, fakeQuantModel, history, totalEpochs,
    selected: { phase: sel.phase, epoch: sel.epoch, valAccuracy: sel.valAccuracy },
    testAccuracy: test.accuracy, options: o, wallMs: performance.now() - t0,
  };
}

/**
 * Trains the float model (the "pretrained FP model" CTMQ starts from) with the same trainer,
 * optimizer and BN re-estimation as the phases; returns the inference-form graph with the weights.
 */
export async function pretrainFloat(
  model: Graph, data: DataSplits,
  opts: { epochs: number; lr?: number; batchSize?: number; seed?: number; bnRecalibBatches?: number; executor?: Executor; registry?: OpRegistry },
): Promise<{ model: Graph; valAccuracy: number }> {
  const batchSize = opts.batchSize ?? 128;
  const executor = opts.executor ?? createExecutor('ort-node', { registry: opts.registry });
  const forward = trainingForm(model);
  const per = Math.floor(data.train.x.shape[0]! / batchSize);
  const trainer = await Trainer.create({
    forward, optimizer: adam({ lr: opts.lr ?? 1e-3 }), batchSize, schedule: cosine({ total: opts.epochs * per }),
    seed: (opts.seed ?? 0) * 1000 + 999, executor, registry: opts.registry,
  });
  await trainer.fit(data.train, { epochs: opts.epochs, progress: false });
  const params = trainer.parameters();
  const stats = await recalibrateBatchNorm(forward, params, data.train, { batches: opts.bnRecalibBatches ?? 100, batchSize, seed: opts.seed ?? 0, executor });
  const trained = withParams(model, new Map([...params, ...stats]));
  return { model: trained, valAccuracy: (await evaluateAccuracy(trained, data.search, executor)).accuracy };
}
