import { MR, NR, sgemmModuleBytes } from './sgemm-module.js';

/*
 * Float32 GEMM on a WebAssembly SIMD micro-kernel (see sgemm-module.ts for the kernel itself).
 *
 * The module is compiled once per process, on first use, with `new WebAssembly.Module(bytes)`; it
 * owns one linear memory that grows as needed (never shrinks) and is reused by every call: kernels
 * run one at a time. A call reserves three regions in that memory: packed A panels, packed B
 * panels and the C tile grid (padded to MR×NR multiples); callers pack operands straight into the
 * memory view (conv writes its im2col there), run the kernel, and read C back.
 *
 * When the host has no WebAssembly SIMD (`WebAssembly.validate` rejects the module), `sgemmReady()`
 * is false and the callers keep using the plain JS kernel in gemm.ts, which is also the float64 path.
 */

interface Kernel {
  memory: WebAssembly.Memory;
  gemm: (ap: number, bp: number, cp: number, mPanels: number, nPanels: number, K: number, ldc: number, ldb: number, bPanel: number) => void;
  gather: (dst: number, ldb: number, src: number, imgStride: number, idx: number, K: number, P: number, images: number) => void;
}

let kernel: Kernel | null | undefined;

function load(): Kernel | null {
  if (kernel !== undefined) return kernel;
  kernel = null;
  if (typeof WebAssembly !== 'object') return null;
  const bytes = sgemmModuleBytes();
  if (!WebAssembly.validate(bytes)) return null;
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
  kernel = {
    memory: instance.exports.memory as WebAssembly.Memory,
    gemm: instance.exports.gemm as Kernel['gemm'],
    gather: instance.exports.gather as Kernel['gather'],
  };
  return kernel;
}

/** True when the wasm SIMD kernel compiled on this host (false: use the JS kernel). */
export function sgemmReady(): boolean {
  return load() !== null;
}

/**
 * How B sits in wasm memory: 'panels' = packed NR-column panels (see packB); 'rows' = row-major
 * K × ldb floats with ldb = ceil(N/NR)·NR and zero padding columns (see copyBRows, conv's im2col).
 */
export type BLayout = 'panels' | 'rows';

/** One reservation of wasm memory for an M×N×K product; offsets and pitches are in floats. */
export interface SgemmCall {
  readonly M: number;
  readonly N: number;
  readonly K: number;
  readonly bLayout: BLayout;
  /** The memory as float32; valid until the next `sgemmReserve`. */
  readonly view: Float32Array;
  /** Start of the packed A panels (ceil(M/MR) panels of MR·K floats). */
  readonly a: number;
  /** Start of B (layout per bLayout). */
  readonly b: number;
  /** Row pitch of B in the 'rows' layout (a multiple of NR, >= N). */
  readonly ldb: number;
  /** Start of C, row pitch `ldc` floats (>= N, a multiple of NR), ceil(M/MR)·MR rows. */
  readonly c: number;
  readonly ldc: number;
  /** Start of `extra` floats of caller scratch after C (16-byte aligned). */
  readonly extra: number;
}

const PAGE = 65536;

/** Reserves memory for one product (growing it if needed). Throws if the wasm kernel is unavailable. */
export function sgemmReserve(M: number, N: number, K: number, bLayout: BLayout = 'panels', extraFloats = 0): SgemmCall {
  const k = load();
  if (!k) throw new Error('the WebAssembly SIMD GEMM kernel is not available on this host');
  const mp = Math.ceil(M / MR);
  const np = Math.ceil(N / NR);
  const ldc = np * NR;
  const a = 0;
  const b = a + mp * MR * K;
  const c = b + np * NR * K;
  const extra = c + mp * MR * ldc;
  const bytes = (extra + extraFloats) * 4;
  const have = k.memory.buffer.byteLength;
  if (bytes > have) k.memory.grow(Math.ceil((bytes - have) / PAGE));
  return { M, N, K, bLayout, view: new Float32Array(k.memory.buffer), a, b, ldb: ldc, c, ldc, extra };
}

// A block of packed A panels (MR·K floats each) that the kernel sweeps per B panel: kept near L1/L2 size.
const A_BLOCK_FLOATS = 16 * 1024;

