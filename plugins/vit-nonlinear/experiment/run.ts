/**
 * PEANO-ViT experiment (spec section 8): dense error sweeps of the three approximations, a tiny ViT
 * trained on a Fashion-MNIST subset with the approximations swapped in post hoc (3 seeds, defaults
 * and ablations), and the FPGA cost table from the fpga target's operator counts.
 * Writes results/experiment.json and SVGs. Run: pnpm --filter @tessera/plugin-vit-nonlinear experiment
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { standardOps } from '@tessera/core';
import { barChart, lineChart } from '@tessera/pipeline';
import { createExecutor } from '@tessera/runtime';
import {
  ABLATIONS, ablate, efficiencyGains, fashionSubsets, fpgaCostTable, geluGaussianError, geluSweep, layerNormSweep, padeMsrSweep, padeSweep,
  peanoRegistry, reciprocalSweep, softmaxSweep, trainTinyViT,
} from '../src/index.js';

const t0 = performance.now();
const command = 'pnpm --filter @tessera/plugin-vit-nonlinear experiment';
const cfg = { train: Number(process.env.PEANO_TRAIN ?? 8000), test: Number(process.env.PEANO_TEST ?? 5000), epochs: Number(process.env.PEANO_EPOCHS ?? 3), seeds: [0, 1, 2] };

// 1. Function-level sweeps.
const lnRows = [...[0, 2, 3, 4, 6].map((t) => ({ setting: `t=${t}`, spec: { 0: 0.184, 2: 0.057, 3: 0.030, 4: 0.015, 6: 0.0039 }[t]!, ...layerNormSweep({ tableBits: t }) })),
  { setting: 'pure power of two', spec: 0.189, ...layerNormSweep({ tableBits: 0, pow2Only: true }) }];
const recipRows = [3, 4, 6].map((t) => ({ setting: `t=${t}`, spec: { 3: 0.059, 4: 0.030, 6: 0.0078 }[t]!, ...reciprocalSweep({ bits: t }) }));
const padeRows = [
  { range: '[-1, 1]', spec: 0.0015, ...padeSweep(-1, 1) }, { range: '[-1, 2]', spec: 0.053, ...padeSweep(-1, 2) },
  { range: '[-2, 2]', spec: 0.056, ...padeSweep(-2, 2) }, { range: '[-3, 2]', spec: 0.54, ...padeSweep(-3, 2) },
];
const padeMsr = [3, 4, 6].map((t) => ({ reciprocalBits: t, ...padeMsrSweep(t) }));
const geluRows = [
  ...[4, 8, 16, 32].map((S) => ({ segments: S, slopes: 'float', specMaxAbs: { 4: 0.118, 8: 0.038, 16: 0.0094, 32: 0.0040 }[S]!, gaussianMeanAbs: S < 32 ? geluGaussianError(S) : null, ...geluSweep({ segments: S }) })),
  { segments: 8, slopes: 'shiftAdd', specMaxAbs: 0.040, gaussianMeanAbs: null, ...geluSweep({ segments: 8, slopes: 'shiftAdd' }) },
];
const softmaxRows = [];
for (const length of [17, 50, 197]) for (const std of [1, 2, 4]) softmaxRows.push(softmaxSweep({ rows: 10_000, length, std, maskFraction: length === 50 ? 0 : 0.2, seed: length * 10 + std }));
console.log('sweeps done', ((performance.now() - t0) / 1000).toFixed(1), 's');
for (const r of lnRows) console.log(`LN ${r.setting}: max rel ${(100 * r.maxRel).toFixed(2)}% (spec ${(100 * r.spec).toFixed(2)}%), mean rel ${(100 * r.meanRel).toFixed(2)}%`);
for (const r of geluRows) console.log(`GELU S=${r.segments} ${r.slopes}: max abs ${r.maxAbs.toFixed(4)} (spec ${r.specMaxAbs}), mean abs ${r.meanAbs.toExponential(2)}`);
for (const r of softmaxRows) console.log(`softmax L=${r.length} std=${r.std} mask=${r.maskFraction}: max abs ${r.maxAbs.toFixed(4)}, argmax kept ${r.argmaxPreserved}, NaN rows ${r.nan}`);

// 2. Model level: post-hoc swap, no retraining.
const data = fashionSubsets(cfg.train, cfg.test, 0);
const registry = standardOps();
const executor = createExecutor('ort-node', { registry, threads: 1 });
const seeds: { seed: number; steps: number; trainMs: number; finalLoss: number; exact: number; rows: Awaited<ReturnType<typeof ablate>>['rows'] }[] = [];
for (const seed of cfg.seeds) {
  const t = await trainTinyViT(data.train, { epochs: cfg.epochs, seed, executor, registry });
  const a = await ablate(t.graph, data.test, ABLATIONS, executor);
  seeds.push({ seed, steps: t.steps, trainMs: Math.round(t.wallMs), finalLoss: t.finalLoss, exact: a.exact, rows: a.rows });
  console.log(`seed ${seed}: ${t.steps} steps in ${(t.wallMs / 1000).toFixed(0)} s, exact ${(100 * a.exact).toFixed(2)}%; ${a.rows.map((r) => `${r.name}: ${r.drop.toFixed(2)} (flips ${r.flips.toFixed(2)}%)`).join('; ')}`);
}
await executor.dispose();
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const std = (xs: number[]) => Math.sqrt(mean(xs.map((x) => (x - mean(xs)) ** 2)));
const ablation = ABLATIONS.map((v, i) => {
  const drops = seeds.map((s) => s.rows[i]!.drop);
  const flips = seeds.map((s) => s.rows[i]!.flips);
  const nll = seeds.map((s) => s.rows[i]!.nllIncrease);
  return { name: v.name, options: v.options, dropMean: mean(drops), dropStd: std(drops), drops, flipsMean: mean(flips), flipsStd: std(flips), nllIncreaseMean: mean(nll) };
});
const exactAcc = seeds.map((s) => 100 * s.exact);

// 3. FPGA cost table.
const cost = fpgaCostTable(peanoRegistry(registry));
const gains = efficiencyGains(cost);

const result = {
  command, config: cfg, wallSeconds: (performance.now() - t0) / 1000,
  sweeps: { layerNormInvStd: lnRows, reciprocal: recipRows, pade: padeRows, padeWithReciprocal: padeMsr, gelu: geluRows, softmax: softmaxRows },
  model: { exactAccuracy: { mean: mean(exactAcc), std: std(exactAcc), perSeed: exactAcc }, ablation, seeds },
  fpga: { note: 'estimated: spec B5 [R] relative resource index; power index = LUT + FF + 50·DSP, energy index = Σ resources·cycles per element', units: cost, gains },
};
const dir = new URL('../results/', import.meta.url);
await mkdir(dir, { recursive: true });
await writeFile(new URL('experiment.json', dir), `${JSON.stringify(result, null, 2)}\n`);
await writeFile(new URL('accuracy-drop.svg', dir), await barChart(ablation.map((a) => ({ variant: a.name, drop: Number(a.dropMean.toFixed(3)) })), { x: 'variant', y: 'drop', horizontal: true, title: 'Tiny ViT, Fashion-MNIST: accuracy drop (points, mean of 3 seeds), no retraining' }));
await writeFile(new URL('prediction-flips.svg', dir), await barChart(ablation.map((a) => ({ variant: a.name, flips: Number(a.flipsMean.toFixed(3)) })), { x: 'variant', y: 'flips', horizontal: true, title: 'Tiny ViT: % of test predictions changed vs exact (mean of 3 seeds)' }));
await writeFile(new URL('gelu-error.svg', dir), await lineChart(geluRows.filter((r) => r.slopes === 'float').map((r) => ({ segments: r.segments, maxAbs: r.maxAbs, series: 'ours' })).concat(geluRows.filter((r) => r.slopes === 'float').map((r) => ({ segments: r.segments, maxAbs: r.specMaxAbs, series: 'spec [C]' }))), { x: 'segments', y: 'maxAbs', series: 'series', xLog: true, yLog: true, title: 'PWL GELU max abs error over [-10, 10]' }));
await writeFile(new URL('fpga-gains.svg', dir), await barChart(gains.flatMap((g) => [{ unit: `${g.unit} paper [P]`, gain: g.paper }, { unit: `${g.unit} ours (est. power)`, gain: Number(g.estimatedPower.toFixed(2)) }]), { x: 'unit', y: 'gain', horizontal: true, title: 'Power-efficiency gain, exact / approximate (ours: estimated)' }));
console.log(`exact accuracy ${mean(exactAcc).toFixed(2)} ± ${std(exactAcc).toFixed(2)}%`);
for (const a of ablation) console.log(`${a.name}: drop ${a.dropMean.toFixed(2)} ± ${a.dropStd.toFixed(2)} points, flips ${a.flipsMean.toFixed(2)} ± ${a.flipsStd.toFixed(2)}%, NLL +${a.nllIncreaseMean.toFixed(4)}`);
for (const g of gains) console.log(`${g.unit}: paper ${g.paper}x, estimated power ${g.estimatedPower.toFixed(2)}x, energy ${g.estimatedEnergy.toFixed(1)}x`);
console.log(`wall ${result.wallSeconds.toFixed(0)} s`);
