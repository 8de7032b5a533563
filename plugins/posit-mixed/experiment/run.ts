/**
 * Experiment: mixed Posit4/FixP4 weights vs all-FixP4, all-Posit4 and random assignment at equal
 * Posit4 fractions, on a vision model (LeNet-5, Fashion-MNIST subset) and a language model (tiny
 * GPT, the data package's grammar corpus, perplexity). Every arm gets the same short
 * quantization-aware fine-tuning from the same float model; 3 seeds. Writes
 * results/experiment.json and SVG plots.
 *
 * Run: pnpm --filter @tessera/plugin-posit-mixed experiment   (QUICK=1 for a 1-seed smoke run)
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { Tensor, type Graph } from '@tessera/core';
import { grammarCorpus, languageModelDataset, loadFashionMnist, sampleSubset, Tokenizer } from '@tessera/data';
import { buildGpt, buildLeNet5 } from '@tessera/models';
import { lineChart } from '@tessera/pipeline';
import { createExecutor } from '@tessera/runtime';
import { adam, Trainer, type Examples } from '@tessera/train';
import {
  assignFormats, calibrateActivations, evaluateGraph, finetuneMixed, inferenceEnergy, positFractionReport, quantizedGraph, referenceAgreement,
  sliceRows, verifyMixed, weightImportance,
} from '../src/index.js';

const QUICK = process.env.QUICK === '1';
const SEEDS = QUICK ? [0] : [0, 1, 2];
const FRACTIONS = [0.05, 0.1, 0.2, 0.5];
const executor = createExecutor('ort-node');
const t0 = performance.now();
const log = (s: string) => console.log(`[${((performance.now() - t0) / 1000).toFixed(0)}s] ${s}`);

interface Task {
  name: 'vision' | 'language';
  metric: 'accuracy' | 'perplexity';
  build(seed: number): Graph;
  train: Examples;
  test: Examples;
  pretrainEpochs: number;
  lr: number;
  batchSize: number;
}

function visionTask(): Task {
  const train = sampleSubset(loadFashionMnist('train'), QUICK ? 2000 : 4000, 0);
  const test = sampleSubset(loadFashionMnist('test'), 1000, 0);
  return { name: 'vision', metric: 'accuracy', build: (seed) => buildLeNet5({}, { seed }), train, test, pretrainEpochs: 3, lr: 2e-3, batchSize: 64 };
}

function languageTask(): Task {
  const corpus = grammarCorpus({ seed: 0, trainChars: 60_000, testChars: 8_000 });
  const tok = Tokenizer.chars(corpus.train);
  const context = 32;
  const mk = (text: string) => languageModelDataset(tok.encode(text), { context, vocab: tok.vocab, source: corpus.source });
  const train = mk(corpus.train);
  const test = mk(corpus.test);
  return {
    name: 'language', metric: 'perplexity', train, test, pretrainEpochs: 8, lr: 3e-3, batchSize: 32,
    build: (seed) => buildGpt({ vocab: tok.size, context, dim: 48, depth: 2, heads: 2, mlpDim: 96 }, { seed }),
  };
}

interface ArmResult {
  task: string;
  seed: number;
  arm: string;
  method: 'fixed' | 'posit' | 'score' | 'random';
  gradient: 'ste' | 'posit';
  positFraction: number;
  /** Before fine-tuning (post-training quantization) and after. */
  ptq: number;
  value: number;
  /** MAC energy per inference, pJ: Posit4 x FixP on targets' generic unit, and on the shift-add unit [R]. */
  energyPj: number;
  energyShiftAddPj: number;
}

