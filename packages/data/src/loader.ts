import { Rng, type Tensor } from '@tessera/core';
import { datasetSize, takeRows, type Dataset } from './dataset.js';

export interface Batch {
  x: Tensor;
  y: Tensor;
  /** Indices of the batch's examples in the dataset. */
  indices: Int32Array;
}

export interface LoaderOptions {
  batchSize: number;
  /** Seed of the shuffles; epoch e uses `new Rng(seed).fork(e)`. */
  seed?: number;
  /** Shuffle each epoch (default true); false keeps dataset order. */
  shuffle?: boolean;
  /** Drop the last incomplete batch (default false). */
  dropLast?: boolean;
}

/**
 * Seeded mini-batches over a dataset. The order of an epoch depends only on (seed, epoch), so a
 * run can resume at any epoch and two runs with one seed see identical batches.
 */
export class DataLoader {
  readonly batchSize: number;
  readonly seed: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;

  constructor(readonly dataset: Dataset, opts: LoaderOptions) {
    if (!(Number.isInteger(opts.batchSize) && opts.batchSize >= 1)) {
      throw new Error(`DataLoader("${dataset.name}"): batchSize must be a positive integer, got ${opts.batchSize}`);
    }
    this.batchSize = opts.batchSize;
    this.seed = opts.seed ?? 0;
    this.shuffle = opts.shuffle ?? true;
    this.dropLast = opts.dropLast ?? false;
  }

  get size(): number {
    return datasetSize(this.dataset);
  }

  /** Batches per epoch. */
  get length(): number {
    return this.dropLast ? Math.floor(this.size / this.batchSize) : Math.ceil(this.size / this.batchSize);
  }

  /** The example order of one epoch. */
  order(epoch: number): Int32Array {
    if (!this.shuffle) return Int32Array.from({ length: this.size }, (_, i) => i);
    return new Rng(this.seed).fork(epoch).permutation(this.size);
  }

  *epoch(epoch: number): Generator<Batch> {
    const order = this.order(epoch);
    for (let b = 0; b < this.length; b++) {
      const indices = order.subarray(b * this.batchSize, Math.min(this.size, (b + 1) * this.batchSize));
      yield { x: takeRows(this.dataset.x, indices), y: takeRows(this.dataset.y, indices), indices: indices.slice() };
    }
  }
}
