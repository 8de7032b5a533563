/**
 * FMAS (Xiong et al., arXiv:2303.16322): multi-objective search over subnetworks of a pretrained
 * segmentation supernet. Candidates are sliced from the supernet and scored WITHOUT fine-tuning
 * on a seeded subset of the validation split [P]; NSGA-II searches (error, cost) [P: multi-objective;
 * R: NSGA-II settings]; only the non-dominated candidates are fine-tuned on the full training set
 * [P] and re-scored on the test split, which the search never sees.
 */
import { Rng, type Graph } from '@tessera/core';
import { subset, type Dataset } from '@tessera/data';
import { formatIssues } from '@tessera/pipeline';
import { createExecutor } from '@tessera/runtime';
import { decodeGenome, hypervolume, nonDominatedSort, type Genome } from '@tessera/search';
import { z } from 'zod';
import { costValue, subnetCosts, type SubnetCosts } from './evaluate.js';
import { CandidatePool } from './pool.js';
import { resumableNsga2 } from './search.js';
import { sliceChannels } from './slice-channels.js';
import type { SubnetSpace } from './space.js';
import { kendallTau } from './stats.js';
import { segmentationMIoU, trainSegmenter } from './train.js';

export const FmasOptionsSchema = z
  .object({
    /** Objective 2: FLOPs, parameters, gap8-like latency (estimate) or measured cpu-ort latency. */
    costObjective: z.enum(['flops', 'params', 'gap8-latency', 'cpu-latency']).default('flops'),
    population: z.number().int().min(2).default(16),
    generations: z.number().int().min(1).default(8),
    /** Fraction of the validation split scored during the search (seeded subset). */
    valSubsetFraction: z.number().gt(0).max(1).default(0.2),
    /** Epochs of fine-tuning for each final Pareto candidate (and, compute-matched, the supernet). */
    finetuneEpochs: z.number().int().min(0).default(2),
    /** At most this many front members are fine-tuned (evenly spread along the cost axis, extremes kept). */
    maxFinetune: z.number().int().min(1).default(6),
    filterChoice: z.enum(['l1', 'first']).default('l1'),
    workers: z.number().int().min(0).default(2),
    batchSize: z.number().int().positive().default(32),
    lr: z.number().positive().default(1e-3),
    seed: z.number().int().nonnegative().default(0),
    /** JSONL search log; an existing log for the same search is resumed. */
    log: z.string().min(1).optional(),
  })
  .strict();

export type FmasOptions = z.input<typeof FmasOptionsSchema>;
export type ResolvedFmasOptions = z.output<typeof FmasOptionsSchema>;

/** Validates options; bad ones throw ONE line naming each field and what is valid. */
export function parseFmasOptions(raw: unknown, source = 'fmas-search'): ResolvedFmasOptions {
  const r = FmasOptionsSchema.safeParse(raw ?? {}, { reportInput: true });
  if (!r.success) throw new Error(`${source}: ${formatIssues(r.error, FmasOptionsSchema).join('; ')}`);
  return r.data;
}

export interface FmasData {
  train: Dataset;
  /** Validation split: the search scores a seeded subset of it. */
  val: Dataset;
  /** Test split: only the fine-tuned final candidates are scored on it. */
  test: Dataset;
}

export interface Candidate {
  id: number;
  round: number;
  genome: Genome;
  /** The genome's options by gene name. */
  choices: Record<string, unknown>;
  /** [1 − subset mIoU, cost], both minimised. */
  objectives: [number, number];
  subsetMIoU: number;
  costs: SubnetCosts;
  wallMs: number;
}

export interface FinalCandidate extends Candidate {
  testMIoUBeforeFinetune: number;
  testMIoU: number;
  finetuneMs: number;
  /** Non-dominated in (1 − test mIoU after fine-tuning, cost) among the fine-tuned candidates. */
  nonDominated: boolean;
}