async function runTask(task: Task): Promise<{ rows: ArmResult[]; float: Record<number, number>; notes: Record<string, unknown> }> {
  const rows: ArmResult[] = [];
  const float: Record<number, number> = {};
  const notes: Record<string, unknown> = {};
  const score = (e: { accuracy: number; perplexity: number }) => (task.metric === 'accuracy' ? e.accuracy : e.perplexity);
  for (const seed of SEEDS) {
    const trainer = await Trainer.create({ forward: task.build(seed), optimizer: adam({ lr: task.lr }), batchSize: task.batchSize, seed, executor });
    await trainer.fit(task.train, { epochs: task.pretrainEpochs, progress: false });
    const model = trainer.currentGraph();
    // The float reference gets the same extra epoch as the quantized arms' fine-tuning.
    const floatPtq = score(await evaluateGraph(model, task.test, { executor }));
    const cont = await Trainer.create({ forward: model, optimizer: adam({ lr: task.lr / 4 }), batchSize: task.batchSize, seed, executor });
    await cont.fit(task.train, { epochs: 1, progress: false });
    float[seed] = score(await evaluateGraph(cont.currentGraph(), task.test, { executor }));
    log(`${task.name} seed ${seed}: float ${task.metric} ${floatPtq.toFixed(4)}, after the same fine-tuning ${float[seed]!.toFixed(4)}`);
    const { importance } = await weightImportance(model, task.train, { kind: 'weight-gradient', batches: 8, batchSize: task.batchSize, hessianProbes: 1, seed, executor });
    const acts = await calibrateActivations(model, sliceRows(task.train.x, 0, 256), 8, executor);
    const arms: { arm: string; method: ArmResult['method']; fraction: number; gradient: 'ste' | 'posit' }[] = [
      { arm: 'all-FixP4', method: 'fixed', fraction: 0, gradient: 'posit' },
      { arm: 'all-Posit4', method: 'posit', fraction: 1, gradient: 'posit' },
      ...FRACTIONS.flatMap((f) => [
        { arm: `mixed ${f * 100}%`, method: 'score' as const, fraction: f, gradient: 'posit' as const },
        { arm: `random ${f * 100}%`, method: 'random' as const, fraction: f, gradient: 'posit' as const },
      ]),
      { arm: 'mixed 10% (plain STE)', method: 'score', fraction: 0.1, gradient: 'ste' },
    ];
    for (const a of arms) {
      const g = model.clone();
      const map = assignFormats(g, importance, { positFraction: a.fraction, method: a.method === 'random' ? 'random' : 'score', seed });
      if (a.method === 'score' || a.method === 'random') verifyMixed(map);
      const ptq = score(await evaluateGraph(quantizedGraph(g, map, { mode: 'inference', activations: acts }), task.test, { executor }));
      const ft = await finetuneMixed(g, map, task.train, acts, { gradient: a.gradient, epochs: 1, batchSize: task.batchSize, lr: task.lr / 4, seed }, { executor });
      const inf = quantizedGraph(ft.graph, map, { mode: 'inference', activations: acts });
      const value = score(await evaluateGraph(inf, task.test, { executor }));
      const energy = inferenceEnergy(inf, map, { activation: acts, accumulatorBits: 32 });
      const energySa = inferenceEnergy(inf, map, { activation: acts, accumulatorBits: 32, positMac: 'shift-add' });
      rows.push({
        task: task.name, seed, arm: a.arm, method: a.method, gradient: a.gradient, positFraction: positFractionReport(map).at(-1)!.positFraction, ptq, value,
        energyPj: energy.totalPj, energyShiftAddPj: energySa.totalPj,
      });
      log(`${task.name} seed ${seed} ${a.arm.padEnd(22)} PTQ ${ptq.toFixed(4)}  fine-tuned ${value.toFixed(4)}  energy ${(energy.totalPj / 1e3).toFixed(2)} nJ (shift-add ${(energySa.totalPj / 1e3).toFixed(2)})`);
      if (seed === SEEDS[0] && a.arm === 'mixed 10%') {
        notes.positFractionPerLayer = positFractionReport(map);
        const brief = (e: typeof energy) => ({ ...e, units: e.units.map((u) => ({ weight: u.weight, activation: u.activation, accumulatorBits: u.accumulatorBits, energyPj: u.energyPj, breakdown: u.breakdown })) });
        notes.energyBreakdown = { generic: brief(energy), shiftAdd: brief(energySa) };
        notes.activationFormats = Object.fromEntries(acts);
        notes.referenceCheck = await referenceAgreement(inf, task.test, task.name === 'vision' ? 32 : 4, 32, executor);
        log(`${task.name}: exact MAC vs onnxruntime on ${JSON.stringify(notes.referenceCheck)}`);
      }
    }
  }
  return { rows, float, notes };
}

function summarize(rows: ArmResult[], float: Record<number, number>) {
  const arms = [...new Set(rows.map((r) => r.arm))];
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = (xs: number[]) => (xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1)));
  const fixE = mean(rows.filter((r) => r.arm === 'all-FixP4').map((r) => r.energyPj));
  const fixSa = mean(rows.filter((r) => r.arm === 'all-FixP4').map((r) => r.energyShiftAddPj));
  const fixV = mean(rows.filter((r) => r.arm === 'all-FixP4').map((r) => r.value));
  return {
    /** The float model after the same fine-tuning epoch (no quantization). */
    float: { mean: mean(Object.values(float)), sd: sd(Object.values(float)) },
    arms: arms.map((arm) => {
      const rs = rows.filter((r) => r.arm === arm);
      const v = rs.map((r) => r.value);
      const e = mean(rs.map((r) => r.energyPj));
      const esa = mean(rs.map((r) => r.energyShiftAddPj));
      // Paired by seed: every arm starts from the same float model as that seed's all-FixP4 arm.
      const paired = rs.map((r) => r.value - rows.find((f) => f.arm === 'all-FixP4' && f.seed === r.seed)!.value);
      const pairedPtq = rs.map((r) => r.ptq - rows.find((f) => f.arm === 'all-FixP4' && f.seed === r.seed)!.ptq);
      return {
        arm, positFraction: rs[0]!.positFraction, gradient: rs[0]!.gradient, mean: mean(v), sd: sd(v), ptqMean: mean(rs.map((r) => r.ptq)),
        deltaVsFixP: mean(v) - fixV, pairedDeltaSd: sd(paired), ptqDeltaVsFixP: mean(pairedPtq), ptqPairedDeltaSd: sd(pairedPtq), energyPj: e, energyOverheadVsFixP: e / fixE - 1,
        energyShiftAddPj: esa, energyShiftAddOverheadVsFixP: esa / fixSa - 1, seeds: rs.length,
      };
    }),
  };
}