/** Runs the kernel over a reservation whose A panels and B are in place: C = A·B (C overwritten). */
export function sgemmRun(call: SgemmCall): void {
  const { M, N, K } = call;
  if (M === 0 || N === 0) return;
  const k = load()!;
  const mp = Math.ceil(M / MR);
  const np = Math.ceil(N / NR);
  if (K === 0) {
    call.view.fill(0, call.c, call.c + mp * MR * call.ldc);
    return;
  }
  const rows = call.bLayout === 'rows';
  const ldb = rows ? call.ldb * 4 : NR * 4;
  const bPanel = rows ? NR * 4 : NR * K * 4;
  const block = Math.max(1, Math.floor(A_BLOCK_FLOATS / (MR * K)));
  for (let i0 = 0; i0 < mp; i0 += block) {
    const n = Math.min(block, mp - i0);
    k.gemm((call.a + i0 * MR * K) * 4, call.b * 4, (call.c + i0 * MR * call.ldc) * 4, n, np, K, call.ldc * 4, ldb, bPanel);
  }
}

/**
 * Fills a 'rows' reservation's B by gathering: for row kk < K, image n < images, column p < P,
 * B[kk, n·P + p] = view[src + n·imgStride + table[kk·P + p] / 4], where `table` (K·P int32 byte
 * offsets into one image, stored at float offset `idx` of the memory) comes from the caller; columns
 * images·P..ldb-1 are zeroed. Conv's im2col over zero-padded images in wasm memory.
 */
export function sgemmGather(call: SgemmCall, src: number, imgStride: number, idx: number, P: number, images: number): void {
  const { K, b, ldb, view } = call;
  if (K === 0 || P === 0 || images === 0) return;
  load()!.gather(b * 4, ldb * 4, src * 4, imgStride * 4, idx * 4, K, P, images);
  if (images * P < ldb) for (let k = 0; k < K; k++) view.fill(0, b + k * ldb + images * P, b + (k + 1) * ldb);
}

/**
 * Copies a row-major B (element (k, j) at `off + k·rs + j`) into a 'rows' reservation: row k at
 * call.b + k·call.ldb, columns N..ldb-1 zero.
 */
export function copyBRows(call: SgemmCall, src: Float32Array, off: number, rs: number): void {
  const { view, K, N, b, ldb } = call;
  if (ldb === N && rs === N) {
    view.set(src.subarray(off, off + K * N), b);
    return;
  }
  for (let k = 0; k < K; k++) {
    const d = b + k * ldb;
    view.set(src.subarray(off + k * rs, off + k * rs + N), d);
    view.fill(0, d + N, d + ldb);
  }
}

/**
 * Packs A (element (i, k) at `off + i·rs + k·cs`) into MR-row panels at `dst`: panel p holds
 * A[p·MR + r, k] at dst + p·MR·K + k·MR + r. Rows past M are zero.
 */
export function packA(view: Float32Array, dst: number, M: number, K: number, src: ArrayLike<number>, off: number, rs: number, cs: number): void {
  const full = Math.floor(M / MR);
  if (cs === 1 && MR === 4 && src instanceof Float32Array && full > 0) {
    // Row-major float32 A, whole panels: four row streams in, one contiguous stream out.
    packA4(view, dst, full, K, src, off, rs);
    if (full * MR === M) return;
    packARows(view, dst, full * MR, M, K, src, off, rs, cs);
    return;
  }
  packARows(view, dst, 0, M, K, src, off, rs, cs);
}

function packA4(view: Float32Array, dst: number, panels: number, K: number, src: Float32Array, off: number, rs: number): void {
  let d = dst;
  for (let p = 0; p < panels; p++) {
    const s0 = off + p * 4 * rs;
    const s1 = s0 + rs;
    const s2 = s1 + rs;
    const s3 = s2 + rs;
    for (let k = 0; k < K; k++, d += 4) {
      view[d] = src[s0 + k]!;
      view[d + 1] = src[s1 + k]!;
      view[d + 2] = src[s2 + k]!;
      view[d + 3] = src[s3 + k]!;
    }
  }
}