export interface FmasResult {
  options: ResolvedFmasOptions;
  genes: { name: string; options: readonly unknown[] }[];
  costObjective: { name: string; unit: string; estimated: boolean };
  searchSubset: { name: string; size: number; indices: number[] };
  supernet: { costs: SubnetCosts; subsetMIoU: number; testMIoU: number; finetunedTestMIoU: number; finetuneMs: number };
  evaluated: Candidate[];
  searchFront: Candidate[];
  finalFront: FinalCandidate[];
  hypervolume: { search: number; final: number; reference: [number, number]; note: string };
  rankCorrelation: number;
  /** The fine-tuned graphs of `finalFront`, same order (not serialised into reports). */
  finalGraphs: Graph[];
  time: {
    searchMs: number;
    evaluatedNow: number;
    meanEvalMs: number;
    meanFinetuneMs: number;
    finetuneTotalMs: number;
    /** Fine-tuning every evaluated candidate (the ablation), estimated from the measured per-candidate fine-tune time; not run. */
    ablationEstimateMs: number;
    fmasMs: number;
    savedMs: number;
  };
  wallMs: number;
}

const UNITS = { flops: ['FLOPs', 'FLOP', false], params: ['parameters', 'count', false], 'gap8-latency': ['gap8-like latency (estimate)', 'us', true], 'cpu-latency': ['cpu-ort latency (measured)', 'ms', false] } as const;

/** Evenly spread picks along a list sorted by cost, both ends kept. */
function spread<T>(xs: T[], m: number): T[] {
  if (xs.length <= m) return xs;
  const idx = new Set(Array.from({ length: m }, (_, i) => Math.round((i * (xs.length - 1)) / (m - 1))));
  return [...idx].map((i) => xs[i]!);
}

export interface FmasHooks {
  signal?: AbortSignal;
  /** Progress lines (search generations, fine-tuning). */
  onProgress?(message: string): void;
}

