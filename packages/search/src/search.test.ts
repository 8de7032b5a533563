import { describe, expect, it } from 'vitest';
import { Rng } from '@tessera/core';
import {
  crowdingDistance, dominates, enumerateSpace, hypervolume, kmeans1d, kneePoint, nonDominatedSort, nsga2,
  paretoFront, randomSearch, splitTrials, toyObjectives, toyReference, toySpace, tpe, decodeGenome,
} from './index.js';

describe('Pareto utilities', () => {
  it('dominance and non-dominated sort on a hand-made set', () => {
    expect(dominates([1, 2], [2, 2])).toBe(true);
    expect(dominates([1, 2], [1, 2])).toBe(false);
    expect(dominates([1, 3], [2, 2])).toBe(false);
    const pts = [[1, 5], [2, 3], [4, 1], [3, 4], [5, 5], [2, 3]];
    expect(nonDominatedSort(pts)).toEqual([[0, 1, 2, 5], [3], [4]]);
    expect(paretoFront(pts)).toEqual([[1, 5], [2, 3], [4, 1]]);
  });

  it('crowding distance: boundaries infinite, inner points sum normalised gaps', () => {
    const d = crowdingDistance([[0, 4], [1, 2], [2, 1], [4, 0]]);
    expect(d[0]).toBe(Infinity);
    expect(d[3]).toBe(Infinity);
    // point 1: (2-0)/4 + (4-1)/4 = 1.25 ; point 2: (4-1)/4 + (2-0)/4 = 1.25
    expect(d[1]).toBeCloseTo(1.25, 12);
    expect(d[2]).toBeCloseTo(1.25, 12);
  });
});

describe('hypervolume', () => {
  it('2-D: sum of rectangles on a hand-made front', () => {
    // ref (4,4): (1,3) -> 3x1, (2,2) -> 2x1, (3,1) -> 1x1 => 6
    expect(hypervolume([[1, 3], [2, 2], [3, 1]], [4, 4])).toBe(6);
    expect(hypervolume([[1, 3], [2, 2], [3, 1], [3, 3], [5, 0]], [4, 4])).toBe(6);
    expect(hypervolume([], [4, 4])).toBe(0);
  });

  it('3-D: single box, and two overlapping boxes by inclusion-exclusion', () => {
    expect(hypervolume([[1, 1, 1]], [3, 3, 3])).toBe(8);
    // boxes [1,3]x[2,3]x[0,3]... a=(1,2,0): 2*1*3=6 ; b=(2,1,1): 1*2*2=4 ; overlap (2,2,1): 1*1*2=2 => 8
    expect(hypervolume([[1, 2, 0], [2, 1, 1]], [3, 3, 3])).toBe(8);
  });

  it('n-D agrees with Monte Carlo on a random 4-D front', () => {
    const rng = new Rng(3);
    const pts = Array.from({ length: 12 }, () => [rng.uniform(), rng.uniform(), rng.uniform(), rng.uniform()]);
    const ref = [1, 1, 1, 1];
    const exact = hypervolume(pts, ref);
    let hit = 0;
    const n = 200_000;
    for (let i = 0; i < n; i++) {
      const x = [rng.uniform(), rng.uniform(), rng.uniform(), rng.uniform()];
      if (pts.some((p) => p.every((v, k) => v <= x[k]!))) hit++;
    }
    expect(Math.abs(hit / n - exact)).toBeLessThan(0.005);
  });
});

describe('knee point', () => {
  it('picks the point farthest below the line joining the extremes', () => {
    // line x/10 + y/100 = 1: (1,50) is 0.4 below it, (3,20) 0.5, (6,5) 0.35; (6,60) is dominated
    const pts = [[0, 100], [1, 50], [3, 20], [6, 5], [10, 0], [6, 60]];
    expect(kneePoint(pts)).toBe(2);
  });
});

describe('TPE', () => {
  it('k-means split: good = lowest cluster, bad = highest, middle unused', () => {
    const values = [0.1, 0.12, 0.11, 0.5, 0.52, 0.9, 0.95, 0.91];
    expect(kmeans1d(values, 3, new Rng(1))).toEqual([0, 0, 0, 1, 1, 2, 2, 2]);
    const split = splitTrials(values, { splitter: 'kmeans', k: 3 }, new Rng(1));
    expect(split.good).toEqual([0, 2, 1]);
    expect(split.bad).toEqual([5, 7, 6]);
    expect(splitTrials(values, { splitter: 'quantile', gamma: 0.25 }, new Rng(1)).good).toEqual([0, 2]);
  });

  it('both splitters beat random search on a scalarised toy objective (mean of 3 seeds)', async () => {
    const f = (g: number[]) => {
      const [c, e] = toyObjectives(g);
      return c / toyReference[0] + e / toyReference[1];
    };
    const all = enumerateSpace(toySpace).map(f);
    const optimum = Math.min(...all);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const seeds = [1, 2, 3];
    const gap = async (fn: (seed: number) => Promise<number>) => mean(await Promise.all(seeds.map(fn))) - optimum;
    const tq = await gap(async (s) => (await tpe(toySpace, f, { evaluations: 60, seed: s })).best.value);
    const tk = await gap(async (s) => (await tpe(toySpace, f, { evaluations: 60, seed: s, splitter: 'kmeans' })).best.value);
    const rnd = await gap(async (s) => Math.min(...(await randomSearch(toySpace, (g) => [f(g)], { evaluations: 60, seed: s })).trials.map((t) => t.value[0]!)));
    expect(tq).toBeLessThan(rnd);
    expect(tk).toBeLessThan(rnd);
  });
});

