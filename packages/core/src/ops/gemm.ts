/** Float storage the blocked kernels work on. */
export type FloatArray = Float32Array | Float64Array;

// Columns of Bt kept hot in cache per block: NB rows of Bt (each K long) should fit in L2.
const L2_FLOATS = 32 * 1024;

/**
 * C[M,N] = A[M,K] · Bt[N,K]ᵀ (+ C when `accumulate`), all row-major at the given offsets.
 * Register-blocked 4x4 micro-kernel over a K-contiguous layout, blocked over N so that a panel of
 * Bt stays in cache while every row block of A passes over it. Accumulates in float64.
 */
export function gemmABt(
  M: number, N: number, K: number,
  A: FloatArray, aOff: number,
  Bt: FloatArray, bOff: number,
  C: FloatArray, cOff: number,
  accumulate = false,
): void {
  const nb = Math.max(4, Math.min(N, (Math.floor(L2_FLOATS / Math.max(K, 1)) >> 2) << 2));
  const M4 = M - (M % 4);
  for (let j0 = 0; j0 < N; j0 += nb) {
    const j1 = Math.min(N, j0 + nb);
    const J4 = j0 + ((j1 - j0) - ((j1 - j0) % 4));
    for (let i = 0; i < M4; i += 4) {
      const a0 = aOff + i * K;
      const a1 = a0 + K;
      const a2 = a1 + K;
      const a3 = a2 + K;
      for (let j = j0; j < J4; j += 4) {
        const b0 = bOff + j * K;
        const b1 = b0 + K;
        const b2 = b1 + K;
        const b3 = b2 + K;
        let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
        let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
        let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
        let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
        for (let k = 0; k < K; k++) {
          const x0 = A[a0 + k]!, x1 = A[a1 + k]!, x2 = A[a2 + k]!, x3 = A[a3 + k]!;
          const y0 = Bt[b0 + k]!, y1 = Bt[b1 + k]!, y2 = Bt[b2 + k]!, y3 = Bt[b3 + k]!;
          c00 += x0 * y0; c01 += x0 * y1; c02 += x0 * y2; c03 += x0 * y3;
          c10 += x1 * y0; c11 += x1 * y1; c12 += x1 * y2; c13 += x1 * y3;
          c20 += x2 * y0; c21 += x2 * y1; c22 += x2 * y2; c23 += x2 * y3;
          c30 += x3 * y0; c31 += x3 * y1; c32 += x3 * y2; c33 += x3 * y3;
        }
        const r0 = cOff + i * N + j;
        const r1 = r0 + N;
        const r2 = r1 + N;
        const r3 = r2 + N;
        if (accumulate) {
          C[r0] += c00; C[r0 + 1] += c01; C[r0 + 2] += c02; C[r0 + 3] += c03;
          C[r1] += c10; C[r1 + 1] += c11; C[r1 + 2] += c12; C[r1 + 3] += c13;
          C[r2] += c20; C[r2 + 1] += c21; C[r2 + 2] += c22; C[r2 + 3] += c23;
          C[r3] += c30; C[r3 + 1] += c31; C[r3 + 2] += c32; C[r3 + 3] += c33;
        } else {
          C[r0] = c00; C[r0 + 1] = c01; C[r0 + 2] = c02; C[r0 + 3] = c03;
          C[r1] = c10; C[r1 + 1] = c11; C[r1 + 2] = c12; C[r1 + 3] = c13;
          C[r2] = c20; C[r2 + 1] = c21; C[r2 + 2] = c22; C[r2 + 3] = c23;
          C[r3] = c30; C[r3 + 1] = c31; C[r3 + 2] = c32; C[r3 + 3] = c33;
        }
      }
      for (let j = J4; j < j1; j++) {
        const b0 = bOff + j * K;
        let c0 = 0, c1 = 0, c2 = 0, c3 = 0;
        for (let k = 0; k < K; k++) {
          const y = Bt[b0 + k]!;
          c0 += A[a0 + k]! * y; c1 += A[a1 + k]! * y; c2 += A[a2 + k]! * y; c3 += A[a3 + k]! * y;
        }
        const r = cOff + i * N + j;
        if (accumulate) { C[r] += c0; C[r + N] += c1; C[r + 2 * N] += c2; C[r + 3 * N] += c3; }
        else { C[r] = c0; C[r + N] = c1; C[r + 2 * N] = c2; C[r + 3 * N] = c3; }
      }
    }
    for (let i = M4; i < M; i++) {
      const a0 = aOff + i * K;
      for (let j = j0; j < j1; j++) {
        const b0 = bOff + j * K;
        let c = 0;
        for (let k = 0; k < K; k++) c += A[a0 + k]! * Bt[b0 + k]!;
        const r = cOff + i * N + j;
        if (accumulate) C[r] += c;
        else C[r] = c;
      }
    }
  }
}

/** Transposes a row-major [rows, cols] block into `out` as [cols, rows]. */
export function transpose2d(src: ArrayLike<number>, sOff: number, rows: number, cols: number, out: FloatArray, oOff = 0): FloatArray {
  const T = 32;
  for (let r0 = 0; r0 < rows; r0 += T) {
    const r1 = Math.min(rows, r0 + T);
    for (let c0 = 0; c0 < cols; c0 += T) {
      const c1 = Math.min(cols, c0 + T);
      for (let r = r0; r < r1; r++) {
        const s = sOff + r * cols;
        for (let c = c0; c < c1; c++) out[oOff + c * rows + r] = src[s + c]!;
      }
    }
  }
  return out;
}
