import { geluExact } from '@tessera/core';
import type { GeluOptions, LayerNormOptions, SoftmaxOptions } from './options.js';

/**
 * Constant tables (the ROM contents of the hardware units) and compile-time constants. This is
 * the only place where the plugin computes square roots, divisions or exponentials: once per
 * configuration, never per element. The per-element kernels (kernels.ts) only compare, shift,
 * add, multiply and index these tables.
 */

/** [R] T[j·2^t + k] = 2^(−j/2)·(1 + (k+½)/2^t)^(−½), j = e mod 2: the LayerNorm 1/√v table. */
export function lnTable(t: number): Float64Array {
  const n = 1 << t;
  const T = new Float64Array(2 * n);
  for (let j = 0; j < 2; j++) for (let k = 0; k < n; k++) T[j * n + k] = 2 ** (-j / 2) / Math.sqrt(1 + (k + 0.5) / n);
  return T;
}

/** [R] pure power-of-two ablation: 2^(−j/2) for j = round(log2 v) mod 2, and the rounding threshold √2 − 1 on m. */
export const LN_POW2 = { table: new Float64Array([1, Math.SQRT1_2]), roundUpAt: Math.SQRT2 - 1 };

/** [R] R[i] = 1/(1 + (i+½)/2^t): the multi-scale reciprocal's table. */
export function msrTable(t: number): Float64Array {
  const n = 1 << t;
  const R = new Float64Array(n);
  for (let i = 0; i < n; i++) R[i] = 1 / (1 + (i + 0.5) / n);
  return R;
}

/** 1/d of a known size (a constant multiplier, as the mean over d elements in hardware). */
export function constantReciprocal(d: number): number {
  return 1 / d;
}

/** Padé [2/2] denominator z² − 6z + 12 on [cutoff, bias]: its extreme values (it is positive everywhere, minimum 3 at z = 3). */
export function padeDenominatorRange(cutoff: number, bias: number): { min: number; max: number } {
  const d = (z: number) => z * z - 6 * z + 12;
  const lo = Math.min(cutoff, bias);
  const hi = Math.max(cutoff, bias);
  const ends = [d(lo), d(hi), ...(lo < 3 && hi > 3 ? [3] : [])];
  return { min: Math.min(...ends), max: Math.max(...ends) };
}

/** Exponent ladder bounds [kmin, kmax] covering [min, max] (the lowered graph compares against 2^kmin .. 2^kmax). */
export function exponentBounds(min: number, max: number): { kmin: number; kmax: number } {
  return { kmin: Math.floor(Math.log2(min)), kmax: Math.floor(Math.log2(max)) };
}

export interface SoftmaxTables {
  R: Float64Array;
  t: number;
  den: { kmin: number; kmax: number };
  sum: { kmin: number; kmax: number };
}

export function softmaxTables(o: Pick<SoftmaxOptions, 'bias' | 'cutoff' | 'reciprocalBits' | 'sumMaxExponent'>): SoftmaxTables {
  const r = padeDenominatorRange(o.cutoff, o.bias);
  return { R: msrTable(o.reciprocalBits), t: o.reciprocalBits, den: exponentBounds(r.min, r.max), sum: { kmin: -8, kmax: o.sumMaxExponent } };
}

export interface LayerNormTables {
  T: Float64Array;
  t: number;
  pow2Only: boolean;
  kmin: number;
  kmax: number;
}

export function layerNormTables(o: Pick<LayerNormOptions, 'tableBits' | 'pow2Only' | 'minExponent' | 'maxExponent'>): LayerNormTables {
  return { T: o.pow2Only ? LN_POW2.table : lnTable(o.tableBits), t: o.tableBits, pow2Only: o.pow2Only, kmin: o.minExponent, kmax: o.maxExponent };
}

export interface GeluTables {
  a: number;
  segments: number;
  /** S/(2a): segment index = ⌊(x + a)·scale⌋. */
  scale: number;
  slopes: Float64Array;
  intercepts: Float64Array;
}

