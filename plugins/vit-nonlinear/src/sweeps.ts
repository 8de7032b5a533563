import { Rng, geluExact } from '@tessera/core';
import { geluPwl, lnInvStd, msrReciprocal, padeExp, softmaxRow } from './kernels.js';
import { geluTables, layerNormTables, msrTable, softmaxTables } from './tables.js';

/** Max and mean absolute and relative errors over a sweep. */
export interface ErrorStats {
  points: number;
  maxAbs: number;
  meanAbs: number;
  maxRel: number;
  meanRel: number;
  /** Where the largest absolute error occurred. */
  argMaxAbs: number;
  nan: number;
}

function stats(xs: Float64Array, approx: (x: number) => number, exact: (x: number) => number, relFloor = 0): ErrorStats {
  let maxAbs = 0, sumAbs = 0, maxRel = 0, sumRel = 0, arg = NaN, nan = 0, nRel = 0;
  for (const x of xs) {
    const a = approx(x);
    const e = exact(x);
    if (Number.isNaN(a)) { nan++; continue; }
    const d = Math.abs(a - e);
    if (d > maxAbs) { maxAbs = d; arg = x; }
    sumAbs += d;
    if (Math.abs(e) > relFloor) { const r = d / Math.abs(e); maxRel = Math.max(maxRel, r); sumRel += r; nRel++; }
  }
  return { points: xs.length, maxAbs, meanAbs: sumAbs / xs.length, maxRel, meanRel: nRel ? sumRel / nRel : 0, argMaxAbs: arg, nan };
}

export function logspace(lo: number, hi: number, n: number): Float64Array {
  const a = Math.log10(lo), b = Math.log10(hi);
  return Float64Array.from({ length: n }, (_, i) => 10 ** (a + ((b - a) * i) / (n - 1)));
}

export function linspace(lo: number, hi: number, n: number): Float64Array {
  return Float64Array.from({ length: n }, (_, i) => lo + ((hi - lo) * i) / (n - 1));
}

/** 1/√v over v log-spaced in [1e−6, 1e4] (spec: ≥ 1e5 points), for table bits t or the pure power-of-two ablation. */
export function layerNormSweep(opts: { tableBits: number; pow2Only?: boolean; points?: number }): ErrorStats {
  const tb = layerNormTables({ tableBits: opts.tableBits, pow2Only: opts.pow2Only ?? false, minExponent: -64, maxExponent: 63 });
  return stats(logspace(1e-6, 1e4, opts.points ?? 100_001), (v) => lnInvStd(v, tb), (v) => 1 / Math.sqrt(v));
}

/** The multi-scale reciprocal over u log-spaced in [1e−3, 1e6]. */
export function reciprocalSweep(opts: { bits: number; points?: number }): ErrorStats {
  const R = msrTable(opts.bits);
  return stats(logspace(1e-3, 1e6, opts.points ?? 100_001), (u) => msrReciprocal(u, R, opts.bits, -20, 40), (u) => 1 / u);
}

/** Padé [2/2] e^z (exact division, to isolate the Padé error) over [lo, hi]. */
export function padeSweep(lo: number, hi: number, points = 100_001): ErrorStats {
  return stats(linspace(lo, hi, points), (z) => ((z + 6) * z + 12) / ((z - 6) * z + 12), Math.exp);
}

/** The softmax unit's exponential (Padé + multi-scale reciprocal of its denominator) over [cutoff, bias]. */
export function padeMsrSweep(reciprocalBits: number, points = 100_001): ErrorStats {
  const tb = softmaxTables({ bias: 2, cutoff: -3, reciprocalBits, sumMaxExponent: 30 });
  return stats(linspace(-3, 2, points), (z) => padeExp(z, tb), Math.exp);
}

