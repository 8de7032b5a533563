import { assembleModule, FuncBody, I32, Op, Simd, V128, type FuncDef, type ValType } from './emit.js';

/** Rows of C per micro-tile (rows of a packed A panel). */
export const MR = 4;
/** Columns of C per micro-tile (columns of a packed B panel): two f32x4 vectors. */
export const NR = 8;

/**
 * Emits a wasm module exporting `memory` and
 *
 *   gemm(ap, bp, cp, mPanels, nPanels, K, ldc, ldb, bPanel)   all i32; addresses and strides in bytes
 *
 * which computes, for every panel pair, C[MR×NR tile] = Apanel[MR×K] · Bpanel[K×NR] (overwriting C).
 *   - A is packed as `mPanels` panels of MR rows: panel i holds, for k = 0..K-1, the MR values
 *     A[i·MR + r, k] (r = 0..MR-1) contiguously: MR·K floats per panel, starting at `ap`.
 *   - B's NR-column panel j starts at bp + j·bPanel; within it, row k's NR floats start `ldb` bytes
 *     after row k-1's. Packed panels (NR·K floats each) use ldb = NR·4, bPanel = NR·K·4; a plain
 *     row-major B with a row pitch of P floats (P a multiple of NR, padding columns zero) uses
 *     ldb = P·4, bPanel = NR·4, so row-major operands and im2col need no panel packing.
 *   - C is row-major with a row pitch of `ldc` bytes; tile (i, j) starts at cp + i·MR·ldc + j·NR·4.
 * Requires mPanels, nPanels, K >= 1 (the caller handles empty products).
 *
 * The micro-kernel keeps the MR×NR tile in 2·MR f32x4 accumulators; each k step loads two f32x4 of
 * B, and per row splats one A value (v128.load32_splat) and does acc += a·b as f32x4.mul + f32x4.add
 * (wasm SIMD has no fused multiply-add outside relaxed-simd). Accumulation is in float32, in k order,
 * like onnxruntime's MLAS kernels. Loops: j panels outer (a B panel, NR·K floats, stays in L1
 * while every A panel of the block streams past it), i panels inner, k innermost.
 */
export function sgemmModuleBytes(): Uint8Array<ArrayBuffer> {
  const params: ValType[] = [I32, I32, I32, I32, I32, I32, I32, I32, I32];
  const f = new FuncBody(params);
  const [ap, bp, cp, mPanels, nPanels, K, ldc, ldb, bPanel] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const jp = f.local(I32);
  const ip = f.local(I32);
  const pa = f.local(I32);
  const pb = f.local(I32);
  const k = f.local(I32);
  const c = f.local(I32);
  const bBase = f.local(I32);
  const acc: number[][] = Array.from({ length: MR }, () => [f.local(V128), f.local(V128)]);
  const b0 = f.local(V128);
  const b1 = f.local(V128);
  const a = f.local(V128);
  const vec = { align: 4, offset: 0 };

  // bBase = bp; jp = 0
  f.get(bp).set(bBase);
  f.i32(0).set(jp);
  f.op(Op.loop, Op.void); // ---- j panels
  {
    f.i32(0).set(ip);
    f.get(ap).set(pa);
    f.op(Op.loop, Op.void); // ---- i panels
    {
      for (const row of acc) for (const v of row) f.f32x4Const(0).set(v);
      f.get(bBase).set(pb);
      f.get(K).set(k);
      f.op(Op.loop, Op.void); // ---- k
      {
        f.get(pb).simd(Simd.v128Load, { align: 4, offset: 0 }).set(b0);
        f.get(pb).simd(Simd.v128Load, { align: 4, offset: 16 }).set(b1);
        for (let r = 0; r < MR; r++) {
          f.get(pa).simd(Simd.v128Load32Splat, { align: 2, offset: r * 4 }).set(a);
          f.get(acc[r]![0]!).get(a).get(b0).simd(Simd.f32x4Mul).simd(Simd.f32x4Add).set(acc[r]![0]!);
          f.get(acc[r]![1]!).get(a).get(b1).simd(Simd.f32x4Mul).simd(Simd.f32x4Add).set(acc[r]![1]!);
        }
        f.get(pa).i32(MR * 4).op(Op.i32Add).set(pa);
        f.get(pb).get(ldb).op(Op.i32Add).set(pb);
        f.get(k).i32(1).op(Op.i32Sub).tee(k).op(Op.brIf, 0);
      }
      f.op(Op.end);
      // c = cp + ip * MR * ldc + jp * NR * 4; store the tile row by row.
      f.get(cp).get(ip).get(ldc).op(Op.i32Mul).i32(MR).op(Op.i32Mul).op(Op.i32Add)
        .get(jp).i32(NR * 4).op(Op.i32Mul).op(Op.i32Add).set(c);
      for (let r = 0; r < MR; r++) {
        f.get(c).get(acc[r]![0]!).simd(Simd.v128Store, vec);
        f.get(c).get(acc[r]![1]!).simd(Simd.v128Store, { align: 4, offset: 16 });
        if (r < MR - 1) f.get(c).get(ldc).op(Op.i32Add).set(c);
      }
      // pa already points at the next A panel (it advanced K · MR floats).
      f.get(ip).i32(1).op(Op.i32Add).tee(ip).get(mPanels).op(Op.i32LtU).op(Op.brIf, 0);
    }
    f.op(Op.end);
    f.get(bBase).get(bPanel).op(Op.i32Add).set(bBase);
    f.get(jp).i32(1).op(Op.i32Add).tee(jp).get(nPanels).op(Op.i32LtU).op(Op.brIf, 0);
  }
  f.op(Op.end);
  return assembleModule([{ name: 'gemm', params, results: [], body: f }, gatherFunc()]);
}

