import { sgemm, sgemmReady } from './wasm/sgemm.js';

/** Float storage the blocked kernels work on. */
export type FloatArray = Float32Array | Float64Array;

/**
 * Which GEMM runs a float product: 'auto' takes the WebAssembly SIMD float32 kernel (wasm/sgemm.ts)
 * for float32 work arrays when the host supports wasm SIMD, and the JS kernel below otherwise;
 * 'js' always takes the JS kernel. The JS kernel is the float64 path and the fallback for hosts
 * without wasm SIMD; MatMul / Gemm / Conv / ConvTranspose expose it as their 'js' kernel variant
 * (node.meta.set('kernel', 'js')) so tests can run both paths on one graph.
 */
export type GemmPath = 'auto' | 'js';

/** True when a product over these work arrays runs on the wasm kernel. */
export function wasmGemm(work: FloatArray, path: GemmPath): boolean {
  return path === 'auto' && work instanceof Float32Array && sgemmReady();
}

/**
 * C[M,N] = A·B with general strides: A(i, k) at `aOff + i·ars + k·acs`, B(k, j) at
 * `bOff + k·brs + j·bcs`, C row-major at `cOff` with row pitch `ldc` (overwritten). Float32 C on the
 * wasm path accumulates in float32; otherwise operands are gathered for the JS kernel (float64 sums).
 */
export function gemmStrided(
  M: number, N: number, K: number,
  A: FloatArray, aOff: number, ars: number, acs: number,
  B: FloatArray, bOff: number, brs: number, bcs: number,
  C: FloatArray, cOff: number, ldc: number,
  path: GemmPath = 'auto',
): void {
  if (M === 0 || N === 0) return;
  if (wasmGemm(C, path)) {
    sgemm(M, N, K, A, aOff, ars, acs, B, bOff, brs, bcs, C as Float32Array, cOff, ldc);
    return;
  }
  let a: FloatArray = A;
  let ao = aOff;
  if (acs !== 1 || ars !== K) {
    a = new Float64Array(M * K);
    ao = 0;
    for (let i = 0; i < M; i++) for (let k = 0; k < K; k++) a[i * K + k] = A[aOff + i * ars + k * acs]!;
  }
  let bt: FloatArray = B;
  let bo = bOff;
  if (brs !== 1 || bcs !== K) {
    bt = new Float64Array(N * K);
    bo = 0;
    for (let j = 0; j < N; j++) for (let k = 0; k < K; k++) bt[j * K + k] = B[bOff + k * brs + j * bcs]!;
  }
  if (ldc === N) {
    gemmABt(M, N, K, a, ao, bt, bo, C, cOff);
    return;
  }
  const tmp = new Float64Array(M * N);
  gemmABt(M, N, K, a, ao, bt, bo, tmp, 0);
  for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) C[cOff + i * ldc + j] = tmp[i * N + j]!;
}

// Panels of packed Bt kept hot per block: NB columns (each K long) should fit in L2.
const L2_DOUBLES = 32 * 1024;

// Scratch for packed panels, grown on demand and reused across calls (kernels run one at a time).
let scratchA = new Float64Array(0);
let scratchB = new Float64Array(0);

/** Packs `rows` rows (each K long, row-major at `off`) into panels of 4 interleaved rows, zero-padded. */
function packPanels(src: FloatArray, off: number, rows: number, K: number, dst: Float64Array): void {
  for (let i = 0; i < rows; i += 4) {
    const base = i * K;
    for (let r = 0; r < 4; r++) {
      if (i + r >= rows) {
        for (let k = 0; k < K; k++) dst[base + k * 4 + r] = 0;
        continue;
      }
      const s = off + (i + r) * K;
      for (let k = 0; k < K; k++) dst[base + k * 4 + r] = src[s + k]!;
    }
  }
}

const tile = new Float64Array(16);

/**
 * C[M,N] = A[M,K] · Bt[N,K]ᵀ (+ C when `accumulate`), all row-major at the given offsets.
 * Both operands are packed into float64 panels of 4 interleaved rows, so the 4x4 register-blocked
 * micro-kernel streams two arrays sequentially; blocking over N keeps a Bt block in cache while
 * every row panel of A passes over it. Accumulates in float64.
 */
export function gemmABt(
  M: number, N: number, K: number,
  A: FloatArray, aOff: number,
  Bt: FloatArray, bOff: number,
  C: FloatArray, cOff: number,
  accumulate = false,
): void {
  if (M === 0 || N === 0) return;
  const M4 = Math.ceil(M / 4) * 4;
  const N4 = Math.ceil(N / 4) * 4;
  if (scratchA.length < M4 * K) scratchA = new Float64Array(M4 * K);
  if (scratchB.length < N4 * K) scratchB = new Float64Array(N4 * K);
  const Ap = scratchA;
  const Bp = scratchB;
  packPanels(A, aOff, M, K, Ap);
  packPanels(Bt, bOff, N, K, Bp);
  const nb = Math.max(4, Math.min(N4, (Math.floor(L2_DOUBLES / Math.max(K, 1)) >> 2) << 2));
  for (let j0 = 0; j0 < N4; j0 += nb) {
    const j1 = Math.min(N4, j0 + nb);
    for (let i = 0; i < M4; i += 4) {
      for (let j = j0; j < j1; j += 4) {
        let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
        let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
        let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
        let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
        let p = i * K;
        let q = j * K;
        for (let k = 0; k < K; k++, p += 4, q += 4) {
          const a0 = Ap[p]!, a1 = Ap[p + 1]!, a2 = Ap[p + 2]!, a3 = Ap[p + 3]!;
          let b = Bp[q]!;
          c00 += a0 * b; c10 += a1 * b; c20 += a2 * b; c30 += a3 * b;
          b = Bp[q + 1]!;
          c01 += a0 * b; c11 += a1 * b; c21 += a2 * b; c31 += a3 * b;
          b = Bp[q + 2]!;
          c02 += a0 * b; c12 += a1 * b; c22 += a2 * b; c32 += a3 * b;
          b = Bp[q + 3]!;
          c03 += a0 * b; c13 += a1 * b; c23 += a2 * b; c33 += a3 * b;
        }
        const r0 = cOff + i * N + j;
        if (i + 4 <= M && j + 4 <= N && !accumulate) {
          const r1 = r0 + N;
          const r2 = r1 + N;
          const r3 = r2 + N;
          C[r0] = c00; C[r0 + 1] = c01; C[r0 + 2] = c02; C[r0 + 3] = c03;
          C[r1] = c10; C[r1 + 1] = c11; C[r1 + 2] = c12; C[r1 + 3] = c13;
          C[r2] = c20; C[r2 + 1] = c21; C[r2 + 2] = c22; C[r2 + 3] = c23;
          C[r3] = c30; C[r3 + 1] = c31; C[r3 + 2] = c32; C[r3 + 3] = c33;
          continue;
        }
        tile[0] = c00; tile[1] = c01; tile[2] = c02; tile[3] = c03;
        tile[4] = c10; tile[5] = c11; tile[6] = c12; tile[7] = c13;
        tile[8] = c20; tile[9] = c21; tile[10] = c22; tile[11] = c23;
        tile[12] = c30; tile[13] = c31; tile[14] = c32; tile[15] = c33;
        const rows = Math.min(4, M - i);
        const cols = Math.min(4, N - j);
        for (let r = 0; r < rows; r++) {
          for (let c = 0; c < cols; c++) {
            if (accumulate) C[r0 + r * N + c] += tile[r * 4 + c]!;
            else C[r0 + r * N + c] = tile[r * 4 + c]!;
          }
        }
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