const results: Record<string, unknown> = {
  command: QUICK ? 'QUICK=1 pnpm --filter @tessera/plugin-posit-mixed experiment' : 'pnpm --filter @tessera/plugin-posit-mixed experiment',
  seeds: SEEDS,
  setup: {
    vision: 'LeNet-5, Fashion-MNIST stratified subset (4000 train / 1000 test), float pretraining 3 epochs (Adam 2e-3, batch 64), fine-tuning 1 epoch (Adam 5e-4)',
    language: 'tiny GPT (dim 48, 2 layers, 2 heads, MLP 96, context 32, character vocabulary), grammar corpus 60k train / 8k test chars, pretraining 8 epochs (Adam 3e-3, batch 32), fine-tuning 1 epoch (Adam 7.5e-4); metric: test perplexity per character',
    quantization: 'weights of every MatMul/Gemm/Conv: FixP4 = fixed<4,f>, Posit4 = posit<4,1> x 2^k, f and k per layer (power of two, least squared error); activations into those layers fixed<8,f> calibrated on 256 train examples; embeddings, LayerNorm and attention score products stay float (their MACs are priced as fixed<8> x fixed<8>)',
    assignment: 'score s = |w·g| x (err_FixP4^2 - err_Posit4^2), |w·g| averaged over 8 batches; top fraction per layer; random = same count per layer drawn uniformly',
    finetuning: 'posit gradient approximation [R] (STE scaled by Δ_fix/Δ_pos(w), clamp [0.25, 4]) unless the arm says plain STE',
    energy: 'MAC energy per inference, estimates scaled from Horowitz ISSCC 2014 (45 nm), 32-bit fixed accumulator: energyPj prices Posit4 x FixP8 with @tessera/targets macUnitCost (significand multiplier + posit decoder + alignment shifter), energyShiftAddPj with positShiftAddMacCost (the shift-add MAC of our notes [R])',
  },
};
for (const task of [visionTask(), languageTask()]) {
  const { rows, float, notes } = await runTask(task);
  results[task.name] = { metric: task.metric, summary: summarize(rows, float), runs: rows, ...notes };
}
results.wallSeconds = (performance.now() - t0) / 1000;
const dir = new URL('../results/', import.meta.url);
await mkdir(dir, { recursive: true });
await writeFile(new URL('experiment.json', dir), `${JSON.stringify(results, null, 2)}\n`);
for (const name of ['vision', 'language'] as const) {
  const s = (results[name] as { summary: ReturnType<typeof summarize>; metric: string });
  const curve = s.summary.arms
    .filter((a) => a.gradient === 'posit')
    .map((a) => ({ posit_fraction: a.positFraction, [s.metric]: a.mean, assignment: a.arm.startsWith('random') ? 'random' : 'by score', energy_nJ: a.energyPj / 1e3, energy_shift_add_nJ: a.energyShiftAddPj / 1e3 }));
  // The all-FixP4 and all-Posit4 ends belong to both curves.
  const ends = curve.filter((r) => r.posit_fraction === 0 || r.posit_fraction === 1);
  const rowsBoth = [...curve, ...ends.map((r) => ({ ...r, assignment: 'random' }))].sort((a, b) => a.posit_fraction - b.posit_fraction);
  await writeFile(new URL(`${name}-${s.metric}.svg`, dir), await lineChart(rowsBoth, { x: 'posit_fraction', y: s.metric, series: 'assignment', title: `${name}: ${s.metric} after fine-tuning vs Posit4 fraction (mean of ${SEEDS.length} seeds)` }));
  const energyRows = curve.filter((r) => r.assignment === 'by score').flatMap((r) => [
    { posit_fraction: r.posit_fraction, energy_nJ: r.energy_nJ, mac: 'generic posit x fixed unit' },
    { posit_fraction: r.posit_fraction, energy_nJ: r.energy_shift_add_nJ, mac: 'shift-add unit [R]' },
  ]);
  await writeFile(new URL(`${name}-energy.svg`, dir), await lineChart(energyRows, { x: 'posit_fraction', y: 'energy_nJ', series: 'mac', title: `${name}: estimated MAC energy per inference vs Posit4 fraction` }));
}
log('wrote results/experiment.json and SVGs');
await executor.dispose();
