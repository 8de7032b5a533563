/**
 * Spec section 1's small CPU experiment: Fashion-MNIST subset, tanh MLP, W1A1 hidden layers,
 * first/last 8-bit; arms direct / steps-only / CTMQ with the same total epochs after a shared
 * float pretraining; 3 seeds. Writes results/ctmq-experiment.json and .svg plots.
 *   pnpm --filter @tessera/plugin-quant-cyclic experiment      (env: CTMQ_SEEDS, CTMQ_TRAIN, CTMQ_HIDDEN)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadFashionMnist, splitTrainSearchTest } from '@tessera/data';
import { buildMlp } from '@tessera/models';
import { barChart, lineChart } from '@tessera/pipeline';
import { createExecutor } from '@tessera/runtime';
import { costOnAsic45nm, ctmq, exportCtmqModel, exportedAccuracy, pretrainFloat, quantizeGraph, type CtmqOptionsInput } from '../src/index.js';

const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'results');
const seeds = (process.env.CTMQ_SEEDS ?? '0,1,2').split(',').map(Number);
const nTrain = Number(process.env.CTMQ_TRAIN ?? 12000);
const hidden = Number(process.env.CTMQ_HIDDEN ?? 256);
const setup = { train: nTrain, val: 3000, test: 10000, mlp: [784, hidden, hidden, 10], activation: 'tanh', batchNorm: false, pretrainEpochs: 3, batchSize: 100 };

const common: CtmqOptionsInput = { bTarget: 1, keepFirstLast: '8bit', quantizeActivations: true, batchSize: setup.batchSize, lr: 1e-3 };
const arms: Record<string, CtmqOptionsInput> = {
  direct: { ...common, bStart: 1, epochsPerStep: 8, cycles: 0 },
  'steps-only': { ...common, bStart: 4, epochsPerStep: 2, cycles: 0 },
  ctmq: { ...common, bStart: 4, epochsPerStep: 1, cycles: 2, epochsAccurate: 1, epochsLowInCycle: 1, cycleScope: 'finalOnly' },
};

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const std = (xs: number[]) => Math.sqrt(xs.reduce((a, b) => a + (b - mean(xs)) ** 2, 0) / Math.max(1, xs.length - 1));

const t0 = performance.now();
const executor = createExecutor('ort-node');
const full = { train: loadFashionMnist('train'), test: loadFashionMnist('test') };
const runs: Record<string, unknown>[] = [];
const perEpochRows: Record<string, unknown>[] = [];
let costs: Record<string, unknown> | undefined;
for (const seed of seeds) {
  const data = splitTrainSearchTest(full, { search: setup.val, train: setup.train, test: setup.test, seed });
  const model = buildMlp({ hidden: [hidden, hidden], activation: 'tanh', batchNorm: false }, { seed });
  const pre = await pretrainFloat(model, data, { epochs: setup.pretrainEpochs, batchSize: setup.batchSize, seed, executor });
  console.log(`seed ${seed}: FP pretrained, val ${(100 * pre.valAccuracy).toFixed(2)}%`);
  for (const [arm, opts] of Object.entries(arms)) {
    const r = await ctmq(pre.model, data, { ...opts, seed }, { executor });
    let epoch = 0;
    for (const p of r.history) for (const a of p.valAccuracy) perEpochRows.push({ arm, seed, epoch: ++epoch, valAccuracy: a, phase: `${p.kind}:${p.bits}` });
    runs.push({
      arm, seed, testAccuracy: r.testAccuracy, selected: r.selected, totalEpochs: r.totalEpochs, wallMs: Math.round(r.wallMs), fpValAccuracy: pre.valAccuracy,
      phases: r.history.map((p) => ({ kind: p.kind, bits: p.bits, cycle: p.cycle, epochs: p.epochs, valAccuracy: p.valAccuracy, relativeWeightChange: p.relativeWeightChange, initDigest: p.initDigest, finalDigest: p.finalDigest })),
    });
    console.log(`  ${arm.padEnd(10)} test ${(100 * r.testAccuracy).toFixed(2)}%  val(sel) ${(100 * r.selected.valAccuracy).toFixed(2)}%  epochs ${r.totalEpochs}  ${(r.wallMs / 1000).toFixed(1)} s  phases ${r.history.map((p) => `${p.kind}:${p.bits}=${p.valAccuracy.map((a) => (100 * a).toFixed(1)).join('/')}`).join(' ')}`);
    if (arm === 'ctmq' && seed === seeds[0]) {
      const fpDeployed = quantizeGraph(pre.model, { bits: 8, keepFirstLast: 'none', quantizeActivations: false, weightClipStd: 2.5, weights: 'folded' });
      const c1 = costOnAsic45nm(r.model);
      const c8 = costOnAsic45nm(fpDeployed);
      const web = await exportedAccuracy(exportCtmqModel(r.model), data.test, 'ort-web');
      costs = {
        w1a1: { energyPj: c1.energyPj, computeEnergyPj: c1.computeEnergyPj, memoryEnergyPj: c1.memoryEnergyPj, bops: c1.bops, weightBits: c1.weightBits },
        w8a32Reference: { energyPj: c8.energyPj, computeEnergyPj: c8.computeEnergyPj, memoryEnergyPj: c8.memoryEnergyPj, bops: c8.bops, weightBits: c8.weightBits },
        exportedOrtWebTestAccuracy: web, inFrameworkTestAccuracy: r.testAccuracy, assumptions: c1.assumptions,
      };
    }
  }
}
const summary = Object.keys(arms).map((arm) => {
  const accs = runs.filter((r) => r.arm === arm).map((r) => r.testAccuracy as number);
  const walls = runs.filter((r) => r.arm === arm).map((r) => r.wallMs as number);
  return { arm, meanTestAccuracy: mean(accs), stdTestAccuracy: std(accs), testAccuracies: accs, totalEpochs: (runs.find((r) => r.arm === arm)!.totalEpochs), meanWallS: mean(walls) / 1000 };
});
const ctmqMinus = (other: string) => {
  const d = seeds.map((s) => (runs.find((r) => r.arm === 'ctmq' && r.seed === s)!.testAccuracy as number) - (runs.find((r) => r.arm === other && r.seed === s)!.testAccuracy as number));
  return { mean: mean(d), std: std(d), perSeed: d };
};
const result = {
  command: 'pnpm --filter @tessera/plugin-quant-cyclic experiment', setup, seeds, arms, summary,
  pairedDifferences: { ctmqMinusDirect: ctmqMinus('direct'), ctmqMinusStepsOnly: ctmqMinus('steps-only') },
  cost: costs, runs, totalWallS: (performance.now() - t0) / 1000,
};
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'ctmq-experiment.json'), `${JSON.stringify(result, null, 2)}\n`);
writeFileSync(join(out, 'ctmq-test-accuracy.svg'), await barChart(runs.map((r) => ({ arm: r.arm as string, seed: `seed ${r.seed}`, testAccuracy: r.testAccuracy as number })), { x: 'arm', y: 'testAccuracy', color: 'seed', title: 'W1A1 test accuracy per arm (8 epochs each after FP pretraining)' }));
writeFileSync(join(out, 'ctmq-val-per-epoch.svg'), await lineChart(perEpochRows.filter((r) => r.seed === seeds[0]) as never, { x: 'epoch', y: 'valAccuracy', series: 'arm', title: `Validation accuracy per epoch, seed ${seeds[0]} (CTMQ accurate phases are the float model)` }));
for (const s of summary) console.log(`${s.arm.padEnd(10)} ${(100 * s.meanTestAccuracy).toFixed(2)} ± ${(100 * s.stdTestAccuracy).toFixed(2)} %  (epochs ${s.totalEpochs}, ${s.meanWallS.toFixed(1)} s/run)`);
console.log(`total ${result.totalWallS.toFixed(0)} s; wrote ${out}`);
await executor.dispose();
