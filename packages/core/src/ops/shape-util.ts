import type { Dim, ValueType } from '../graph.js';
import type { DType } from '../dtype.js';

/** Numpy-style broadcasting of two shapes; throws naming both shapes when they cannot broadcast. */
export function broadcastShapes(a: readonly Dim[], b: readonly Dim[]): Dim[] {
  const n = Math.max(a.length, b.length);
  const out: Dim[] = new Array(n);
  for (let i = 0; i < n; i++) {
    // Missing leading dims broadcast as 1; an unknown (null) dim stays unknown.
    const ia = a.length - n + i;
    const ib = b.length - n + i;
    const x = ia < 0 ? 1 : a[ia]!;
    const y = ib < 0 ? 1 : b[ib]!;
    if (x === 1) out[i] = y;
    else if (y === 1) out[i] = x;
    else if (x === y) out[i] = x;
    else if (x === null || y === null) out[i] = x ?? y;
    else if (typeof x === 'number' && typeof y === 'number') {
      throw new Error(`shapes [${a.join(', ')}] and [${b.join(', ')}] cannot broadcast`);
    } else out[i] = typeof x === 'number' ? x : typeof y === 'number' ? y : x;
  }
  return out;
}

/** Broadcast of any number of input types; unknown rank propagates as unknown. */
export function broadcastTypes(types: (ValueType | undefined)[], dtype?: DType): ValueType | undefined {
  const first = types.find((t) => t);
  if (!first) return undefined;
  const d = dtype ?? first.dtype;
  let shape: Dim[] | undefined = [];
  for (const t of types) {
    if (!t?.shape) { shape = undefined; break; }
    shape = broadcastShapes(shape, t.shape);
  }
  return shape ? { dtype: d, shape } : { dtype: d };
}