/**
 * gather(dst, ldb, src, imgStride, idx, K, P, images)        addresses and strides in bytes
 *
 * The im2col gather for convolutions: for each row kk < K, image n < images and column p < P,
 *   f32[dst + kk·ldb + (n·P + p)·4] = f32[src + n·imgStride + i32[idx + (kk·P + p)·4]]
 * i.e. an index table (byte offsets into one zero-padded input image) applied to every image of a
 * chunk, writing the GEMM's B operand in the 'rows' layout. Requires K, P, images >= 1.
 */
function gatherFunc(): FuncDef {
  const params: ValType[] = [I32, I32, I32, I32, I32, I32, I32, I32];
  const f = new FuncBody(params);
  const [dst, ldb, src, imgStride, idx, K, P, images] = [0, 1, 2, 3, 4, 5, 6, 7];
  const kk = f.local(I32);
  const n = f.local(I32);
  const p = f.local(I32);
  const d = f.local(I32);
  const s = f.local(I32);
  const t = f.local(I32);
  f.get(K).set(kk);
  f.op(Op.loop, Op.void); // ---- rows
  {
    f.get(dst).set(d);
    f.get(src).set(s);
    f.get(images).set(n);
    f.op(Op.loop, Op.void); // ---- images
    {
      f.get(idx).set(t);
      f.get(P).set(p);
      f.op(Op.loop, Op.void); // ---- columns
      {
        // f32[d] = f32[s + i32[t]]
        f.get(d).get(s).get(t).mem(Op.i32Load, 2).op(Op.i32Add).mem(Op.f32Load, 2).mem(Op.f32Store, 2);
        f.get(d).i32(4).op(Op.i32Add).set(d);
        f.get(t).i32(4).op(Op.i32Add).set(t);
        f.get(p).i32(1).op(Op.i32Sub).tee(p).op(Op.brIf, 0);
      }
      f.op(Op.end);
      f.get(s).get(imgStride).op(Op.i32Add).set(s);
      f.get(n).i32(1).op(Op.i32Sub).tee(n).op(Op.brIf, 0);
    }
    f.op(Op.end);
    f.get(dst).get(ldb).op(Op.i32Add).set(dst);
    f.get(idx).get(P).i32(4).op(Op.i32Mul).op(Op.i32Add).set(idx);
    f.get(kk).i32(1).op(Op.i32Sub).tee(kk).op(Op.brIf, 0);
  }
  f.op(Op.end);
  return { name: 'gather', params, results: [], body: f };
}
