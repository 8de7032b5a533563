import { Rng } from '@tessera/core';
import { genomeKey, randomGenome, spaceSize, validateSpace, type CategoricalSpace, type Genome, type Trial } from './space.js';

export interface TpeOptions {
  /** Total evaluations, random start included. */
  evaluations: number;
  /** Random evaluations before the densities are used (default 10). */
  nInit?: number;
  /** Candidates drawn from the good density per iteration (default 64). */
  candidates?: number;
  /**
   * How trials are split into good and bad:
   * - 'quantile' (plain TPE, Bergstra et al. 2011): the best ceil(gamma * n) are good, the rest bad;
   * - 'kmeans' (cluster-based TPE, Azizi et al. 2023 [R details]): 1-D k-means on the objective
   *   values, good = the lowest cluster, bad = the highest, middle clusters unused.
   */
  splitter?: 'quantile' | 'kmeans';
  /** Good fraction for the quantile split (default 0.25). */
  gamma?: number;
  /** Clusters for the k-means split (default 3). */
  k?: number;
  /** Weight of the uniform prior in each categorical Parzen estimator (default 1). */
  priorWeight?: number;
  seed?: number;
}

export interface TpeResult {
  trials: Trial<number>[];
  best: Trial<number>;
}

/** The good and bad index sets of a TPE split (exported so tests and plugins can inspect the split). */
export function splitTrials(values: readonly number[], opts: Pick<TpeOptions, 'splitter' | 'gamma' | 'k'>, rng: Rng): { good: number[]; bad: number[] } {
  const order = values.map((_, i) => i).sort((a, b) => values[a]! - values[b]! || a - b);
  if ((opts.splitter ?? 'quantile') === 'quantile') {
    const nGood = Math.max(1, Math.ceil((opts.gamma ?? 0.25) * values.length));
    return { good: order.slice(0, nGood), bad: order.slice(nGood) };
  }
  const labels = kmeans1d(values, opts.k ?? 3, rng);
  const k = Math.max(...labels) + 1;
  const good = order.filter((i) => labels[i] === 0);
  const bad = order.filter((i) => labels[i] === k - 1);
  return k === 1 ? { good, bad: [] } : { good, bad };
}

/**
 * 1-D k-means with k-means++ seeding; returns a cluster label per value, labels ordered by cluster
 * mean (0 = lowest). Fewer clusters come back when there are fewer distinct values than k.
 */
export function kmeans1d(values: readonly number[], k: number, rng: Rng): number[] {
  const distinct = [...new Set(values)].sort((a, b) => a - b);
  const kk = Math.min(k, distinct.length);
  const centers: number[] = [distinct[rng.int(distinct.length)]!];
  while (centers.length < kk) {
    const d2 = values.map((v) => Math.min(...centers.map((c) => (v - c) ** 2)));
    const sum = d2.reduce((a, b) => a + b, 0);
    let r = rng.uniform() * sum;
    let pick = values.length - 1;
    for (let i = 0; i < values.length; i++) {
      r -= d2[i]!;
      if (r < 0) {
        pick = i;
        break;
      }
    }
    if (centers.includes(values[pick]!)) centers.push(distinct.find((v) => !centers.includes(v))!);
    else centers.push(values[pick]!);
  }
  let labels = values.map(() => 0);
  for (let iter = 0; iter < 100; iter++) {
    const next = values.map((v) => {
      let best = 0;
      for (let c = 1; c < centers.length; c++) if (Math.abs(v - centers[c]!) < Math.abs(v - centers[best]!)) best = c;
      return best;
    });
    for (let c = 0; c < centers.length; c++) {
      const members = values.filter((_, i) => next[i] === c);
      if (members.length > 0) centers[c] = members.reduce((a, b) => a + b, 0) / members.length;
    }
    const same = next.every((l, i) => l === labels[i]);
    labels = next;
    if (same && iter > 0) break;
  }
  // Relabel by ascending centre, dropping empty clusters.
  const used = [...new Set(labels)].sort((a, b) => centers[a]! - centers[b]!);
  return labels.map((l) => used.indexOf(l));
}

/** Categorical Parzen estimator per gene: (count(v) + a * prior(v)) / (n + a), prior uniform. */
function parzen(space: CategoricalSpace, genomes: readonly Genome[], a: number): Float64Array[] {
  return space.genes.map((g, d) => {
    const k = g.options.length;
    const p = new Float64Array(k).fill(a / k);
    for (const x of genomes) p[x[d]!]! += 1;
    for (let v = 0; v < k; v++) p[v]! /= genomes.length + a;
    return p;
  });
}

/**
 * Tree-structured Parzen estimator for categorical spaces, minimising a scalar objective. Each
 * iteration draws `candidates` genomes from the good density l(x) and evaluates the one with the
 * largest l(x)/g(x) that was not evaluated before.
 */
export async function tpe(space: CategoricalSpace, evaluate: (g: Genome) => number | Promise<number>, opts: TpeOptions): Promise<TpeResult> {
  validateSpace(space);
  const rng = new Rng(opts.seed ?? 0);
  const budget = Math.min(opts.evaluations, spaceSize(space));
  const nInit = Math.min(opts.nInit ?? 10, budget);
  const nCand = opts.candidates ?? 64;
  const a = opts.priorWeight ?? 1;
  const trials: Trial<number>[] = [];
  const seen = new Set<string>();
  const run = async (g: Genome, round: number) => {
    seen.add(genomeKey(g));
    const t0 = performance.now();
    const value = await evaluate(g);
    trials.push({ id: trials.length, genome: g, value, wallMs: performance.now() - t0, round });
  };
  while (trials.length < nInit) {
    const g = randomGenome(space, rng);
    if (!seen.has(genomeKey(g))) await run(g, 0);
  }
  let round = 0;
  while (trials.length < budget) {
    round++;
    const values = trials.map((t) => t.value);
    const { good, bad } = splitTrials(values, opts, rng);
    const l = parzen(space, good.map((i) => trials[i]!.genome), a);
    const g = parzen(space, bad.map((i) => trials[i]!.genome), a);
    let best: Genome | undefined;
    let bestScore = -Infinity;
    for (let c = 0; c < nCand; c++) {
      const x = l.map((p) => sampleCategorical(p, rng));
      if (seen.has(genomeKey(x))) continue;
      let score = 0;
      for (let d = 0; d < x.length; d++) score += Math.log(l[d]![x[d]!]!) - Math.log(g[d]![x[d]!]!);
      if (score > bestScore) {
        bestScore = score;
        best = x;
      }
    }
    while (!best) {
      const x = randomGenome(space, rng);
      if (!seen.has(genomeKey(x))) best = x;
    }
    await run(best, round);
  }
  const best = trials.reduce((b, t) => (t.value < b.value ? t : b));
  return { trials, best };
}

function sampleCategorical(p: Float64Array, rng: Rng): number {
  let r = rng.uniform();
  for (let v = 0; v < p.length; v++) {
    r -= p[v]!;
    if (r < 0) return v;
  }
  return p.length - 1;
}
