import { PolarParameterError } from './errors.js';
import { NR_RELIABILITY_1024 } from './nr-reliability.js';

/**
 * Channel indices of a length-N code ordered from least to most reliable. Index convention:
 * x = u·F^{⊗n}, F = [[1,0],[1,1]], no bit reversal (index N−1 is the most reliable channel).
 */
export type Construction = { method: '5g' } | { method: 'ga'; designSnrDb: number; rate: number };

/** 5G NR: the 38.212 sequence restricted to indices < N, in order. */
export function nrReliabilityOrder(n: number): Int32Array {
  if (n > 1024) throw new PolarParameterError('n', `got ${n}, the 5G construction is defined for N <= 1024; use construction 'ga' for longer codes`);
  const out = new Int32Array(n);
  let j = 0;
  for (const q of NR_RELIABILITY_1024) if (q < n) out[j++] = q;
  return out;
}

// Chung's φ approximation for the Gaussian approximation of density evolution.
function phi(x: number): number {
  if (x <= 0) return 1;
  if (x < 10) return Math.exp(-0.4527 * x ** 0.86 + 0.0218);
  return Math.sqrt(Math.PI / x) * Math.exp(-x / 4) * (1 - 10 / (7 * x));
}

function phiInverse(y: number): number {
  if (y >= 1) return 0;
  let lo = 0;
  let hi = 10;
  while (phi(hi) > y) hi *= 2;
  for (let it = 0; it < 100; it++) {
    const mid = 0.5 * (lo + hi);
    if (phi(mid) > y) lo = mid;
    else hi = mid;
  }
  return 0.5 * (lo + hi);
}

/** Mean LLR of a check-node combination of two channels of mean m (GA, consistent Gaussian). */
function checkNodeMean(m: number): number {
  const p = phi(m);
  // For large m, 1 − (1 − φ)² ≈ 2φ underflows in φ⁻¹'s bisection; φ(m) ~ e^{−m/4} gives m − 4 ln 2.
  if (p < 1e-250) return m - 4 * Math.LN2;
  // 1 − (1 − φ)² written as φ(2 − φ) so that it does not cancel to 0 for tiny φ.
  return phiInverse(p * (2 - p));
}

/**
 * Gaussian approximation at a design Eb/N0 (dB) for BPSK/AWGN, σ² = 1/(2·R·10^(EbN0/10)).
 * Returns mean LLRs per channel index (larger = more reliable).
 */
export function gaussianApproximationMeans(n: number, designSnrDb: number, rate: number): Float64Array {
  const sigma2 = 1 / (2 * rate * 10 ** (designSnrDb / 10));
  let level = new Float64Array([2 / sigma2]);
  while (level.length < n) {
    const next = new Float64Array(level.length * 2);
    // Child 2j is the upper (check-node, f) branch, 2j+1 the lower (variable-node, g) branch; the
    // root split decides the MSB of the index, as in x = u·F^{⊗n} without bit reversal.
    for (let j = 0; j < level.length; j++) {
      next[2 * j] = checkNodeMean(level[j]!);
      next[2 * j + 1] = 2 * level[j]!;
    }
    level = next;
  }
  return level;
}

export function gaOrder(n: number, designSnrDb: number, rate: number): Int32Array {
  const means = gaussianApproximationMeans(n, designSnrDb, rate);
  const idx = Array.from({ length: n }, (_, i) => i);
  idx.sort((a, b) => means[a]! - means[b]! || a - b);
  return Int32Array.from(idx);
}

export function reliabilityOrder(n: number, construction: Construction): Int32Array {
  return construction.method === '5g' ? nrReliabilityOrder(n) : gaOrder(n, construction.designSnrDb, construction.rate);
}
