/**
 * FMAS small CPU experiment (spec section 4, shrunk to minutes on 2 cores): pretrain the small
 * DeepLabV3+ supernet on synthetic segmentation scenes, search (1 − mIoU, cost) with NSGA-II over
 * sliced subnets scored WITHOUT fine-tuning on an 80-image validation subset, fine-tune only the
 * final front on the full training set, score on the test split.
 *
 *   cd plugins/nas-fmas && pnpm experiment --seed 0 [--objectives flops,gap8-latency] [--quick]
 *   (env: FMAS_SEED=k, FMAS_OBJECTIVES=..., FMAS_QUICK=1: a 1-minute smoke run written under the OS temp dir)
 *   pnpm experiment:aggregate    mean ± std over the seeds found under results/<objective>/
 *
 * One pretrained supernet per seed is shared by the objectives (arms). Writes, per arm,
 * results/<objective>/seed<k>/{fmas.json, evaluations.jsonl, search.svg, final.svg}.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { computeCost, countParameters } from '@tessera/core';
import { buildDeepLabV3Plus } from '@tessera/models';
import { createExecutor } from '@tessera/runtime';
import { deeplabSubnetSpace, fmasPlots, fmasSearch, segmentationMIoU, segmentationSplits, trainSegmenter, type SubnetCosts } from '../src/index.js';

const { values: args } = parseArgs({ options: { seed: { type: 'string' }, objectives: { type: 'string' }, quick: { type: 'boolean' } } });
const quick = args.quick === true || process.env.FMAS_QUICK === '1';
const seed = Number(args.seed ?? process.env.FMAS_SEED ?? 0);
if (!Number.isInteger(seed) || seed < 0) throw new Error(`experiment: --seed must be a non-negative integer, got ${args.seed ?? process.env.FMAS_SEED}`);
const OBJECTIVES = ['flops', 'params', 'gap8-latency', 'cpu-latency'] as const;
type Objective = (typeof OBJECTIVES)[number];
const objectives = (args.objectives ?? process.env.FMAS_OBJECTIVES ?? 'flops').split(',').map((s) => s.trim()) as Objective[];
for (const o of objectives) if (!OBJECTIVES.includes(o)) throw new Error(`experiment: unknown objective '${o}' (one of ${OBJECTIVES.join(', ')})`);
const t0 = performance.now();
const log = (m: string) => process.stdout.write(`[seed ${seed} ${((performance.now() - t0) / 1000).toFixed(0)}s] ${m}\n`);

const setup = {
  imageSize: 32, classes: 5, train: quick ? 256 : 1000, val: quick ? 100 : 400, test: quick ? 100 : 400,
  pretrainEpochs: quick ? 1 : 4, population: quick ? 8 : 16, generations: quick ? 2 : 8, valSubsetFraction: 0.2, finetuneEpochs: 1, maxFinetune: 6,
  workers: 2, seed,
};
const data = segmentationSplits({ size: setup.imageSize, classes: setup.classes, train: setup.train, val: setup.val, test: setup.test, seed: setup.seed });
const init = buildDeepLabV3Plus({ imageSize: setup.imageSize, classes: setup.classes }, { seed: setup.seed });
log(`supernet: ${countParameters(init).total} parameters, ${computeCost(init, { bindings: { N: 1 } }).total.macs} MACs per 32x32 image`);
const pre = await trainSegmenter(init, data.train, { epochs: setup.pretrainEpochs, lr: 3e-3, batchSize: 32, seed: setup.seed });
const supernet = pre.graph;
const ex = createExecutor('ort-node', { threads: 1 });
const preTest = await segmentationMIoU(ex, supernet, data.test);
await ex.dispose();
log(`pretrained ${setup.pretrainEpochs} epochs in ${(pre.totalMs / 1000).toFixed(1)} s; test mIoU ${preTest.toFixed(4)}`);

const space = deeplabSubnetSpace(supernet);
const costOf = (c: SubnetCosts, o: Objective): number | undefined =>
  ({ flops: c.flops, params: c.params, 'gap8-latency': c.gap8LatencyUs, 'cpu-latency': c.cpuLatencyMs })[o];

for (const costObjective of objectives) {
  const out = join(quick ? join(tmpdir(), 'fmas-quick') : join(import.meta.dirname, '../results'), costObjective, `seed${seed}`);
  mkdirSync(out, { recursive: true });
  const logPath = join(out, 'evaluations.jsonl');
  rmSync(logPath, { force: true });
  const tArm = performance.now();
  log(`arm ${costObjective}`);
  const r = await fmasSearch(supernet, space, data, {
    costObjective, population: setup.population, generations: setup.generations, valSubsetFraction: setup.valSubsetFraction,
    finetuneEpochs: setup.finetuneEpochs, maxFinetune: setup.maxFinetune, workers: setup.workers, seed: setup.seed, lr: 1e-3, log: logPath,
  }, { onProgress: log });

  // The paper's headline shape: the cheapest fine-tuned candidate (in the searched cost) within 3 mIoU
  // points of the supernet given the same fine-tuning (compute-matched reference).
  const ref = r.supernet.finetunedTestMIoU;
  const rel = (x: number | undefined, y: number | undefined) => (x === undefined || y === undefined ? null : 1 - x / y);
  const finals = r.finalFront.map((f) => ({
    id: f.id, choices: f.choices, subsetMIoU: f.subsetMIoU, testMIoUBeforeFinetune: f.testMIoUBeforeFinetune, testMIoU: f.testMIoU,
    flops: f.costs.flops, params: f.costs.params, gap8LatencyUs: f.costs.gap8LatencyUs ?? null,
    flopsReduction: rel(f.costs.flops, r.supernet.costs.flops)!, paramsReduction: rel(f.costs.params, r.supernet.costs.params)!,
    costReduction: rel(costOf(f.costs, costObjective), costOf(r.supernet.costs, costObjective))!,
    mIoUDropPoints: 100 * (ref - f.testMIoU), nonDominated: f.nonDominated, finetuneMs: f.finetuneMs,
  }));
  const within3 = finals.filter((f) => f.mIoUDropPoints <= 3 && f.costReduction > 0).sort((a, b) => b.costReduction - a.costReduction)[0] ?? null;
  const { finalGraphs: _graphs, ...serialisable } = r;
  const summary = {
    setup: { ...setup, costObjective }, costObjective: r.costObjective,
    shrunk: 'spec: 64x64 images, 2k/400/400 scenes, ~90 s pretraining; here: 32x32 images, 1000/400/400 scenes, 4 epochs; DeepLabV3+ defaults of @tessera/models (~122k parameters)',
    supernet: { parameters: r.supernet.costs.params, flops: r.supernet.costs.flops, gap8LatencyUs: r.supernet.costs.gap8LatencyUs ?? null, pretrainMs: pre.totalMs, testMIoU: preTest, subsetMIoU: r.supernet.subsetMIoU, finetunedTestMIoU: ref },
    evaluated: r.evaluated.length, searchFront: r.searchFront.length, finetuned: finals.length, nonDominatedAfterFinetune: finals.filter((f) => f.nonDominated).length,
    hypervolume: r.hypervolume, kendallTau: r.rankCorrelation,
    time: { ...r.time, savedFraction: r.time.savedMs / r.time.ablationEstimateMs },
    cheapestWithin3Points: within3,
    finals,
    armWallMs: performance.now() - tArm,
    wallMs: performance.now() - t0,
  };
  writeFileSync(join(out, 'fmas.json'), `${JSON.stringify({ summary, result: serialisable }, null, 1)}\n`);
  const plots = await fmasPlots(r);
  writeFileSync(join(out, 'search.svg'), plots.search);
  writeFileSync(join(out, 'final.svg'), plots.final);
  const unit = r.costObjective.name;
  log(`[${costObjective}] evaluated ${r.evaluated.length}, search front ${r.searchFront.length}, fine-tuned ${finals.length}; HV search ${r.hypervolume.search.toFixed(4)} final ${r.hypervolume.final.toFixed(4)}; Kendall tau ${r.rankCorrelation.toFixed(3)}`);
  for (const f of finals) log(`  #${f.id}: ${costObjective === 'flops' ? '' : `${unit} -${(100 * f.costReduction).toFixed(1)}% `}FLOPs -${(100 * f.flopsReduction).toFixed(1)}% params -${(100 * f.paramsReduction).toFixed(1)}% subset ${f.subsetMIoU.toFixed(3)} test ${f.testMIoUBeforeFinetune.toFixed(3)} -> ${f.testMIoU.toFixed(3)} (${f.mIoUDropPoints.toFixed(2)} points below the fine-tuned supernet ${ref.toFixed(3)})`);
  log(`time: search ${(r.time.searchMs / 1000).toFixed(1)} s, fine-tune ${(r.time.meanFinetuneMs / 1000).toFixed(1)} s per candidate; fine-tuning all ${r.evaluated.length} would take ~${(r.time.ablationEstimateMs / 1000).toFixed(0)} s vs ${(r.time.fmasMs / 1000).toFixed(0)} s (saved ${(100 * summary.time.savedFraction).toFixed(1)}%)`);
}