/** PWL GELU over [−10, 10] (spec: 4e5 points); relative error where |GELU(x)| > 1e−2. */
export function geluSweep(opts: { segments: number; range?: number; slopes?: 'float' | 'shiftAdd'; points?: number }): ErrorStats {
  const tb = geluTables({ range: opts.range ?? 3, segments: opts.segments, slopes: opts.slopes ?? 'float' });
  return stats(linspace(-10, 10, opts.points ?? 400_000), (x) => geluPwl(x, tb), geluExact, 1e-2);
}

/** Mean absolute GELU error on N(0, σ²) inputs (spec: σ = 1.5). */
export function geluGaussianError(segments: number, sigma = 1.5, n = 200_000, seed = 0): number {
  const tb = geluTables({ range: 3, segments, slopes: 'float' });
  const rng = new Rng(seed);
  let s = 0;
  for (let i = 0; i < n; i++) { const x = sigma * rng.normal(); s += Math.abs(geluPwl(x, tb) - geluExact(x)); }
  return s / n;
}

export interface SoftmaxSweep {
  rows: number;
  length: number;
  std: number;
  /** Fraction of entries set to −∞ (masked) in every row, plus one fully masked row per 100. */
  maskFraction: number;
  maxAbs: number;
  meanAbs: number;
  /** Max relative error over probabilities ≥ 1e−2. */
  maxRelLarge: number;
  argmaxPreserved: number;
  nan: number;
  /** Fully masked rows whose output is all zeros. */
  fullyMaskedZero: number;
  fullyMasked: number;
}

/** Softmax on random logit rows N(0, std²) with masked entries; exact softmax over the unmasked entries as reference. */
export function softmaxSweep(opts: { rows: number; length: number; std: number; maskFraction?: number; seed?: number; bias?: number; cutoff?: number; reciprocalBits?: number }): SoftmaxSweep {
  const bias = opts.bias ?? 2, cutoff = opts.cutoff ?? -3;
  const tb = softmaxTables({ bias, cutoff, reciprocalBits: opts.reciprocalBits ?? 6, sumMaxExponent: 30 });
  const rng = new Rng(opts.seed ?? 0);
  const L = opts.length;
  const x = new Float64Array(L), out = new Float64Array(L), ref = new Float64Array(L);
  let maxAbs = 0, sumAbs = 0, n = 0, maxRel = 0, kept = 0, nan = 0, fully = 0, fullyZero = 0, scored = 0;
  for (let r = 0; r < opts.rows; r++) {
    const allMasked = r % 100 === 99;
    for (let i = 0; i < L; i++) x[i] = allMasked || (i > 0 && rng.uniform() < (opts.maskFraction ?? 0)) ? -Infinity : opts.std * rng.normal();
    softmaxRow(x, out, bias, cutoff, tb);
    if (out.some(Number.isNaN)) { nan++; continue; }
    if (allMasked) { fully++; if (out.every((v) => v === 0)) fullyZero++; continue; }
    let mx = -Infinity, am = 0;
    for (let i = 0; i < L; i++) if (x[i]! > mx) { mx = x[i]!; am = i; }
    let s = 0;
    for (let i = 0; i < L; i++) { ref[i] = Math.exp(x[i]! - mx); s += ref[i]!; }
    let aam = 0;
    for (let i = 0; i < L; i++) {
      ref[i] = ref[i]! / s;
      const d = Math.abs(out[i]! - ref[i]!);
      maxAbs = Math.max(maxAbs, d); sumAbs += d; n++;
      if (ref[i]! >= 1e-2) maxRel = Math.max(maxRel, d / ref[i]!);
      if (out[i]! > out[aam]!) aam = i;
    }
    scored++;
    if (aam === am) kept++;
  }
  return { rows: opts.rows, length: L, std: opts.std, maskFraction: opts.maskFraction ?? 0, maxAbs, meanAbs: sumAbs / n, maxRelLarge: maxRel, argmaxPreserved: kept / scored, nan, fullyMaskedZero: fullyZero, fullyMasked: fully };
}
