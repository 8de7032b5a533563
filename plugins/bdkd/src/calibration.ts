/**
 * Host-side numbers about predictions: per-sample divergences and entropy gap (the diagnostics of
 * a training step, and the direct computation tests compare the graph against), 15-bin
 * reliability bins, and post-hoc temperature scaling (the reference BD-KD wants to make unnecessary).
 */
import { Tensor } from '@tessera/core';
import { accuracy, ece, nll } from '@tessera/train';
import type { BdkdLossConfig } from './options.js';

/** log softmax(z/τ) of row i of a [N, C] float array. */
function logSoftmaxRow(z: ArrayLike<number>, i: number, c: number, tau: number): Float64Array {
  const out = new Float64Array(c);
  let m = -Infinity;
  for (let k = 0; k < c; k++) m = Math.max(m, z[i * c + k]! / tau);
  let s = 0;
  for (let k = 0; k < c; k++) s += Math.exp(z[i * c + k]! / tau - m);
  const lse = m + Math.log(s);
  for (let k = 0; k < c; k++) out[k] = z[i * c + k]! / tau - lse;
  return out;
}

export interface SampleDivergences {
  /** KL(p_T‖p_S) per sample. */
  fkl: Float64Array;
  /** KL(p_S‖p_T) per sample. */
  rkl: Float64Array;
  /** H(p_S) − H(p_T) per sample. */
  gap: Float64Array;
}

/** Per-sample forward / reverse KL and entropy gap of two [N, C] logit arrays at temperature τ (float64). */
export function sampleDivergences(student: ArrayLike<number>, teacher: ArrayLike<number>, classes: number, tau: number): SampleDivergences {
  const n = student.length / classes;
  const fkl = new Float64Array(n);
  const rkl = new Float64Array(n);
  const gap = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const ls = logSoftmaxRow(student, i, classes, tau);
    const lt = logSoftmaxRow(teacher, i, classes, tau);
    let f = 0, r = 0, hs = 0, ht = 0;
    for (let k = 0; k < classes; k++) {
      const ps = Math.exp(ls[k]!);
      const pt = Math.exp(lt[k]!);
      f += pt * (lt[k]! - ls[k]!);
      r += ps * (ls[k]! - lt[k]!);
      hs -= ps * ls[k]!;
      ht -= pt * lt[k]!;
    }
    fkl[i] = f;
    rkl[i] = r;
    gap[i] = hs - ht;
  }
  return { fkl, rkl, gap };
}

/** The weights (a_i, b_i) the graph applies, computed on the host from the gap (for diagnostics). */
export function hostDivergenceWeights(gap: ArrayLike<number>, cfg: BdkdLossConfig): { fkl: Float64Array; rkl: Float64Array } {
  const n = gap.length;
  const fkl = new Float64Array(n);
  const rkl = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const g = gap[i]!;
    let r: number;
    let f: number;
    switch (cfg.weighting) {
      case 'hard': [f, r] = g > 0 ? [cfg.wMinor, cfg.wMajor] : [cfg.wMajor, cfg.wMinor]; break;
      case 'soft': r = 1 / (1 + Math.exp(-g / cfg.softTemp)); f = 1 - r; break;
      case 'fkl-only': [f, r] = [1, 0]; break;
      case 'rkl-only': [f, r] = [0, 1]; break;
      case 'fixed-mix': [f, r] = [1 - cfg.fixedMix, cfg.fixedMix]; break;
      case 'none': [f, r] = [0, 0]; break;
    }
    fkl[i] = f;
    rkl[i] = r;
  }
  return { fkl, rkl };
}

export interface Classification {
  accuracy: number;
  /** Expected calibration error, 15 equal-width bins, at temperature 1. */
  ece: number;
  nll: number;
}

/** Accuracy, ECE (15 bins) and NLL of logits [N, C] against labels [N] (@tessera/train's metrics). */
export function classification(logits: Tensor, labels: Tensor): Classification {
  return { accuracy: accuracy(logits, labels), ece: ece(logits, labels, 15), nll: nll(logits, labels) };
}

export interface ReliabilityBin {
  /** Bin range [lo, hi) of max-probability confidence. */
  lo: number;
  hi: number;
  confidence: number;
  accuracy: number;
  count: number;
}

/** Equal-width reliability bins (15 by default) of softmax max-probability, non-empty bins only. */
export function reliabilityBins(logits: Tensor, labels: Tensor, bins = 15): ReliabilityBin[] {
  const [n, c] = logits.shape as [number, number];
  const z = logits.toFloat64();
  const conf = new Float64Array(bins);
  const acc = new Float64Array(bins);
  const cnt = new Float64Array(bins);
  for (let i = 0; i < n; i++) {
    const ls = logSoftmaxRow(z, i, c, 1);
    let best = 0;
    for (let k = 1; k < c; k++) if (ls[k]! > ls[best]!) best = k;
    const p = Math.exp(ls[best]!);
    const bin = Math.min(bins - 1, Math.floor(p * bins));
    conf[bin]! += p;
    acc[bin]! += best === Number(labels.getFlat(i)) ? 1 : 0;
    cnt[bin]! += 1;
  }
  const out: ReliabilityBin[] = [];
  for (let k = 0; k < bins; k++) {
    if (cnt[k]) out.push({ lo: k / bins, hi: (k + 1) / bins, confidence: conf[k]! / cnt[k]!, accuracy: acc[k]! / cnt[k]!, count: cnt[k]! });
  }
  return out;
}

/** logits / T as a new float32 tensor. */
export function scaleLogits(logits: Tensor, temperature: number): Tensor {
  const z = logits.toFloat64();
  return new Tensor('float32', [...logits.shape], Float32Array.from(z, (v) => v / temperature));
}

/**
 * Post-hoc temperature scaling (Guo et al. 2017): the T > 0 that minimises NLL of softmax(z/T)
 * on held-out logits, by golden-section search over log T in [log 0.05, log 20].
 */
export function fitTemperature(logits: Tensor, labels: Tensor): number {
  const f = (logT: number) => nll(scaleLogits(logits, Math.exp(logT)), labels);
  let lo = Math.log(0.05);
  let hi = Math.log(20);
  const r = (Math.sqrt(5) - 1) / 2;
  let a = hi - r * (hi - lo);
  let b = lo + r * (hi - lo);
  let fa = f(a);
  let fb = f(b);
  for (let it = 0; it < 60 && hi - lo > 1e-5; it++) {
    if (fa < fb) { hi = b; b = a; fb = fa; a = hi - r * (hi - lo); fa = f(a); }
    else { lo = a; a = b; fa = fb; b = lo + r * (hi - lo); fb = f(b); }
  }
  return Math.exp((lo + hi) / 2);
}