/**
 * [R] Continuous piecewise-linear least-squares fit of x·Φ(x) on [−a, a] with S uniform segments
 * (hat-function basis on the S+1 knots, 400 samples per segment, tridiagonal normal equations),
 * returned as per-segment slopes and intercepts. With 'shiftAdd' each slope is rounded to the
 * nearest ±2^i or ±2^i ± 2^j (i, j in −10..1) and each segment's intercept refitted by least squares.
 */
export function geluTables(o: Pick<GeluOptions, 'range' | 'segments' | 'slopes'>): GeluTables {
  const a = o.range;
  const S = o.segments;
  const h = (2 * a) / S;
  const knots = Array.from({ length: S + 1 }, (_, i) => -a + i * h);
  const perSeg = 400;
  // Normal equations of min Σ (Σ_i c_i φ_i(x) − gelu(x))² with hat functions φ_i: tridiagonal.
  const diag = new Float64Array(S + 1);
  const off = new Float64Array(S);
  const rhs = new Float64Array(S + 1);
  const samples: { x: number; s: number }[] = [];
  for (let s = 0; s < S; s++) {
    for (let q = 0; q < perSeg; q++) {
      const u = (q + 0.5) / perSeg;
      const x = knots[s]! + u * h;
      samples.push({ x, s });
      const l = 1 - u;
      const g = geluExact(x);
      diag[s]! += l * l; diag[s + 1]! += u * u; off[s]! += l * u;
      rhs[s]! += l * g; rhs[s + 1]! += u * g;
    }
  }
  const c = solveTridiagonal(off, diag, off, rhs);
  const slopes = new Float64Array(S);
  const intercepts = new Float64Array(S);
  for (let s = 0; s < S; s++) {
    slopes[s] = (c[s + 1]! - c[s]!) / h;
    intercepts[s] = c[s]! - slopes[s]! * knots[s]!;
  }
  if (o.slopes === 'shiftAdd') {
    for (let s = 0; s < S; s++) {
      slopes[s] = nearestShiftAdd(slopes[s]!);
      let acc = 0;
      for (let q = 0; q < perSeg; q++) {
        const x = samples[s * perSeg + q]!.x;
        acc += geluExact(x) - slopes[s]! * x;
      }
      intercepts[s] = acc / perSeg;
    }
  }
  return { a, segments: S, scale: S / (2 * a), slopes, intercepts };
}

/** The value of the form 0, ±2^i or ±2^i ± 2^j (i, j in −10..1) nearest to w: a multiply by shifts and one add. */
export function nearestShiftAdd(w: number): number {
  let best = 0;
  const consider = (v: number) => { if (Math.abs(v - w) < Math.abs(best - w)) best = v; };
  for (let i = -10; i <= 1; i++) {
    const p = 2 ** i;
    for (const sgn of [1, -1]) {
      consider(sgn * p);
      for (let j = -10; j < i; j++) { consider(sgn * (p + 2 ** j)); consider(sgn * (p - 2 ** j)); }
    }
  }
  return best;
}

function solveTridiagonal(sub: Float64Array, diag: Float64Array, sup: Float64Array, rhs: Float64Array): Float64Array {
  const n = diag.length;
  const c = new Float64Array(n);
  const d = new Float64Array(n);
  c[0] = n > 1 ? sup[0]! / diag[0]! : 0;
  d[0] = rhs[0]! / diag[0]!;
  for (let i = 1; i < n; i++) {
    const m = diag[i]! - sub[i - 1]! * c[i - 1]!;
    c[i] = i < n - 1 ? sup[i]! / m : 0;
    d[i] = (rhs[i]! - sub[i - 1]! * d[i - 1]!) / m;
  }
  const x = new Float64Array(n);
  x[n - 1] = d[n - 1]!;
  for (let i = n - 2; i >= 0; i--) x[i] = d[i]! - c[i]! * x[i + 1]!;
  return x;
}
