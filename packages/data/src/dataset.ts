import { Tensor, sizeOf } from '@tessera/core';

/** Where a dataset comes from and under which terms it may be used. */
export interface DatasetSource {
  /** One line: who made it, or which generator and settings produced it. */
  description: string;
  /** SPDX-style licence name, or 'generated (Apache-2.0, this project)'. */
  licence: string;
  url?: string;
}

/**
 * A labelled dataset held in memory. `x` is float32 for images and point clouds ([N, ...]) and
 * int64 for token sequences ([N, T]); `y` is int64: one label per example ([N]), per pixel
 * ([N, H, W]) or per point / token ([N, P]). `classes` names the label values 0..C-1.
 */
export interface Dataset {
  name: string;
  x: Tensor;
  y: Tensor;
  classes: readonly string[];
  source: DatasetSource;
}

export function datasetSize(ds: Dataset): number {
  return ds.x.shape[0] ?? 0;
}

/** Rows `indices` of a tensor along its first axis, as a new tensor. */
export function takeRows(t: Tensor, indices: ArrayLike<number>): Tensor {
  const n = t.shape[0] ?? 0;
  const row = sizeOf(t.shape.slice(1));
  const out = Tensor.zeros(t.dtype, [indices.length, ...t.shape.slice(1)]);
  const src = t.data as unknown as { subarray(a: number, b: number): ArrayLike<unknown> };
  const dst = out.data as unknown as { set(a: ArrayLike<unknown>, at: number): void };
  if (Array.isArray(t.data)) {
    const s = t.data;
    const d = out.data as string[];
    for (let i = 0; i < indices.length; i++) for (let j = 0; j < row; j++) d[i * row + j] = s[indices[i]! * row + j]!;
    return out;
  }
  for (let i = 0; i < indices.length; i++) {
    const r = indices[i]!;
    if (!(r >= 0 && r < n) || !Number.isInteger(r)) throw new Error(`takeRows: index ${r} is outside 0..${n - 1}`);
    dst.set(src.subarray(r * row, (r + 1) * row), i * row);
  }
  return out;
}

/** The examples at `indices` (in that order), keeping name, classes and source. */
export function subset(ds: Dataset, indices: ArrayLike<number>, name = ds.name): Dataset {
  return { name, x: takeRows(ds.x, indices), y: takeRows(ds.y, indices), classes: ds.classes, source: ds.source };
}

/** Label of example i for per-example datasets (y of shape [N]). */
export function labelAt(ds: Dataset, i: number): number {
  if (ds.y.rank !== 1) throw new Error(`dataset "${ds.name}": labelAt needs per-example labels (y of shape [N]), y is [${ds.y.shape.join(', ')}]`);
  return Number((ds.y.data as BigInt64Array)[i]!);
}

/** How many labels of each class (over every element of y, so per-pixel datasets count pixels). */
export function classCounts(ds: Dataset): number[] {
  const counts = new Array<number>(ds.classes.length).fill(0);
  const y = ds.y.data as BigInt64Array;
  for (let i = 0; i < y.length; i++) {
    const c = Number(y[i]!);
    if (c >= 0 && c < counts.length) counts[c]!++;
  }
  return counts;
}

/** Concatenates datasets along the first axis (same element shape, classes and dtype). */
export function concatDatasets(parts: Dataset[], name = parts[0]?.name ?? 'concat'): Dataset {
  const first = parts[0];
  if (!first) throw new Error('concatDatasets: no datasets given');
  const cat = (key: 'x' | 'y') => {
    const inner = first[key].shape.slice(1);
    const n = parts.reduce((s, p) => s + (p[key].shape[0] ?? 0), 0);
    const out = Tensor.zeros(first[key].dtype, [n, ...inner]);
    let at = 0;
    for (const p of parts) {
      if (p[key].dtype !== first[key].dtype || p[key].shape.slice(1).join() !== inner.join()) {
        throw new Error(`concatDatasets: "${p.name}".${key} is ${p[key].dtype}[${p[key].shape.join(', ')}], expected ${first[key].dtype}[N, ${inner.join(', ')}]`);
      }
      (out.data as unknown as { set(a: ArrayLike<unknown>, at: number): void }).set(p[key].data as ArrayLike<unknown>, at);
      at += p[key].size;
    }
    return out;
  };
  return { name, x: cat('x'), y: cat('y'), classes: first.classes, source: first.source };
}
