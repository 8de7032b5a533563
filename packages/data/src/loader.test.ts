import { describe, expect, it } from 'vitest';
import { Tensor } from '@tessera/core';
import type { Dataset } from './dataset.js';
import { DataLoader } from './loader.js';

const ds: Dataset = {
  name: 'toy',
  x: Tensor.from(Array.from({ length: 103 * 2 }, (_, i) => i), [103, 2]),
  y: Tensor.from(Array.from({ length: 103 }, (_, i) => i % 3), [103], 'int64'),
  classes: ['a', 'b', 'c'],
  source: { description: 'test', licence: 'generated (Apache-2.0, this project)' },
};

const epochIndices = (l: DataLoader, e: number) => [...l.epoch(e)].flatMap((b) => [...b.indices]);

describe('DataLoader', () => {
  it('yields every example once per epoch, with x and y rows matching the indices', () => {
    const l = new DataLoader(ds, { batchSize: 16, seed: 5 });
    const batches = [...l.epoch(0)];
    expect(batches).toHaveLength(7);
    expect(l.length).toBe(7);
    expect(batches.at(-1)!.x.shape).toEqual([7, 2]);
    const all = batches.flatMap((b) => [...b.indices]).sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: 103 }, (_, i) => i));
    const b = batches[2]!;
    b.indices.forEach((idx, k) => {
      expect(b.x.getFlat(2 * k + 1)).toBe(2 * idx + 1);
      expect(b.y.getFlat(k)).toBe(idx % 3);
    });
  });

  it('is deterministic per (seed, epoch) and reshuffles across epochs and seeds', () => {
    const a = new DataLoader(ds, { batchSize: 10, seed: 1 });
    const b = new DataLoader(ds, { batchSize: 10, seed: 1 });
    const c = new DataLoader(ds, { batchSize: 10, seed: 2 });
    expect(epochIndices(a, 3)).toEqual(epochIndices(b, 3));
    expect(epochIndices(a, 3)).not.toEqual(epochIndices(a, 4));
    expect(epochIndices(a, 0)).not.toEqual(epochIndices(c, 0));
  });

  it('keeps order without shuffling and drops the last partial batch on request', () => {
    const l = new DataLoader(ds, { batchSize: 10, shuffle: false, dropLast: true });
    expect(l.length).toBe(10);
    expect(epochIndices(l, 9)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(() => new DataLoader(ds, { batchSize: 0 })).toThrow('DataLoader("toy"): batchSize must be a positive integer, got 0');
  });
});