describe('NSGA-II on the enumerable toy problem of spec B3', () => {
  const truth = hypervolume(enumerateSpace(toySpace).map(toyObjectives), toyReference);

  it('decodes genomes and logs every evaluation', async () => {
    expect(decodeGenome(toySpace, [0, 1, 2, 3, 0, 1])).toEqual({ layer0: 1, layer1: 2, layer2: 3, layer3: 4, layer4: 1, layer5: 2 });
    const r = await nsga2(toySpace, toyObjectives, { evaluations: 100, population: 20, seed: 5 });
    expect(r.trials).toHaveLength(100);
    expect(new Set(r.trials.map((t) => t.genome.join())).size).toBe(100);
    expect(r.trials.every((t, i) => t.id === i && t.wallMs >= 0)).toBe(true);
    expect(r.population).toHaveLength(20);
  });

  it('batch evaluation gives exactly the trials of one-at-a-time evaluation (same seed, population, budget)', async () => {
    const ref = await nsga2(toySpace, (g) => toyObjectives(g), { evaluations: 120, population: 16, seed: 3 });
    const batches: number[] = [];
    const got = await nsga2(toySpace, {
      evaluateBatch: async (genomes) => {
        batches.push(genomes.length);
        return genomes.map(toyObjectives);
      },
    }, { evaluations: 120, population: 16, seed: 3 });
    expect(got.trials.map((t) => [t.id, t.genome, t.value, t.round])).toEqual(ref.trials.map((t) => [t.id, t.genome, t.value, t.round]));
    expect(got.front.map((t) => t.id)).toEqual(ref.front.map((t) => t.id));
    expect(got.population).toEqual(ref.population);
    expect(got.interrupted).toBe(false);
    // One batch per generation: the initial population, then each generation's children.
    expect(batches[0]).toBe(16);
    expect(batches.reduce((a, b) => a + b, 0)).toBe(120);
    expect(batches).toHaveLength(new Set(ref.trials.map((t) => t.round)).size);
  });

  it('an aborted signal stops the search after the evaluation in flight; a batch of the wrong length is refused', async () => {
    const ac = new AbortController();
    const batched = await nsga2(toySpace, { evaluateBatch: async (gs) => { ac.abort(); return gs.map(toyObjectives); } }, { evaluations: 96, population: 16, seed: 5, signal: ac.signal });
    expect(batched.interrupted).toBe(true);
    expect(batched.trials).toHaveLength(16);
    const ac1 = new AbortController();
    let calls = 0;
    const single = await nsga2(toySpace, (g) => { if (++calls === 7) ac1.abort(); return toyObjectives(g); }, { evaluations: 96, population: 16, seed: 5, signal: ac1.signal });
    expect(single.interrupted).toBe(true);
    expect(single.trials.map((t) => t.genome)).toEqual(batched.trials.slice(0, 7).map((t) => t.genome));
    await expect(nsga2(toySpace, { evaluateBatch: async (gs) => gs.slice(1).map(toyObjectives) }, { evaluations: 32, population: 16, seed: 5 }))
      .rejects.toThrow('nsga2: evaluateBatch returned 15 objective vectors for 16 genomes; return one per genome, in order');
  });

  it('reaches >= 90% of the true front hypervolume in 600 evaluations and beats random sampling', async () => {
    const seeds = [11, 12, 13, 14];
    const ratio = async (run: (seed: number) => Promise<{ trials: { value: number[] }[] }>) => {
      const rs = await Promise.all(seeds.map(async (s) => hypervolume((await run(s)).trials.map((t) => t.value), toyReference) / truth));
      return rs.reduce((a, b) => a + b, 0) / rs.length;
    };
    const ga = await ratio((s) => nsga2(toySpace, toyObjectives, { evaluations: 600, population: 40, seed: s }));
    const rnd = await ratio((s) => randomSearch(toySpace, toyObjectives, { evaluations: 600, seed: s }));
    expect(ga).toBeGreaterThanOrEqual(0.9);
    expect(ga).toBeGreaterThan(rnd);
  });
});