export async function fmasSearch(supernet: Graph, space: SubnetSpace, data: FmasData, options: FmasOptions = {}, hooks: FmasHooks = {}): Promise<FmasResult> {
  const o = parseFmasOptions(options);
  const t0 = performance.now();
  const say = hooks.onProgress ?? (() => {});
  const nVal = data.val.x.shape[0]!;
  const k = Math.max(1, Math.round(o.valSubsetFraction * nVal));
  const indices = Array.from(new Rng(o.seed).fork(0x5eed).permutation(nVal).slice(0, k)).sort((a, b) => a - b);
  const valSubset = subset(data.val, indices, `${data.val.name}/search-subset-${k}`);
  const spec = (g: Genome) => ({ ...space.toSliceSpec(g), filterChoice: o.filterChoice });
  const cost = (c: SubnetCosts) => costValue(c, o.costObjective);

  const [unitName, unit, estimated] = UNITS[o.costObjective];
  const objectiveLabel = { name: unitName, unit, estimated };
  const costOpts = { gap8: o.costObjective === 'gap8-latency', measureCpu: o.costObjective === 'cpu-latency' };
  // The supernet's costs first: a target that cannot cost it fails here, before any search.
  const superCosts = await subnetCosts(supernet, costOpts);
  const pool = new CandidatePool(supernet, valSubset, { workers: o.workers, costs: costOpts });
  const tSearch = performance.now();
  let search;
  try {
    search = await resumableNsga2<{ subsetMIoU: number; costs: SubnetCosts }>(space, async (genomes, onResult) => {
      const scores = await pool.evaluate(genomes.map(spec), (i, s) => onResult(i, { objectives: [1 - s.mIoU, cost(s.costs)], wallMs: s.wallMs, extra: { subsetMIoU: s.mIoU, costs: s.costs } }));
      say(`fmas: evaluated ${genomes.length} candidates`);
      return scores.map((s) => ({ objectives: [1 - s.mIoU, cost(s.costs)], wallMs: s.wallMs, extra: { subsetMIoU: s.mIoU, costs: s.costs } }));
    }, {
      evaluations: o.population * o.generations, population: o.population, seed: o.seed, log: o.log, signal: hooks.signal,
      // The header names the cost objective with its unit and whether it is an estimate (gap8-like: a cost model, never a device measurement).
      fingerprint: { data: valSubset.name, indices, costObjective: o.costObjective, objective: objectiveLabel, filterChoice: o.filterChoice, supernet: supernet.name },
    });
  } finally {
    await pool.close();
  }
  const searchMs = performance.now() - tSearch;
  if (search.interrupted) throw new Error(`fmas: search interrupted after ${search.trials.length} evaluations; rerun with the same log (${o.log ?? 'no log given'}) to resume`);

  const toCandidate = (t: (typeof search.trials)[number]): Candidate => ({
    id: t.id, round: t.round, genome: t.genome, choices: decodeGenome(space, t.genome), objectives: [t.value[0]!, t.value[1]!],
    subsetMIoU: t.extra.subsetMIoU, costs: t.extra.costs, wallMs: t.wallMs,
  });
  const evaluated = search.trials.map(toCandidate);
  const searchFront = search.front.map(toCandidate).sort((a, b) => a.objectives[1] - b.objectives[1]);

  // Final stage: fine-tune the front on the full training set, score on test.
  const executor = createExecutor('ort-node', { threads: 1 });
  const superSubset = await segmentationMIoU(executor, supernet, valSubset);
  const superTest = await segmentationMIoU(executor, supernet, data.test);
  const ft = async (g: Graph) => (o.finetuneEpochs > 0
    ? trainSegmenter(g, data.train, { epochs: o.finetuneEpochs, batchSize: o.batchSize, lr: o.lr, seed: o.seed, executor })
    : { graph: g, totalMs: 0 });
  say('fmas: fine-tuning the supernet (compute-matched reference)');
  const superFt = await ft(supernet);
  const superFtTest = await segmentationMIoU(executor, superFt.graph, data.test);
  const finals: FinalCandidate[] = [];
  const finalGraphs: Graph[] = [];
  for (const c of spread(searchFront, o.maxFinetune)) {
    say(`fmas: fine-tuning candidate ${c.id} (${finals.length + 1}/${Math.min(searchFront.length, o.maxFinetune)})`);
    const { graph } = sliceChannels(supernet, spec(c.genome));
    const before = await segmentationMIoU(executor, graph, data.test);
    const tuned = await ft(graph);
    const after = await segmentationMIoU(executor, tuned.graph, data.test);
    finals.push({ ...c, testMIoUBeforeFinetune: before, testMIoU: after, finetuneMs: tuned.totalMs, nonDominated: false });
    finalGraphs.push(tuned.graph);
  }
  await executor.dispose();
  const finalObjs = finals.map((f) => [1 - f.testMIoU, f.objectives[1]]);
  for (const i of nonDominatedSort(finalObjs)[0] ?? []) finals[i]!.nonDominated = true;

  const superCost = cost(superCosts);
  const reference: [number, number] = [1, 1.1];
  const norm = (err: number, c: number) => [err, c / superCost];
  const meanFt = finals.length ? finals.reduce((a, f) => a + f.finetuneMs, 0) / finals.length : 0;
  const ftTotal = finals.reduce((a, f) => a + f.finetuneMs, 0);
  const meanEval = evaluated.reduce((a, c) => a + c.wallMs, 0) / Math.max(1, evaluated.length);
  const ablation = searchMs + evaluated.length * meanFt;
  return {
    options: o,
    genes: space.genes.map((g) => ({ name: g.name, options: g.options })),
    costObjective: objectiveLabel,
    searchSubset: { name: valSubset.name, size: k, indices },
    supernet: { costs: superCosts, subsetMIoU: superSubset, testMIoU: superTest, finetunedTestMIoU: superFtTest, finetuneMs: superFt.totalMs },
    evaluated,
    searchFront,
    finalFront: finals,
    hypervolume: {
      search: hypervolume(searchFront.map((c) => norm(c.objectives[0], c.objectives[1])), reference),
      final: hypervolume(finals.map((f) => norm(1 - f.testMIoU, f.objectives[1])), reference),
      reference,
      note: 'objectives (1 − mIoU, cost / supernet cost); search: search-subset mIoU without fine-tuning; final: test mIoU after fine-tuning',
    },
    finalGraphs,
    rankCorrelation: kendallTau(finals.map((f) => f.subsetMIoU), finals.map((f) => f.testMIoU)),
    time: {
      searchMs, evaluatedNow: search.evaluatedNow, meanEvalMs: meanEval, meanFinetuneMs: meanFt, finetuneTotalMs: ftTotal,
      ablationEstimateMs: ablation, fmasMs: searchMs + ftTotal, savedMs: ablation - (searchMs + ftTotal),
    },
    wallMs: performance.now() - t0,
  };
}
