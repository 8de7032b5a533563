import { Tensor } from '@tessera/core';

/** Indices `idx` of `t` along `axis`, as a new tensor. */
export function takeAlong(t: Tensor, idx: readonly number[], axis: number): Tensor {
  const shape = [...t.shape];
  const outer = shape.slice(0, axis).reduce((a, c) => a * c, 1);
  const inner = shape.slice(axis + 1).reduce((a, c) => a * c, 1);
  const dim = shape[axis]!;
  shape[axis] = idx.length;
  const out = Tensor.zeros(t.dtype, shape);
  const src = t.data as Float32Array;
  const dst = out.data as Float32Array;
  for (let o = 0; o < outer; o++) {
    for (let k = 0; k < idx.length; k++) {
      const from = (o * dim + idx[k]!) * inner;
      dst.set(src.subarray(from, from + inner), (o * idx.length + k) * inner);
    }
  }
  return out;
}

/** Writes `part` into `t` at indices `idx` along `axis` (in place). */
export function putAlong(t: Tensor, part: Tensor, idx: readonly number[], axis: number): void {
  const outer = t.shape.slice(0, axis).reduce((a, c) => a * c, 1);
  const inner = t.shape.slice(axis + 1).reduce((a, c) => a * c, 1);
  const dim = t.shape[axis]!;
  const src = part.data as Float32Array;
  const dst = t.data as Float32Array;
  for (let o = 0; o < outer; o++) {
    for (let k = 0; k < idx.length; k++) {
      const from = (o * idx.length + k) * inner;
      dst.set(src.subarray(from, from + inner), (o * dim + idx[k]!) * inner);
    }
  }
}

export function bytesOf(t: Tensor): number {
  return (t.data as Float32Array).byteLength;
}
