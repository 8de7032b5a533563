/**
 * SNT experiment (spec section 3, shrunk to minutes on 2 cores): Adam vs Adam+SAM(ρ=0.05) vs
 * Adam+SNT stand-in (expand-and-merge, e=2) on a Fashion-MNIST subset, MLP 784-256-256-10,
 * compute-matched (same epochs, batches, lr, optimizer steps; SAM pays two gradient evaluations per
 * step, SNT one on the bigger expanded graph), 3 seeds. On the final merged models: ε-sharpness
 * (5-step projected ascent, ρ=0.05) and λmax (20 power iterations) on 1000 fixed TRAINING examples;
 * test accuracy; one-shot global magnitude pruning 50/70/90 % and per-channel weight PTQ 8/4/3/2
 * bits via @tessera/compress (no fine-tuning). Writes results/experiment.json and SVGs.
 *
 * Run: pnpm --filter @tessera/plugin-snt experiment
 * Env: SNT_TRAIN (train examples, default 6000), SNT_EPOCHS (3; the spec's 4, shrunk), SNT_SEEDS (3), SNT_TEST (5000).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadFashionMnist, splitTrainSearchTest } from '@tessera/data';
import { buildMlp } from '@tessera/models';
import { barChart, lineChart } from '@tessera/pipeline';
import { createExecutor } from '@tessera/runtime';
import { compressSweep, measureSharpness, trainArm, type SharpnessResult, type SweepRow } from '../src/index.js';

const env = (k: string, d: number) => (process.env[k] ? Number(process.env[k]) : d);
const TRAIN = env('SNT_TRAIN', 6000);
const EPOCHS = env('SNT_EPOCHS', 3);
const SEEDS = env('SNT_SEEDS', 3);
const TEST = env('SNT_TEST', 5000);
const METHODS = ['adam', 'sam', 'snt'] as const;
const PRUNE = [0.5, 0.7, 0.9];
const BITS = [8, 4, 3, 2];
const recipe = { epochs: EPOCHS, batchSize: 64, lr: 1e-3, rho: 0.05, expansion: 2 };
const sharpnessOptions = { split: 'train' as const, examples: 1000, rho: 0.05, ascentSteps: 5, powerIterations: 20, traceProbes: 0, seed: 0 };

interface Run {
  method: (typeof METHODS)[number];
  seed: number;
  steps: number;
  gradientEvaluations: number;
  trainingParameters: number;
  parameters: number;
  trainWallS: number;
  msPerStep: number;
  finalLoss: number;
  sharpness: SharpnessResult;
  sweep: SweepRow[];
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const std = (xs: number[]) => (xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, b) => a + (b - mean(xs)) ** 2, 0) / (xs.length - 1)));
const stat = (xs: number[]) => ({ mean: mean(xs), std: std(xs), values: xs });
const key = (r: SweepRow) => (r.kind === 'none' ? 'uncompressed' : r.kind === 'prune' ? `prune${Math.round(r.level! * 100)}${r.scope === 'layer' ? '-layer' : ''}` : `ptq${r.level}bit`);

const started = performance.now();
const splits = splitTrainSearchTest({ train: loadFashionMnist('train'), test: loadFashionMnist('test') }, { search: 1000, train: TRAIN, test: TEST, seed: 0 });
const executor = createExecutor('ort-node');
const runs: Run[] = [];
for (let seed = 0; seed < SEEDS; seed++) {
  for (const method of METHODS) {
    const model = buildMlp({ hidden: [256, 256] }, { seed });
    const t = await trainArm(model, splits.train, { ...recipe, method, seed }, { executor });
    const sharpness = await measureSharpness(t.graph, splits, sharpnessOptions, { executor });
    const sweep = await compressSweep(t.graph, splits.test, { prune: PRUNE, pruneScopes: ['global', 'layer'], ptqBits: BITS, executor });
    const run: Run = {
      method, seed, steps: t.steps, gradientEvaluations: t.gradientEvaluations, trainingParameters: t.trainingParameters, parameters: t.parameters,
      trainWallS: t.wallMs / 1000, msPerStep: t.msPerStep, finalLoss: t.finalLoss, sharpness, sweep,
    };
    runs.push(run);
    const acc = Object.fromEntries(sweep.map((r) => [key(r), (100 * r.accuracy).toFixed(2)]));
    console.log(`seed ${seed} ${method}: ${run.steps} steps, ${run.gradientEvaluations} grad evals, ${run.trainWallS.toFixed(1)} s; ε-sharpness ${sharpness.epsSharpness.toFixed(4)}, λmax ${sharpness.lambdaMax.toFixed(2)}; acc ${JSON.stringify(acc)}`);
  }
}

const levels = runs[0]!.sweep.map(key);
const summary = Object.fromEntries(METHODS.map((m) => {
  const rs = runs.filter((r) => r.method === m);
  const accuracy = Object.fromEntries(levels.map((k, i) => [k, stat(rs.map((r) => 100 * r.sweep[i]!.accuracy))]));
  // Paired by seed (same data order and subset): points over Adam at each compression level.
  const adam = runs.filter((r) => r.method === 'adam');
  const overAdam = Object.fromEntries(levels.map((k, i) => [k, stat(rs.map((r, j) => 100 * (r.sweep[i]!.accuracy - adam[j]!.sweep[i]!.accuracy)))]));
  return [m, {
    epsSharpness: stat(rs.map((r) => r.sharpness.epsSharpness)),
    lambdaMax: stat(rs.map((r) => r.sharpness.lambdaMax)),
    trainLoss: stat(rs.map((r) => r.sharpness.loss)),
    accuracy, overAdam,
    steps: rs[0]!.steps,
    gradientEvaluations: rs[0]!.gradientEvaluations,
    trainingParameters: rs[0]!.trainingParameters,
    parameters: rs[0]!.parameters,
    trainWallS: stat(rs.map((r) => r.trainWallS)),
    layerSparsityAt90: Object.fromEntries(Object.keys(rs[0]!.sweep.find((x) => x.level === 0.9 && x.scope === 'global')?.layerSparsity ?? {}).map((l) => [l, mean(rs.map((r) => r.sweep.find((x) => x.level === 0.9 && x.scope === 'global')!.layerSparsity![l]!))])),
    msPerStep: stat(rs.map((r) => r.msPerStep)),
  }];
}));

const out = {
  experiment: 'SNT stand-in (expand-and-merge) vs Adam vs Adam+SAM, one-shot compression',
  command: 'pnpm --filter @tessera/plugin-snt experiment',
  setup: {
    data: `Fashion-MNIST: ${splits.train.x.shape[0]} train / ${splits.search.x.shape[0]} held-out train (search, unused) / ${splits.test.x.shape[0]} test (seeded stratified subsets, split seed 0)`,
    model: 'MLP 784-256-256-10 (ReLU), Kaiming init, seed = run seed',
    recipe, seeds: SEEDS, sharpness: sharpnessOptions,
    compression: { prune: 'one-shot unstructured magnitude pruning of all linear weights (biases kept), no fine-tuning; global threshold (headline) and per-layer fraction (control, keys *-layer)', ptq: 'symmetric uniform per-output-channel weight quantization (fake-quant), activations float, no fine-tuning', prune_levels: PRUNE, bits: BITS },
    shrunk: `spec: 4 epochs on Fashion-MNIST; here ${EPOCHS} epochs on ${TRAIN} training images and ${TEST} test images so that all 9 runs finish in minutes on 2 cores`,
  },
  summary,
  runs,
  wallS: (performance.now() - started) / 1000,
};
const dir = join(import.meta.dirname, '../results');
await mkdir(dir, { recursive: true });
await writeFile(join(dir, 'experiment.json'), `${JSON.stringify(out, null, 2)}\n`);

const label = { adam: 'Adam', sam: 'Adam+SAM', snt: 'Adam+SNT stand-in' } as const;
const accRows = (prefix: string, x: string) => METHODS.flatMap((m) => levels.filter((k) => k === 'uncompressed' || (k.startsWith(prefix) && !k.endsWith('-layer'))).map((k) => ({
  [x]: k === 'uncompressed' ? (prefix === 'prune' ? 0 : 32) : Number(k.replace(/\D+/g, '')), accuracy: summary[m]!.accuracy[k]!.mean, method: label[m],
})));
await writeFile(join(dir, 'pruning.svg'), await lineChart(accRows('prune', 'sparsity %'), { x: 'sparsity %', y: 'accuracy', series: 'method', title: 'Test accuracy after one-shot magnitude pruning (mean of seeds)', yTitle: 'test accuracy %' }));
await writeFile(join(dir, 'quantization.svg'), await lineChart(accRows('ptq', 'bits'), { x: 'bits', y: 'accuracy', series: 'method', title: 'Test accuracy after per-channel weight PTQ (mean of seeds; 32 = float)', yTitle: 'test accuracy %', xLog: true }));
await writeFile(join(dir, 'sharpness.svg'), await barChart(METHODS.flatMap((m) => [
  { metric: 'ε-sharpness ×100', value: 100 * summary[m]!.epsSharpness.mean, method: label[m] },
  { metric: 'λmax', value: summary[m]!.lambdaMax.mean, method: label[m] },
]), { x: 'metric', y: 'value', color: 'method', title: 'Sharpness of the final merged models on 1000 training examples (mean of seeds)' }));
console.log(`wrote ${dir}/experiment.json, pruning.svg, quantization.svg, sharpness.svg in ${out.wallS.toFixed(0)} s`);
for (const m of METHODS) {
  const s = summary[m]!;
  console.log(`${label[m]}: ε-sharpness ${s.epsSharpness.mean.toFixed(4)}±${s.epsSharpness.std.toFixed(4)}, λmax ${s.lambdaMax.mean.toFixed(2)}±${s.lambdaMax.std.toFixed(2)}, ` +
    levels.map((k) => `${k} ${s.accuracy[k]!.mean.toFixed(2)}±${s.accuracy[k]!.std.toFixed(2)} (${s.overAdam[k]!.mean >= 0 ? '+' : ''}${s.overAdam[k]!.mean.toFixed(2)})`).join(', '));
}
