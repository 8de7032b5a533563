import type { Tensor } from '@tessera/core';

export interface Tolerance {
  rtol?: number;
  atol?: number;
}

/**
 * Compares a result with an expected tensor as ONNX's backend tests do (numpy assert_allclose
 * with equal_nan): same dtype and shape, |actual - expected| <= atol + rtol * |expected|,
 * NaN equals NaN, infinities must match exactly. Returns undefined when they agree, else one line.
 */
export function tensorMismatch(actual: Tensor, expected: Tensor, tol: Tolerance = {}): string | undefined {
  const rtol = tol.rtol ?? 1e-3;
  const atol = tol.atol ?? 1e-7;
  if (actual.dtype !== expected.dtype) return `dtype ${actual.dtype}, expected ${expected.dtype}`;
  if (actual.shape.length !== expected.shape.length || actual.shape.some((d, i) => d !== expected.shape[i])) {
    return `shape [${actual.shape.join(', ')}], expected [${expected.shape.join(', ')}]`;
  }
  if (actual.dtype === 'string') {
    const a = actual.data as string[];
    const e = expected.data as string[];
    for (let i = 0; i < a.length; i++) if (a[i] !== e[i]) return `element ${i}: '${a[i]}', expected '${e[i]}'`;
    return undefined;
  }
  if (actual.dtype === 'int64' || actual.dtype === 'uint64') {
    const a = actual.data as BigInt64Array;
    const e = expected.data as BigInt64Array;
    for (let i = 0; i < a.length; i++) if (a[i] !== e[i]) return `element ${i}: ${a[i]}, expected ${e[i]}`;
    return undefined;
  }
  let worst = -1;
  let worstErr = 0;
  let bad = 0;
  for (let i = 0; i < actual.size; i++) {
    const x = actual.getFlat(i);
    const y = expected.getFlat(i);
    if (x === y || (Number.isNaN(x) && Number.isNaN(y))) continue;
    const err = Math.abs(x - y);
    if (!(err <= atol + rtol * Math.abs(y))) {
      bad++;
      if (!(err <= worstErr)) { worstErr = err; worst = i; }
    }
  }
  if (bad === 0) return undefined;
  return `${bad} of ${actual.size} elements differ; worst at ${worst}: ${actual.getFlat(worst)}, expected ${expected.getFlat(worst)} (rtol ${rtol}, atol ${atol})`;
}
