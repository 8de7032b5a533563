import type { GeluTables, LayerNormTables, SoftmaxTables } from './tables.js';

/**
 * Per-element reference kernels of the three approximations, in float64. They use only what the
 * hardware units have: exponent extraction (leading-one detection, here the IEEE exponent bits),
 * multiplication by 2^k (a shift, here built from exponent bits), comparisons, adds, multiplies
 * and table look-ups. A test scans their source for Math.exp / Math.sqrt / Math.pow / Math.log /
 * Math.tanh and for the division operator.
 */

const F = new Float64Array(1);
const U = new Uint32Array(F.buffer);
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;
const LO = 1 - HI;

/** ⌊log2 |v|⌋ from the exponent bits (the leading-one position); −1023 for 0 and subnormals. */
export function exponentOf(v: number): number {
  F[0] = v;
  return ((U[HI]! >>> 20) & 0x7ff) - 1023;
}

/** 2^k for integer k in [−1022, 1023], assembled from exponent bits (a shift in hardware). */
export function pow2(k: number): number {
  U[LO] = 0;
  U[HI] = (k + 1023) << 20;
  return F[0]!;
}

function clampInt(k: number, lo: number, hi: number): number {
  return k < lo ? lo : k > hi ? hi : k;
}

/**
 * [R] 1/√v ≈ 2^(−⌊e/2⌋)·T[e mod 2][⌊m·2^t⌋] for v = 2^e(1+m): one approximation in place of both
 * the square root and the division. e is clamped to [kmin − 1, kmax] exactly as the lowered graph's
 * comparison ladder resolves it (values outside saturate). pow2Only: 2^(−round(log2 v)/2).
 */
export function lnInvStd(v: number, tb: LayerNormTables): number {
  const e = clampInt(exponentOf(v), tb.kmin - 1, tb.kmax);
  let m = v * pow2(-e) - 1;
  if (tb.pow2Only) {
    const r = m >= 0.41421356237309503 ? e + 1 : e;
    return pow2(-(r >> 1)) * tb.T[r & 1]!;
  }
  const n = 1 << tb.t;
  m = m < 0 ? 0 : m;
  const q = clampInt(Math.floor(m * n), 0, n - 1);
  return pow2(-(e >> 1)) * tb.T[(e & 1) * n + q]!;
}

/** [R] multi-scale reciprocal 1/u ≈ 2^(−k)·R[⌊m·2^t⌋] for u = 2^k(1+m), k clamped to [kmin − 1, kmax]. */
export function msrReciprocal(u: number, R: Float64Array, t: number, kmin: number, kmax: number): number {
  const k = clampInt(exponentOf(u), kmin - 1, kmax);
  const s = pow2(-k);
  const n = 1 << t;
  const q = clampInt(Math.floor((u * s - 1) * n), 0, n - 1);
  return s * R[q]!;
}

/** [S] Padé [2/2] numerator and denominator of e^z: (z² + 6z + 12) / (z² − 6z + 12). */
export function padeParts(z: number): { num: number; den: number } {
  return { num: (z + 6) * z + 12, den: (z - 6) * z + 12 };
}

/** e^z by the Padé [2/2] with its denominator through the multi-scale reciprocal (z should lie in [cutoff, bias]). */
export function padeExp(z: number, tb: SoftmaxTables): number {
  const p = padeParts(z);
  return p.num * msrReciprocal(p.den, tb.R, tb.t, tb.den.kmin, tb.den.kmax);
}

/** [R] continuous piecewise-linear GELU: 0 below −a, x above a, slope·x + intercept on segment ⌊(x + a)·S/(2a)⌋. */
export function geluPwl(x: number, tb: GeluTables): number {
  if (x < -tb.a) return 0;
  if (x > tb.a) return x;
  const s = clampInt(Math.floor((x + tb.a) * tb.scale), 0, tb.segments - 1);
  return tb.slopes[s]! * x + tb.intercepts[s]!;
}

/**
 * [S core, R details] softmax of one row (in place into `out`): z = x − max + bias, entries with
 * z < cutoff give 0, the others the Padé exponential of z clamped to [cutoff, bias], normalised by
 * the multi-scale reciprocal of their sum. A fully masked row (max = −∞) gives zeros, not NaN.
 */
export function softmaxRow(x: ArrayLike<number>, out: Float64Array, bias: number, cutoff: number, tb: SoftmaxTables): void {
  const n = x.length;
  let mx = -Infinity;
  for (let i = 0; i < n; i++) if (x[i]! > mx) mx = x[i]!;
  if (mx < -3.4028234663852886e38) mx = -3.4028234663852886e38;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const z = x[i]! - mx + bias;
    const zc = z < cutoff ? cutoff : z > bias ? bias : z;
    const e = z >= cutoff ? padeExp(zc, tb) : 0;
    out[i] = e;
    sum += e;
  }
  const r = msrReciprocal(sum, tb.R, tb.t, tb.sum.kmin, tb.sum.kmax);
  for (let i = 0; i < n; i++) out[i] = out[i]! * r;
}

/** [R] LayerNorm of one token (in place into `out`): (x − μ)·lnInvStd(var + ε)·γ + β; a zero-variance token gives β. */
export function layerNormRow(x: ArrayLike<number>, out: Float64Array, gamma: ArrayLike<number>, beta: ArrayLike<number>, epsilon: number, invD: number, tb: LayerNormTables): void {
  const d = x.length;
  let s = 0;
  for (let i = 0; i < d; i++) s += x[i]!;
  const mu = s * invD;
  let ss = 0;
  for (let i = 0; i < d; i++) { const c = x[i]! - mu; ss += c * c; }
  const r = lnInvStd(ss * invD + epsilon, tb);
  for (let i = 0; i < d; i++) out[i] = (x[i]! - mu) * r * gamma[i]! + beta[i]!;
}
