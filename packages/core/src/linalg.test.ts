import { describe, expect, it } from 'vitest';
import { svd } from './linalg.js';
import { Rng } from './rng.js';

function randomMatrix(m: number, n: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  return Float64Array.from({ length: m * n }, () => rng.normal());
}

/** max |XᵀX − I| over the k columns of a row-major [rows, k] matrix. */
function orthoError(x: Float64Array, rows: number, k: number, cols = k): number {
  let err = 0;
  for (let a = 0; a < cols; a++) for (let b = 0; b < cols; b++) {
    let s = 0;
    for (let i = 0; i < rows; i++) s += x[i * k + a]! * x[i * k + b]!;
    err = Math.max(err, Math.abs(s - (a === b ? 1 : 0)));
  }
  return err;
}

/** ‖W − U[:, :r] diag(s[:r]) V[:, :r]ᵀ‖_F. */
function rankRError(w: Float64Array, m: number, n: number, d: ReturnType<typeof svd>, r: number): number {
  let e = 0;
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let x = 0;
    for (let c = 0; c < r; c++) x += d.u[i * d.k + c]! * d.s[c]! * d.v[j * d.k + c]!;
    e += (w[i * n + j]! - x) ** 2;
  }
  return Math.sqrt(e);
}

describe('svd (one-sided Jacobi, float64)', () => {
  for (const [m, n] of [[40, 24], [24, 40]] as const) {
    it(`${m}×${n}: orthonormal factors, descending values, exact reconstruction, best rank-r error`, () => {
      const w = randomMatrix(m, n, m + n);
      const d = svd(w, m, n);
      expect(d.k).toBe(24);
      expect(orthoError(d.u, m, d.k)).toBeLessThan(1e-12);
      expect(orthoError(d.v, n, d.k)).toBeLessThan(1e-12);
      for (let i = 1; i < d.k; i++) expect(d.s[i]!).toBeLessThanOrEqual(d.s[i - 1]!);
      expect(rankRError(w, m, n, d, d.k)).toBeLessThan(1e-11);
      // Eckart–Young: the rank-r truncation error is √Σ_{i>r} σ_i².
      for (const r of [1, 5, 12]) {
        let tail = 0;
        for (let i = r; i < d.k; i++) tail += d.s[i]! ** 2;
        expect(rankRError(w, m, n, d, r)).toBeCloseTo(Math.sqrt(tail), 10);
      }
    });
  }

  it('recovers known singular values of a constructed matrix, rank-deficient case included', () => {
    // W = Q1 diag(5, 3, 0) Q2ᵀ with Q1, Q2 from the SVD of random matrices.
    const q1 = svd(randomMatrix(6, 3, 1), 6, 3).u;
    const q2 = svd(randomMatrix(4, 3, 2), 4, 3).u;
    const sig = [5, 3, 0];
    const w = new Float64Array(6 * 4);
    for (let i = 0; i < 6; i++) for (let j = 0; j < 4; j++) for (let c = 0; c < 3; c++) w[i * 4 + j] += q1[i * 3 + c]! * sig[c]! * q2[j * 3 + c]!;
    const d = svd(w, 6, 4);
    expect(Array.from(d.s, (x) => Math.round(x * 1e9) / 1e9)).toEqual([5, 3, 0, 0]);
    expect(orthoError(d.u, 6, 4)).toBeLessThan(1e-9);
  });

  it('rejects a wrong element count in one line', () => {
    expect(() => svd([1, 2, 3], 2, 2)).toThrow('svd: matrix has 3 elements, expected 2×2 = 4');
  });
});
