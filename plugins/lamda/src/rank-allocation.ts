/**
 * LaMDA++ rank allocation [abstract + reconstructed]: per-projection ranks from the normalised
 * singular-value spectrum of the pretrained weights, no data and no training signal.
 *
 *   p_l,i = σ_l,i² / Σ_j σ_l,j²          e_l = Σ_{i ≤ r0} p_l,i   (energy in the top r0 directions)
 *   r_l   = clamp(round(R · e_l / Σ_m e_m), rMin, rMax), then fixed so that Σ r_l = R (= r0 · #matrices)
 *
 * `invert` scores 1 − e_l instead (more rank to flat spectra); the direction is not verified
 * against the paper, so reports say which one ran.
 */

import type { Svd } from '@tessera/core';

export interface SpectralAllocationOptions {
  /** Base rank r0 (the uniform rank the budget is measured in). */
  baseRank: number;
  /** Total rank R over all matrices; null: r0 · #matrices. */
  budget: number | null;
  rMin: number;
  rMax: number;
  invert: boolean;
}

export interface LayerAllocation {
  name: string;
  dIn: number;
  dOut: number;
  /** Share of spectral energy in the top r0 singular directions. */
  energy: number;
  /** The score the budget is split by (energy, or 1 − energy when inverted). */
  score: number;
  rank: number;
}

export function normalizedSpectrum(s: ArrayLike<number>): Float64Array {
  let total = 0;
  for (let i = 0; i < s.length; i++) total += s[i]! ** 2;
  return Float64Array.from(s, (x) => (total > 0 ? x ** 2 / total : 0));
}

/** Ranks per matrix; `spectra` gives each matrix's name, shape and SVD (singular values descending). */
export function allocateRanks(spectra: readonly { name: string; dIn: number; dOut: number; svd: Svd }[], o: SpectralAllocationOptions): LayerAllocation[] {
  if (spectra.length === 0) return [];
  const R = o.budget ?? o.baseRank * spectra.length;
  const caps = spectra.map((m) => Math.min(o.rMax, m.dIn, m.dOut));
  if (o.rMin > Math.min(...caps)) throw new Error(`rankAllocation.rMin ${o.rMin} exceeds the largest rank a matrix allows (${Math.min(...caps)})`);
  if (R < o.rMin * spectra.length || R > caps.reduce((a, c) => a + c, 0)) {
    throw new Error(`rankAllocation.budget ${R} cannot be met with ${spectra.length} matrices and ranks in ${o.rMin}..${o.rMax} (valid: ${o.rMin * spectra.length}..${caps.reduce((a, c) => a + c, 0)})`);
  }
  const rows = spectra.map((m) => {
    const p = normalizedSpectrum(m.svd.s);
    let e = 0;
    for (let i = 0; i < Math.min(o.baseRank, p.length); i++) e += p[i]!;
    return { name: m.name, dIn: m.dIn, dOut: m.dOut, energy: e, score: o.invert ? 1 - e : e, rank: 0 };
  });
  const total = rows.reduce((a, r) => a + r.score, 0);
  const ideal = rows.map((r) => (total > 0 ? (R * r.score) / total : R / rows.length));
  rows.forEach((r, i) => (r.rank = Math.min(caps[i]!, Math.max(o.rMin, Math.round(ideal[i]!)))));
  // Fix rounding and clamping: move one rank at a time where it changes the ideal share least.
  let sum = rows.reduce((a, r) => a + r.rank, 0);
  while (sum !== R) {
    const up = sum < R;
    let best = -1;
    let bestGap = -Infinity;
    rows.forEach((r, i) => {
      if (up ? r.rank >= caps[i]! : r.rank <= o.rMin) return;
      const gap = up ? ideal[i]! - r.rank : r.rank - ideal[i]!;
      if (gap > bestGap) { bestGap = gap; best = i; }
    });
    rows[best]!.rank += up ? 1 : -1;
    sum += up ? 1 : -1;
  }
  return rows;
}
