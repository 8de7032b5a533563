import { Rng } from '@tessera/core';
import { datasetSize, labelAt, subset, type Dataset } from './dataset.js';

/** Three disjoint splits: train for fitting, search for selection/calibration, test for the final report only. */
export interface DataSplits {
  train: Dataset;
  /** Search, calibration, threshold tuning and model selection use this split, never test. */
  search: Dataset;
  /** The official test set, untouched by any selection. */
  test: Dataset;
}

export interface SplitOptions {
  /** Size of the search split: a count (>= 1) or a fraction of the official train set (< 1). */
  search: number;
  /** Cap on the train split (taken after the search split is removed); default: all the rest. */
  train?: number;
  /** Cap on the test split (a seeded, stratified subset of the official test set); default: all of it. */
  test?: number;
  seed: number;
  /** Keep class proportions in every split (per-example labels only); default true. */
  stratified?: boolean;
}

function resolveCount(v: number, n: number, field: string): number {
  const k = v < 1 ? Math.round(v * n) : Math.round(v);
  if (!(k >= 0 && k <= n)) throw new Error(`split option '${field}' = ${v} selects ${k} examples, the dataset has ${n}`);
  return k;
}

/**
 * A seeded permutation of 0..n-1 in which, when stratified, the classes are interleaved in
 * proportion, so that any prefix holds each class in its share (round-robin over shuffled
 * per-class lists, ordered by fractional position).
 */
function orderFor(ds: Dataset, rng: Rng, stratified: boolean): Int32Array {
  const n = datasetSize(ds);
  if (!stratified || ds.y.rank !== 1) return rng.permutation(n);
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const c = labelAt(ds, i);
    let list = byClass.get(c);
    if (!list) byClass.set(c, (list = []));
    list.push(i);
  }
  const keyed: Array<[number, number]> = [];
  for (const list of [...byClass.keys()].sort((a, b) => a - b).map((c) => byClass.get(c)!)) {
    rng.shuffle(list);
    // Example j of a class with m members sits at position (j + u) / m, u a per-class offset.
    const u = rng.uniform();
    list.forEach((idx, j) => keyed.push([(j + u) / list.length, idx]));
  }
  keyed.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  return Int32Array.from(keyed, (k) => k[1]);
}

/** `k` examples chosen by seed; stratified (class proportions kept) by default. */
export function sampleSubset(ds: Dataset, k: number, seed: number, opts: { stratified?: boolean; name?: string } = {}): Dataset {
  const n = datasetSize(ds);
  const count = resolveCount(k, n, 'k');
  const order = orderFor(ds, new Rng(seed), opts.stratified ?? true);
  return subset(ds, order.subarray(0, count), opts.name ?? ds.name);
}

/** The first `perClass` examples of each class after a seeded shuffle (balanced subset). */
export function perClassSubset(ds: Dataset, perClass: number, seed: number): Dataset {
  const order = new Rng(seed).permutation(datasetSize(ds));
  const taken = new Map<number, number>();
  const picks: number[] = [];
  for (const i of order) {
    const c = labelAt(ds, i);
    const t = taken.get(c) ?? 0;
    if (t < perClass) {
      picks.push(i);
      taken.set(c, t + 1);
    }
  }
  for (let c = 0; c < ds.classes.length; c++) {
    if ((taken.get(c) ?? 0) < perClass) throw new Error(`perClassSubset: "${ds.name}" has only ${taken.get(c) ?? 0} examples of class ${c}, asked for ${perClass}`);
  }
  picks.sort((a, b) => a - b);
  return subset(ds, picks);
}

/**
 * Splits the official train set into disjoint train and search parts by seed, and keeps the
 * official test set as test (optionally a seeded subset of it, for fast experiments).
 */
export function splitTrainSearchTest(data: { train: Dataset; test: Dataset }, opts: SplitOptions): DataSplits {
  const n = datasetSize(data.train);
  const stratified = opts.stratified ?? true;
  const rng = new Rng(opts.seed);
  const order = orderFor(data.train, rng.fork(1), stratified);
  const nSearch = resolveCount(opts.search, n, 'search');
  const rest = n - nSearch;
  const nTrain = opts.train === undefined ? rest : resolveCount(opts.train, rest, 'train');
  const base = data.train.name.replace(/\/train$/, '');
  const searchIdx = order.slice(0, nSearch).sort();
  const trainIdx = order.slice(nSearch, nSearch + nTrain).sort();
  const test = opts.test === undefined
    ? data.test
    : sampleSubset(data.test, opts.test, rng.fork(2).nextU32(), { stratified, name: data.test.name });
  return {
    train: subset(data.train, trainIdx, `${base}/train`),
    search: subset(data.train, searchIdx, `${base}/search`),
    test,
  };
}