/** Rows from..M of the panel layout (zero rows past M up to the panel boundary), any strides. */
function packARows(view: Float32Array, dst: number, from: number, M: number, K: number, src: ArrayLike<number>, off: number, rs: number, cs: number): void {
  const mp = Math.ceil(M / MR);
  for (let i = from; i < mp * MR; i++) {
    const d = dst + Math.floor(i / MR) * MR * K + (i % MR);
    if (i >= M) {
      for (let k = 0; k < K; k++) view[d + k * MR] = 0;
      continue;
    }
    const s = off + i * rs;
    if (cs === 1) for (let k = 0; k < K; k++) view[d + k * MR] = src[s + k]!;
    else for (let k = 0; k < K; k++) view[d + k * MR] = src[s + k * cs]!;
  }
}

/**
 * Packs B (element (k, j) at `off + k·rs + j·cs`) into NR-column panels at `dst`: panel q holds
 * B[k, q·NR + c] at dst + q·NR·K + k·NR + c. Columns past N are zero.
 */
export function packB(view: Float32Array, dst: number, K: number, N: number, src: ArrayLike<number>, off: number, rs: number, cs: number): void {
  const np = Math.ceil(N / NR);
  for (let q = 0; q < np; q++) {
    const d0 = dst + q * NR * K;
    const j0 = q * NR;
    const cols = Math.min(NR, N - j0);
    if (cs === 1 && cols === NR) {
      // Row-major B: each k row of the panel is 8 contiguous source floats.
      for (let k = 0; k < K; k++) {
        const s = off + k * rs + j0;
        const d = d0 + k * NR;
        view[d] = src[s]!; view[d + 1] = src[s + 1]!; view[d + 2] = src[s + 2]!; view[d + 3] = src[s + 3]!;
        view[d + 4] = src[s + 4]!; view[d + 5] = src[s + 5]!; view[d + 6] = src[s + 6]!; view[d + 7] = src[s + 7]!;
      }
      continue;
    }
    for (let c = 0; c < NR; c++) {
      if (c >= cols) {
        for (let k = 0; k < K; k++) view[d0 + k * NR + c] = 0;
        continue;
      }
      const s = off + (j0 + c) * cs;
      for (let k = 0; k < K; k++) view[d0 + k * NR + c] = src[s + k * rs]!;
    }
  }
}

/** Copies C out of a reservation into `out` (row pitch `ldo`, starting at `oOff`). */
export function unpackC(call: SgemmCall, out: Float32Array, oOff: number, ldo: number): void {
  const { M, N, view, c, ldc } = call;
  if (N === ldo && N === ldc) {
    out.set(view.subarray(c, c + M * N), oOff);
    return;
  }
  for (let i = 0; i < M; i++) {
    const s = c + i * ldc;
    const d = oOff + i * ldo;
    if (N >= 32) out.set(view.subarray(s, s + N), d);
    else for (let j = 0; j < N; j++) out[d + j] = view[s + j]!;
  }
}

/**
 * C[M×N] = A·B in float32 on the wasm kernel, with A(i, k) at `aOff + i·ars + k·acs` and B(k, j) at
 * `bOff + k·brs + j·bcs` (so transposed operands need no copy), C row-major at `cOff` with pitch `ldc`.
 * A row-major float32 B (bcs = 1) is copied in by rows; any other B is packed into panels.
 */
export function sgemm(
  M: number, N: number, K: number,
  A: ArrayLike<number>, aOff: number, ars: number, acs: number,
  B: ArrayLike<number>, bOff: number, brs: number, bcs: number,
  C: Float32Array, cOff: number, ldc: number,
): void {
  if (M === 0 || N === 0) return;
  const rows = bcs === 1 && B instanceof Float32Array;
  const call = sgemmReserve(M, N, K, rows ? 'rows' : 'panels');
  packA(call.view, call.a, M, K, A, aOff, ars, acs);
  if (rows) copyBRows(call, B, bOff, brs);
  else packB(call.view, call.b, K, N, B, bOff, brs, bcs);
  sgemmRun(call);
  unpackC(call, C, cOff, ldc);
}

export { MR, NR };
