import { describe, expect, it } from 'vitest';
import { Tensor } from '@tessera/core';
import { classCounts, labelAt, type Dataset } from './dataset.js';
import { perClassSubset, sampleSubset, splitTrainSearchTest } from './splits.js';

/** A dataset whose x holds each example's own index, so splits can be traced back. */
function indexed(n: number, classes: number, name = 'toy/train'): Dataset {
  return {
    name,
    x: Tensor.from(Array.from({ length: n }, (_, i) => i), [n, 1]),
    y: Tensor.from(Array.from({ length: n }, (_, i) => (i * 7) % classes), [n], 'int64'),
    classes: Array.from({ length: classes }, (_, c) => `c${c}`),
    source: { description: 'test', licence: 'generated (Apache-2.0, this project)' },
  };
}

const ids = (ds: Dataset) => [...(ds.x.data as Float32Array)];

describe('splitTrainSearchTest', () => {
  const data = { train: indexed(1000, 10), test: indexed(300, 10, 'toy/test') };

  it('makes disjoint train and search splits covering the official train set, and keeps test as is', () => {
    const s = splitTrainSearchTest(data, { search: 0.2, seed: 3 });
    const tr = new Set(ids(s.train));
    const se = ids(s.search);
    expect(se).toHaveLength(200);
    expect(tr.size).toBe(800);
    expect(se.filter((i) => tr.has(i))).toEqual([]);
    expect(s.test).toBe(data.test);
    expect(s.search.name).toBe('toy/search');
  });

  it('is stratified, seeded and reproducible', () => {
    const a = splitTrainSearchTest(data, { search: 100, train: 300, test: 50, seed: 7 });
    const b = splitTrainSearchTest(data, { search: 100, train: 300, test: 50, seed: 7 });
    const c = splitTrainSearchTest(data, { search: 100, train: 300, test: 50, seed: 8 });
    expect(ids(a.search)).toEqual(ids(b.search));
    expect(ids(a.test)).toEqual(ids(b.test));
    expect(ids(a.search)).not.toEqual(ids(c.search));
    expect(classCounts(a.search)).toEqual(new Array(10).fill(10));
    expect(classCounts(a.train)).toEqual(new Array(10).fill(30));
    expect(classCounts(a.test)).toEqual(new Array(10).fill(5));
  });

  it('names the field when a size is out of range', () => {
    expect(() => splitTrainSearchTest(data, { search: 2000, seed: 1 })).toThrow("split option 'search' = 2000 selects 2000 examples, the dataset has 1000");
  });
});

describe('subset helpers', () => {
  it('perClassSubset takes exactly k of each class; sampleSubset keeps proportions', () => {
    const ds = indexed(500, 5);
    const p = perClassSubset(ds, 12, 1);
    expect(classCounts(p)).toEqual([12, 12, 12, 12, 12]);
    expect(ids(p)).toEqual([...ids(p)].sort((a, b) => a - b));
    const s = sampleSubset(ds, 50, 2);
    expect(classCounts(s)).toEqual([10, 10, 10, 10, 10]);
    expect(labelAt(s, 0)).toBe(((ids(s)[0]! * 7) % 5));
    expect(() => perClassSubset(ds, 200, 1)).toThrow(/has only 100 examples of class 0, asked for 200/);
  });
});
