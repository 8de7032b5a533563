import type { DType } from '../dtype.js';
import type { Dim, Node, ValueType } from '../graph.js';
import type { CostRule, FloatAlloc, InferContext, OpSchema } from '../registry.js';
import { sizeOf, stridesOf, Tensor } from '../tensor.js';
import { gemmABt, gemmStrided, transpose2d, wasmGemm, type FloatArray, type GemmPath } from './gemm.js';
import { packA, sgemmGather, sgemmReserve, sgemmRun } from './wasm/sgemm.js';
import { asWork, fromWork, workArray } from './linalg.js';
import {
  broadcastIndex, elementwiseCost, fmtShape, fromNums, intsOf, ioCost, known, normAxis, numel, nums, opsetOf, optInts,
  scalarOf, toF64, typeOf,
} from './util.js';

// ---------------- window geometry (Conv, pools) ----------------

export interface Geometry {
  strides: number[];
  dilations: number[];
  padBegin: number[];
  padEnd: number[];
  out: Dim[];
}

/** Output spatial dims and effective pads for Conv / pools, following auto_pad and ceil_mode. */
export function windowGeometry(node: Node, inS: readonly Dim[], kernel: readonly number[], ceil = false): Geometry {
  const r = kernel.length;
  const strides = optInts(node, 'strides') ?? new Array<number>(r).fill(1);
  const dilations = optInts(node, 'dilations') ?? new Array<number>(r).fill(1);
  const pads = optInts(node, 'pads') ?? new Array<number>(2 * r).fill(0);
  const auto = node.attrs.has('auto_pad') ? node.string('auto_pad') : 'NOTSET';
  if (strides.length !== r || dilations.length !== r || pads.length !== 2 * r) {
    throw new Error(`strides [${strides}], dilations [${dilations}] and pads [${pads}] do not match ${r} spatial dims`);
  }
  const padBegin = pads.slice(0, r);
  const padEnd = pads.slice(r);
  const out: Dim[] = [];
  for (let i = 0; i < r; i++) {
    const inD = inS[i];
    const s = strides[i]!;
    const dk = (kernel[i]! - 1) * dilations[i]! + 1;
    if (typeof inD !== 'number') { out.push(null); continue; }
    if (auto === 'SAME_UPPER' || auto === 'SAME_LOWER') {
      const o = Math.ceil(inD / s);
      const total = Math.max(0, (o - 1) * s + dk - inD);
      const small = Math.floor(total / 2);
      padBegin[i] = auto === 'SAME_UPPER' ? small : total - small;
      padEnd[i] = total - padBegin[i]!;
      out.push(o);
    } else if (auto === 'VALID') {
      padBegin[i] = 0;
      padEnd[i] = 0;
      out.push(Math.floor((inD - dk) / s) + 1);
    } else if (auto === 'NOTSET') {
      const span = inD + padBegin[i]! + padEnd[i]! - dk;
      let o = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
      if (ceil && (o - 1) * s >= inD + padBegin[i]!) o--;
      out.push(o);
    } else {
      throw new Error(`auto_pad is '${auto}'; valid: NOTSET, SAME_UPPER, SAME_LOWER, VALID`);
    }
  }
  for (const o of out) if (typeof o === 'number' && o <= 0) throw new Error(`window does not fit: output spatial dims [${out.join(', ')}] from input [${inS.join(', ')}], kernel [${kernel.join(', ')}]`);
  return { strides, dilations, padBegin, padEnd, out };
}

/** Pads a spatial vector to 3 dims (D, H, W) so one loop nest serves 1-D, 2-D and 3-D. */
function to3(v: readonly number[], fill: number): number[] {
  if (v.length > 3) throw new Error(`${v.length} spatial dims are not supported (at most 3)`);
  return [...new Array<number>(3 - v.length).fill(fill), ...v];
}

// ---------------- Conv ----------------

function convInfer(ctx: InferContext): (ValueType | undefined)[] {
  const [x, w] = ctx.inputs;
  if (!x) return [undefined];
  if (!x.shape || !w?.shape) return [{ dtype: x.dtype }];
  if (x.shape.length < 3) throw new Error(`input X ${fmtShape(x.shape)} must have rank >= 3 (N, C, spatial...)`);
  if (w.shape.length !== x.shape.length) throw new Error(`W ${fmtShape(w.shape)} and X ${fmtShape(x.shape)} differ in rank`);
  const group = ctx.node.int('group', 1);
  const c = x.shape[1];
  const wc = w.shape[1];
  if (typeof c === 'number' && typeof wc === 'number' && c !== wc * group) {
    throw new Error(`input X has ${c} channels, W expects ${wc * group}${group > 1 ? ` (${wc} x group ${group})` : ''}`);
  }
  const k = optInts(ctx.node, 'kernel_shape') ?? w.shape.slice(2);
  if (!known(k)) return [{ dtype: x.dtype, shape: [x.shape[0]!, w.shape[0]!, ...x.shape.slice(2).map(() => null)] }];
  const g = windowGeometry(ctx.node, x.shape.slice(2), k);
  return [{ dtype: x.dtype, shape: [x.shape[0]!, w.shape[0]!, ...g.out] }];
}

/** im2row for one image and group: rows are output positions, columns (channel, kernel offset). */
function im2row(
  X: FloatArray, xOff: number, C: number, inS: number[], k: number[], g: Geometry3, outS: number[], P: FloatArray,
): void {
  const [D, H, W] = inS as [number, number, number];
  const [kD, kH, kW] = k as [number, number, number];
  const [oD, oH, oW] = outS as [number, number, number];
  const [sD, sH, sW] = g.strides;
  const [dD, dH, dW] = g.dilations;
  const [pD, pH, pW] = g.padBegin;
  const CK = C * kD * kH * kW;
  const HW = H * W;
  const DHW = D * HW;
  let row = 0;
  for (let od = 0; od < oD; od++) {
    for (let oh = 0; oh < oH; oh++) {
      for (let ow = 0; ow < oW; ow++, row++) {
        let col = row * CK;
        const id0 = od * sD - pD;
        const ih0 = oh * sH - pH;
        const iw0 = ow * sW - pW;
        for (let c = 0; c < C; c++) {
          const xc = xOff + c * DHW;
          for (let kd = 0; kd < kD; kd++) {
            const id = id0 + kd * dD;
            const okD = id >= 0 && id < D;
            for (let kh = 0; kh < kH; kh++) {
              const ih = ih0 + kh * dH;
              if (!okD || ih < 0 || ih >= H) {
                for (let kw = 0; kw < kW; kw++) P[col++] = 0;
                continue;
              }
              const xr = xc + id * HW + ih * W;
              for (let kw = 0; kw < kW; kw++) {
                const iw = iw0 + kw * dW;
                P[col++] = iw >= 0 && iw < W ? X[xr + iw]! : 0;
              }
            }
          }
        }
      }
    }
  }
}

/** Elements of im2row scratch per chunk of images (16 MiB of float32). */
const PATCH_BUDGET = 4 * 1024 * 1024;

interface Geometry3 {
  strides: number[];
  dilations: number[];
  padBegin: number[];
}

interface GatherPlan {
  /** Zero-padded input dims (D, H, W) that every window reads inside. */
  padded: [number, number, number];
  /** K·P byte offsets into one padded image (channels of one group), row kk = (c, kd, kh, kw). */
  table: Int32Array;
}

// Gather tables depend only on the conv geometry; memoised (bounded) so repeated runs reuse them.
const gatherPlans = new Map<string, GatherPlan>();

function gatherPlan(Cg: number, inS: number[], k: number[], g: Geometry3, outS: number[]): GatherPlan {
  const key = [Cg, ...inS, ...k, ...g.strides, ...g.dilations, ...g.padBegin, ...outS].join(',');
  const hit = gatherPlans.get(key);
  if (hit) return hit;
  const [kD, kH, kW] = k as [number, number, number];
  const [oD, oH, oW] = outS as [number, number, number];
  const [sD, sH, sW] = g.strides as [number, number, number];
  const [dD, dH, dW] = g.dilations as [number, number, number];
  const span = (i: number, o: number, s: number, kk: number, d: number) => Math.max(inS[i]! + g.padBegin[i]!, (o - 1) * s + (kk - 1) * d + 1);
  const Dp = span(0, oD, sD, kD, dD);
  const Hp = span(1, oH, sH, kH, dH);
  const Wp = span(2, oW, sW, kW, dW);
  const P = oD * oH * oW;
  const table = new Int32Array(Cg * kD * kH * kW * P);
  let t = 0;
  for (let c = 0; c < Cg; c++) for (let kd = 0; kd < kD; kd++) for (let kh = 0; kh < kH; kh++) for (let kw = 0; kw < kW; kw++) {
    for (let od = 0; od < oD; od++) for (let oh = 0; oh < oH; oh++) {
      const rowBase = ((c * Dp + od * sD + kd * dD) * Hp + oh * sH + kh * dH) * Wp + kw * dW;
      for (let ow = 0; ow < oW; ow++) table[t++] = (rowBase + ow * sW) * 4;
    }
  }
  const plan: GatherPlan = { padded: [Dp, Hp, Wp], table };
  if (gatherPlans.size >= 32) gatherPlans.clear();
  gatherPlans.set(key, plan);
  return plan;
}

/**
 * Float32 Conv on the wasm GEMM: per group and chunk of images, the chunk's group channels are copied
 * zero-padded into wasm memory, gathered into im2col rows by the wasm `gather` (index table per
 * geometry), then Y_g[OCg, chunk·P] = W_g[OCg, CK] · im2col[CK, chunk·P]; each result row is an NCHW
 * run, copied out with the bias added.
 */
function conv2dWasm(
  X: Float32Array, Wt: Float32Array, bias: ArrayLike<number> | undefined, N: number, C: number, OC: number, group: number,
  in3: number[], k3: number[], g3: Geometry3, out3: number[], Y: Float32Array,
): void {
  const Cg = C / group;
  const OCg = OC / group;
  const CK = Cg * sizeOf(k3);
  const Pn = sizeOf(out3);
  const inSize = sizeOf(in3);
  const [D, H, W] = in3 as [number, number, number];
  const plan = gatherPlan(Cg, in3, k3, g3, out3);
  const [Dp, Hp, Wp] = plan.padded;
  const img = Cg * Dp * Hp * Wp;
  const [pD, pH, pW] = g3.padBegin as [number, number, number];
  const unpadded = Dp === D && Hp === H && Wp === W;
  const chunk = Math.max(1, Math.min(N, Math.floor(PATCH_BUDGET / Math.max(1, Pn * CK + img))));
  for (let g = 0; g < group; g++) {
    for (let n0 = 0; n0 < N; n0 += chunk) {
      const cn = Math.min(chunk, N - n0);
      const call = sgemmReserve(OCg, cn * Pn, CK, 'rows', plan.table.length + cn * img);
      const { view } = call;
      const idx = call.extra;
      const xs = idx + plan.table.length;
      new Int32Array(view.buffer).set(plan.table, idx);
      if (unpadded && group === 1) view.set(X.subarray(n0 * C * inSize, (n0 + cn) * C * inSize), xs);
      else {
        if (!unpadded) view.fill(0, xs, xs + cn * img);
        for (let q = 0; q < cn; q++) {
          const src = ((n0 + q) * C + g * Cg) * inSize;
          const dst = xs + q * img;
          if (unpadded) { view.set(X.subarray(src, src + Cg * inSize), dst); continue; }
          for (let c = 0; c < Cg; c++) for (let d = 0; d < D; d++) for (let h = 0; h < H; h++) {
            const s0 = src + (c * D + d) * H * W + h * W;
            const d0 = dst + ((c * Dp + d + pD) * Hp + h + pH) * Wp + pW;
            for (let w = 0; w < W; w++) view[d0 + w] = X[s0 + w]!;
          }
        }
      }
      packA(view, call.a, OCg, CK, Wt, g * OCg * CK, CK, 1);
      sgemmGather(call, xs, img, idx, Pn, cn);
      sgemmRun(call);
      for (let o = 0; o < OCg; o++) {
        const oc = g * OCg + o;
        const bv = bias ? bias[oc]! : 0;
        for (let q = 0; q < cn; q++) {
          const s0 = call.c + o * call.ldc + q * Pn;
          const d0 = ((n0 + q) * OC + oc) * Pn;
          for (let p = 0; p < Pn; p++) Y[d0 + p] = view[s0 + p]! + bv;
        }
      }
    }
  }
}

export function conv2d(x: Tensor, w: Tensor, b: Tensor | undefined, node: Node, path: GemmPath = 'auto', alloc?: FloatAlloc): Tensor {
  if (x.rank < 3) throw new Error(`input X [${x.shape.join(', ')}] must have rank >= 3`);
  if (w.rank !== x.rank) throw new Error(`W [${w.shape.join(', ')}] and X [${x.shape.join(', ')}] differ in rank`);
  const group = node.int('group', 1);
  const [N, C] = x.shape as [number, number];
  const OC = w.shape[0]!;
  const Cg = w.shape[1]!;
  if (C !== Cg * group) throw new Error(`input X has ${C} channels, W expects ${Cg * group}`);
  if (OC % group !== 0) throw new Error(`W has ${OC} output channels, not divisible by group ${group}`);
  if (b && b.size !== OC) throw new Error(`bias B has ${b.size} elements, W has ${OC} output channels`);
  const kS = w.shape.slice(2);
  const geo = windowGeometry(node, x.shape.slice(2), kS);
  const outS = geo.out as number[];
  const in3 = to3(x.shape.slice(2), 1);
  const k3 = to3(kS, 1);
  const out3 = to3(outS, 1);
  const g3: Geometry3 = { strides: to3(geo.strides, 1), dilations: to3(geo.dilations, 1), padBegin: to3(geo.padBegin, 0) };
  const X = asWork(x);
  const Wt = asWork(w);
  const OCg = OC / group;
  const CK = Cg * sizeOf(k3);
  const Pn = sizeOf(out3);
  const inSize = sizeOf(in3);
  const Y = workArray(x.dtype, N * OC * Pn, alloc);
  if (wasmGemm(Y, path)) {
    conv2dWasm(X as Float32Array, Wt as Float32Array, b ? nums(b) : undefined, N, C, OC, group, in3, k3, g3, out3, Y as Float32Array);
    return fromWork(x.dtype, [N, OC, ...outS], Y);
  }
  // Images are lowered in chunks (bounded scratch) so one GEMM covers many output positions:
  // tmp[chunk·P, OCg] = patches[chunk·P, CK] · W_gᵀ, then each image's block is transposed into Y.
  const chunk = Math.max(1, Math.min(N, Math.floor(PATCH_BUDGET / Math.max(1, Pn * CK))));
  const patches = workArray(x.dtype, chunk * Pn * CK);
  const tmp = workArray(x.dtype, chunk * Pn * OCg);
  for (let g = 0; g < group; g++) {
    for (let n0 = 0; n0 < N; n0 += chunk) {
      const cn = Math.min(chunk, N - n0);
      for (let q = 0; q < cn; q++) im2row(X, ((n0 + q) * C + g * Cg) * inSize, Cg, in3, k3, g3, out3, patches.subarray(q * Pn * CK));
      gemmABt(cn * Pn, OCg, CK, patches, 0, Wt, g * OCg * CK, tmp, 0);
      for (let q = 0; q < cn; q++) transpose2d(tmp, q * Pn * OCg, Pn, OCg, Y, ((n0 + q) * OC + g * OCg) * Pn);
    }
  }
  if (b) {
    const B = nums(b);
    for (let n = 0; n < N; n++) {
      for (let o = 0; o < OC; o++) {
        const bv = B[o]!;
        const base = (n * OC + o) * Pn;
        for (let p = 0; p < Pn; p++) Y[base + p] += bv;
      }
    }
  }
  return fromWork(x.dtype, [N, OC, ...outS], Y);
}

export const convCost: CostRule = (node) => {
  const y = node.outputs[0]?.type?.shape;
  const w = node.inputs[1]?.type?.shape;
  if (!known(y) || !known(w)) return ioCost(node);
  return { ...ioCost(node), macs: sizeOf(y) * sizeOf(w.slice(1)), flops: node.inputs[2] ? sizeOf(y) : 0 };
};

const convAttrs: OpSchema['attrs'] = {
  auto_pad: { type: 'string', default: 'NOTSET' }, dilations: { type: 'ints' }, group: { type: 'int', default: 1 },
  kernel_shape: { type: 'ints' }, pads: { type: 'ints' }, strides: { type: 'ints' },
};

const convOp: OpSchema = {
  op: 'Conv',
  inputs: [{ name: 'X' }, { name: 'W' }, { name: 'B', optional: true }],
  outputs: [{ name: 'Y' }],
  attrs: convAttrs,
  infer: convInfer,
  kernel: ({ node, inputs, alloc }) => [conv2d(inputs[0]!, inputs[1]!, inputs[2], node, 'auto', alloc)],
  variants: { js: ({ node, inputs }) => [conv2d(inputs[0]!, inputs[1]!, inputs[2], node, 'js')] },
  cost: convCost,
};

// ---------------- ConvTranspose ----------------

interface TGeometry {
  strides: number[];
  dilations: number[];
  padBegin: number[];
  out: Dim[];
}

function transposeGeometry(node: Node, inS: readonly Dim[], k: readonly number[]): TGeometry {
  const r = k.length;
  const strides = optInts(node, 'strides') ?? new Array<number>(r).fill(1);
  const dilations = optInts(node, 'dilations') ?? new Array<number>(r).fill(1);
  const outPad = optInts(node, 'output_padding') ?? new Array<number>(r).fill(0);
  const pads = optInts(node, 'pads') ?? new Array<number>(2 * r).fill(0);
  const auto = node.attrs.has('auto_pad') ? node.string('auto_pad') : 'NOTSET';
  let outShape = optInts(node, 'output_shape');
  if (outShape && outShape.length === r + 2) outShape = outShape.slice(2);
  const padBegin = pads.slice(0, r);
  const out: Dim[] = [];
  for (let i = 0; i < r; i++) {
    const inD = inS[i];
    if (typeof inD !== 'number') { out.push(null); continue; }
    const dk = (k[i]! - 1) * dilations[i]! + 1;
    const full = strides[i]! * (inD - 1) + outPad[i]! + dk;
    if (outShape || auto === 'SAME_UPPER' || auto === 'SAME_LOWER') {
      const o = outShape ? outShape[i]! : inD * strides[i]!;
      const total = full - o;
      const half = Math.floor(total / 2);
      padBegin[i] = auto === 'SAME_UPPER' ? half : total - half;
      out.push(o);
    } else if (auto === 'VALID') {
      padBegin[i] = 0;
      out.push(full);
    } else {
      out.push(full - pads[i]! - pads[i + r]!);
    }
  }
  return { strides, dilations, padBegin, out };
}

function convTranspose(x: Tensor, w: Tensor, b: Tensor | undefined, node: Node, path: GemmPath = 'auto'): Tensor {
  const group = node.int('group', 1);
  const [N, C] = x.shape as [number, number];
  if (w.shape[0] !== C) throw new Error(`input X has ${C} channels, W expects ${w.shape[0]}`);
  const Mg = w.shape[1]!;
  const M = Mg * group;
  const Cg = C / group;
  const kS = w.shape.slice(2);
  const geo = transposeGeometry(node, x.shape.slice(2), kS);
  const outS = geo.out as number[];
  const in3 = to3(x.shape.slice(2), 1);
  const k3 = to3(kS, 1);
  const out3 = to3(outS, 1);
  const [sD, sH, sW] = to3(geo.strides, 1) as [number, number, number];
  const [dD, dH, dW] = to3(geo.dilations, 1) as [number, number, number];
  const [pD, pH, pW] = to3(geo.padBegin, 0) as [number, number, number];
  const [D, H, W] = in3 as [number, number, number];
  const [kD, kH, kW] = k3 as [number, number, number];
  const [oD, oH, oW] = out3 as [number, number, number];
  const Kp = kD * kH * kW;
  const Pin = D * H * W;
  const Pout = oD * oH * oW;
  const X = asWork(x);
  const Wd = asWork(w);
  const Y = workArray(x.dtype, N * M * Pout);
  const Wt = workArray(x.dtype, Mg * Kp * Cg);
  const Xt = workArray(x.dtype, Pin * Cg);
  const cols = workArray(x.dtype, Mg * Kp * Pin);
  const fast = wasmGemm(cols, path);
  for (let g = 0; g < group; g++) {
    if (!fast) transpose2d(Wd, g * Cg * Mg * Kp, Cg, Mg * Kp, Wt, 0);
    for (let n = 0; n < N; n++) {
      // cols[Mg·Kp, Pin] = W_gᵀ[Mg·Kp, Cg] · X_n,g[Cg, Pin]
      if (fast) gemmStrided(Mg * Kp, Pin, Cg, Wd, g * Cg * Mg * Kp, 1, Mg * Kp, X, (n * C + g * Cg) * Pin, Pin, 1, cols, 0, Pin);
      else {
        transpose2d(X, (n * C + g * Cg) * Pin, Cg, Pin, Xt, 0);
        gemmABt(Mg * Kp, Pin, Cg, Wt, 0, Xt, 0, cols, 0);
      }
      for (let m = 0; m < Mg; m++) {
        const yBase = (n * M + g * Mg + m) * Pout;
        for (let kd = 0; kd < kD; kd++) for (let kh = 0; kh < kH; kh++) for (let kw = 0; kw < kW; kw++) {
          const cBase = ((m * kD + kd) * kH * kW + kh * kW + kw) * Pin;
          for (let id = 0; id < D; id++) {
            const od = id * sD - pD + kd * dD;
            if (od < 0 || od >= oD) continue;
            for (let ih = 0; ih < H; ih++) {
              const oh = ih * sH - pH + kh * dH;
              if (oh < 0 || oh >= oH) continue;
              const cRow = cBase + (id * H + ih) * W;
              const yRow = yBase + (od * oH + oh) * oW;
              for (let iw = 0; iw < W; iw++) {
                const ow = iw * sW - pW + kw * dW;
                if (ow >= 0 && ow < oW) Y[yRow + ow] += cols[cRow + iw]!;
              }
            }
          }
        }
      }
    }
  }
  if (b) {
    const B = nums(b);
    for (let n = 0; n < N; n++) for (let m = 0; m < M; m++) {
      const base = (n * M + m) * Pout;
      for (let p = 0; p < Pout; p++) Y[base + p] += B[m]!;
    }
  }
  return fromWork(x.dtype, [N, M, ...outS], Y);
}

const convTransposeOp: OpSchema = {
  op: 'ConvTranspose',
  inputs: [{ name: 'X' }, { name: 'W' }, { name: 'B', optional: true }],
  outputs: [{ name: 'Y' }],
  attrs: { ...convAttrs, output_padding: { type: 'ints' }, output_shape: { type: 'ints' } },
  infer: (ctx) => {
    const [x, w] = ctx.inputs;
    if (!x) return [undefined];
    if (!x.shape || !w?.shape) return [{ dtype: x.dtype }];
    const c = x.shape[1];
    if (typeof c === 'number' && typeof w.shape[0] === 'number' && c !== w.shape[0]) throw new Error(`input X has ${c} channels, W expects ${w.shape[0]}`);
    const k = optInts(ctx.node, 'kernel_shape') ?? w.shape.slice(2);
    const m = w.shape[1];
    const M = typeof m === 'number' ? m * ctx.node.int('group', 1) : null;
    if (!known(k)) return [{ dtype: x.dtype, shape: [x.shape[0]!, M, ...x.shape.slice(2).map(() => null)] }];
    return [{ dtype: x.dtype, shape: [x.shape[0]!, M, ...transposeGeometry(ctx.node, x.shape.slice(2), k).out] }];
  },
  kernel: ({ node, inputs }) => [convTranspose(inputs[0]!, inputs[1]!, inputs[2], node)],
  variants: { js: ({ node, inputs }) => [convTranspose(inputs[0]!, inputs[1]!, inputs[2], node, 'js')] },
  cost: (node) => {
    const x = node.inputs[0]?.type?.shape;
    const w = node.inputs[1]?.type?.shape;
    if (!known(x) || !known(w)) return ioCost(node);
    return { ...ioCost(node), macs: sizeOf(x) * sizeOf(w.slice(1)) };
  },
};

// ---------------- pools ----------------

type PoolKind = 'max' | 'avg' | 'lp';

/**
 * Float32 2-D max pooling over windows that lie inside the input (no padding, no dilation), on
 * order-preserving integer keys: key(bits) = bits ^ ((bits >> 31) & 0x7fffffff) orders floats like
 * their values, and the max of two keys is taken with a mask instead of a branch (a `v > m` compare
 * mispredicts about every third tap on activations). Returns false, leaving Y untouched, when the
 * input holds a NaN (the generic loop keeps its own NaN behaviour); ties between -0 and +0 give +0.
 */
function maxPool2dKeys(
  X: Float32Array, NC: number, H: number, W: number, kH: number, kW: number, sH: number, sW: number, oH: number, oW: number, Y: Float32Array,
): boolean {
  const xi = new Int32Array(X.buffer, X.byteOffset, X.length);
  for (let i = 0; i < xi.length; i++) if ((xi[i]! & 0x7fffffff) > 0x7f800000) return false;
  const yi = new Int32Array(Y.buffer, Y.byteOffset, Y.length);
  let q = 0;
  if (kH === 2 && kW === 2) {
    // The common 2x2 window, unrolled.
    for (let p = 0; p < NC; p++) {
      const base = p * H * W;
      for (let oh = 0; oh < oH; oh++) {
        const r0 = base + oh * sH * W;
        const r1 = r0 + W;
        for (let ow = 0, c = 0; ow < oW; ow++, q++, c += sW) {
          let a = xi[r0 + c]!; a ^= (a >> 31) & 0x7fffffff;
          let b = xi[r0 + c + 1]!; b ^= (b >> 31) & 0x7fffffff;
          let d = xi[r1 + c]!; d ^= (d >> 31) & 0x7fffffff;
          let e = xi[r1 + c + 1]!; e ^= (e >> 31) & 0x7fffffff;
          a ^= (a ^ b) & -(a < b);
          d ^= (d ^ e) & -(d < e);
          a ^= (a ^ d) & -(a < d);
          yi[q] = a ^ ((a >> 31) & 0x7fffffff);
        }
      }
    }
    return true;
  }
  for (let p = 0; p < NC; p++) {
    const base = p * H * W;
    for (let oh = 0; oh < oH; oh++) {
      const r0 = base + oh * sH * W;
      for (let ow = 0; ow < oW; ow++, q++) {
        const c0 = r0 + ow * sW;
        let m = xi[c0]!;
        m ^= (m >> 31) & 0x7fffffff;
        for (let kh = 0; kh < kH; kh++) {
          const r = c0 + kh * W;
          for (let kw = 0; kw < kW; kw++) {
            let v = xi[r + kw]!;
            v ^= (v >> 31) & 0x7fffffff;
            m ^= (m ^ v) & -(m < v);
          }
        }
        yi[q] = m ^ ((m >> 31) & 0x7fffffff);
      }
    }
  }
  return true;
}

function pool(x: Tensor, node: Node, kind: PoolKind, withIndices: boolean, alloc?: FloatAlloc): Tensor[] {
  const k = node.ints('kernel_shape');
  if (k.length !== x.rank - 2) throw new Error(`kernel_shape [${k}] does not match input [${x.shape.join(', ')}]`);
  const geo = windowGeometry(node, x.shape.slice(2), k, node.int('ceil_mode', 0) !== 0);
  const outS = geo.out as number[];
  const [D, H, W] = to3(x.shape.slice(2), 1) as [number, number, number];
  const [kD, kH, kW] = to3(k, 1) as [number, number, number];
  const [oD, oH, oW] = to3(outS, 1) as [number, number, number];
  const [sD, sH, sW] = to3(geo.strides, 1) as [number, number, number];
  const [dD, dH, dW] = to3(geo.dilations, 1) as [number, number, number];
  const [pD, pH, pW] = to3(geo.padBegin, 0) as [number, number, number];
  const [eD, eH, eW] = to3(geo.padEnd, 0) as [number, number, number];
  const NC = x.shape[0]! * x.shape[1]!;
  const X = nums(x);
  const inSize = D * H * W;
  const outSize = oD * oH * oW;
  const Y = x.dtype === 'float32' ? (alloc ? alloc('float32', NC * outSize) : new Float32Array(NC * outSize)) : new Float64Array(NC * outSize);
  const I = withIndices ? new BigInt64Array(NC * outSize) : undefined;
  const includePad = node.int('count_include_pad', 0) !== 0;
  const p = kind === 'lp' ? node.int('p', 2) : 0;
  const colMajor = node.int('storage_order', 0) === 1;
  // Per output coordinate and dim: the valid kernel taps [lo, hi) and the taps inside the padded extent.
  const ranges = (n: number, s: number, p: number, k: number, d: number, len: number, pe: number) => {
    const lo = new Int32Array(n);
    const hi = new Int32Array(n);
    const padded = new Int32Array(n);
    for (let o = 0; o < n; o++) {
      const st = o * s - p;
      let l = 0;
      while (l < k && st + l * d < 0) l++;
      let h = k;
      while (h > l && st + (h - 1) * d >= len) h--;
      lo[o] = l;
      hi[o] = h;
      let c = 0;
      for (let q = 0; q < k; q++) { const pos = st + q * d; if (pos >= -p && pos < len + pe) c++; }
      padded[o] = c;
    }
    return { lo, hi, padded };
  };
  if (kind === 'max' && !I && x.dtype === 'float32' && D === 1 && kD === 1 && dH === 1 && dW === 1 && pH === 0 && pW === 0 &&
    (oH - 1) * sH + kH <= H && (oW - 1) * sW + kW <= W && maxPool2dKeys(X as Float32Array, NC, H, W, kH, kW, sH, sW, oH, oW, Y as Float32Array)) {
    return [new Tensor('float32', [x.shape[0]!, x.shape[1]!, ...outS], Y)];
  }
  const rd = ranges(oD, sD, pD, kD, dD, D, eD);
  const rh = ranges(oH, sH, pH, kH, dH, H, eH);
  const rw = ranges(oW, sW, pW, kW, dW, W, eW);
  let o = 0;
  for (let nc = 0; nc < NC; nc++) {
    const base = nc * inSize;
    for (let od = 0; od < oD; od++) for (let oh = 0; oh < oH; oh++) for (let ow = 0; ow < oW; ow++, o++) {
      const d0 = od * sD - pD;
      const h0 = oh * sH - pH;
      const w0 = ow * sW - pW;
      const kd0 = rd.lo[od]!, kd1 = rd.hi[od]!, kh0 = rh.lo[oh]!, kh1 = rh.hi[oh]!, kw0 = rw.lo[ow]!, kw1 = rw.hi[ow]!;
      let acc = kind === 'max' ? -Infinity : 0;
      let arg = -1;
      for (let kd = kd0; kd < kd1; kd++) {
        const id = d0 + kd * dD;
        for (let kh = kh0; kh < kh1; kh++) {
          const row = (id * H + h0 + kh * dH) * W + w0;
          if (kind === 'max') {
            for (let kw = kw0; kw < kw1; kw++) {
              const idx = row + kw * dW;
              const v = X[base + idx]!;
              if (v > acc || arg < 0) { acc = v; arg = idx; }
            }
          } else if (kind === 'avg') {
            for (let kw = kw0; kw < kw1; kw++) acc += X[base + row + kw * dW]!;
          } else {
            for (let kw = kw0; kw < kw1; kw++) acc += Math.abs(X[base + row + kw * dW]!) ** p;
          }
        }
      }
      if (kind === 'avg') {
        const count = (kd1 - kd0) * (kh1 - kh0) * (kw1 - kw0);
        acc /= includePad ? rd.padded[od]! * rh.padded[oh]! * rw.padded[ow]! : count;
      } else if (kind === 'lp') acc = acc ** (1 / p);
      Y[o] = acc;
      if (I) {
        let flat = arg;
        if (colMajor) {
          const iw = arg % W;
          const ih = Math.floor(arg / W) % H;
          const id = Math.floor(arg / (W * H));
          flat = (id * W + iw) * H + ih;
        }
        I[o] = BigInt(nc * inSize + flat);
      }
    }
  }
  const shape = [x.shape[0]!, x.shape[1]!, ...outS];
  const out = [fromNums(x.dtype, shape, Y)];
  if (I) out.push(new Tensor('int64', shape, I));
  return out;
}

function poolInfer(ctx: InferContext): (ValueType | undefined)[] {
  const x = ctx.inputs[0];
  if (!x) return [undefined, undefined];
  if (!x.shape) return [{ dtype: x.dtype }, { dtype: 'int64' }];
  const k = ctx.node.ints('kernel_shape');
  if (k.length !== x.shape.length - 2) throw new Error(`kernel_shape [${k}] has ${k.length} dims, input X ${fmtShape(x.shape)} has ${x.shape.length - 2} spatial dims`);
  const g = windowGeometry(ctx.node, x.shape.slice(2), k, ctx.node.int('ceil_mode', 0) !== 0);
  const shape = [x.shape[0]!, x.shape[1]!, ...g.out];
  return [{ dtype: x.dtype, shape }, { dtype: 'int64', shape }];
}

const poolCost: CostRule = (node) => {
  const y = numel(node.outputs[0]);
  const k = node.attrs.has('kernel_shape') ? sizeOf(node.ints('kernel_shape')) : 1;
  return { ...ioCost(node), flops: y === undefined ? undefined : y * k };
};

const poolAttrs: OpSchema['attrs'] = {
  auto_pad: { type: 'string', default: 'NOTSET' }, ceil_mode: { type: 'int', default: 0 }, dilations: { type: 'ints' },
  kernel_shape: { type: 'ints', required: true }, pads: { type: 'ints' }, strides: { type: 'ints' },
};

const maxPool: OpSchema = {
  op: 'MaxPool',
  inputs: [{ name: 'X' }],
  outputs: [{ name: 'Y' }, { name: 'Indices', optional: true }],
  attrs: { ...poolAttrs, storage_order: { type: 'int', default: 0 } },
  infer: poolInfer,
  kernel: ({ node, inputs, alloc }) => pool(inputs[0]!, node, 'max', node.outputs.length > 1 && node.outputs[1]!.name !== '', alloc),
  cost: poolCost,
};

const averagePool: OpSchema = {
  op: 'AveragePool',
  inputs: [{ name: 'X' }],
  outputs: [{ name: 'Y' }],
  attrs: { ...poolAttrs, count_include_pad: { type: 'int', default: 0 } },
  infer: (ctx) => poolInfer(ctx).slice(0, 1),
  kernel: ({ node, inputs }) => pool(inputs[0]!, node, 'avg', false),
  cost: poolCost,
};

const lpPool: OpSchema = {
  op: 'LpPool',
  inputs: [{ name: 'X' }],
  outputs: [{ name: 'Y' }],
  attrs: { ...poolAttrs, p: { type: 'int', default: 2 } },
  infer: (ctx) => poolInfer(ctx).slice(0, 1),
  kernel: ({ node, inputs }) => pool(inputs[0]!, node, 'lp', false),
  cost: poolCost,
};

function globalPool(op: string, kind: PoolKind): OpSchema {
  return {
    op,
    inputs: [{ name: 'X' }],
    outputs: [{ name: 'Y' }],
    attrs: kind === 'lp' ? { p: { type: 'int', default: 2 } } : undefined,
    infer: (ctx) => {
      const x = ctx.inputs[0];
      if (!x) return [undefined];
      if (!x.shape) return [{ dtype: x.dtype }];
      return [{ dtype: x.dtype, shape: [x.shape[0]!, x.shape[1]!, ...x.shape.slice(2).map(() => 1)] }];
    },
    kernel: ({ node, inputs }) => {
      const x = inputs[0]!;
      const NC = x.shape[0]! * x.shape[1]!;
      const S = x.size / Math.max(1, NC);
      const X = nums(x);
      const Y = new Float64Array(NC);
      const p = kind === 'lp' ? node.int('p', 2) : 0;
      for (let i = 0; i < NC; i++) {
        let acc = kind === 'max' ? -Infinity : 0;
        for (let s = 0; s < S; s++) {
          const v = X[i * S + s]!;
          if (kind === 'max') { if (v > acc) acc = v; }
          else if (kind === 'avg') acc += v;
          else acc += Math.abs(v) ** p;
        }
        Y[i] = kind === 'avg' ? acc / S : kind === 'lp' ? acc ** (1 / p) : acc;
      }
      return [fromNums(x.dtype, [x.shape[0]!, x.shape[1]!, ...x.shape.slice(2).map(() => 1)], Y)];
    },
    cost: (node) => ({ ...ioCost(node), flops: numel(node.inputs[0]) }),
  };
}

const maxUnpool: OpSchema = {
  op: 'MaxUnpool',
  inputs: [{ name: 'X' }, { name: 'I' }, { name: 'output_shape', optional: true }],
  outputs: [{ name: 'output' }],
  attrs: { kernel_shape: { type: 'ints', required: true }, pads: { type: 'ints' }, strides: { type: 'ints' } },
  infer: (ctx) => {
    const x = ctx.inputs[0];
    if (!x) return [undefined];
    const os = ctx.node.inputs[2] ? ctx.constant(2) : undefined;
    if (os) return [{ dtype: x.dtype, shape: intsOf(os) }];
    if (ctx.node.inputs[2] || !x.shape) return [{ dtype: x.dtype }];
    return [{ dtype: x.dtype, shape: unpoolShape(ctx.node, x.shape) }];
  },
  kernel: ({ node, inputs }) => {
    const [x, ind, os] = inputs;
    const natural = unpoolShape(node, x!.shape) as number[];
    const shape = os ? intsOf(os) : natural;
    const Y = new Float64Array(sizeOf(shape));
    const X = nums(x!);
    const I = intsOf(ind!);
    // Indices address the natural unpooled shape; place them by coordinates in a larger output_shape.
    const nst = stridesOf(natural);
    const ost = stridesOf(shape);
    for (let i = 0; i < X.length; i++) {
      let rem = I[i]!;
      let flat = 0;
      for (let d = 0; d < natural.length; d++) {
        const c = Math.floor(rem / nst[d]!);
        rem -= c * nst[d]!;
        flat += c * ost[d]!;
      }
      Y[flat] = X[i]!;
    }
    return [fromNums(x!.dtype, shape, Y)];
  },
  cost: elementwiseCost(0),
};

function unpoolShape(node: Node, s: readonly Dim[]): Dim[] {
  const k = node.ints('kernel_shape');
  const r = k.length;
  const strides = optInts(node, 'strides') ?? new Array<number>(r).fill(1);
  const pads = optInts(node, 'pads') ?? new Array<number>(2 * r).fill(0);
  return [s[0]!, s[1]!, ...s.slice(2).map((d, i) => (typeof d === 'number' ? (d - 1) * strides[i]! + k[i]! - pads[i]! - pads[i + r]! : null))];
}

// ---------------- normalizations ----------------

const sameAsInput = (ctx: InferContext) => [ctx.inputs[0]];

function channelParams(t: Tensor | undefined, C: number, what: string, fallback: number): Float64Array {
  if (!t) return new Float64Array(C).fill(fallback);
  if (t.size !== C) throw new Error(`${what} has ${t.size} elements, input has ${C} channels`);
  return toF64(t);
}

const batchNorm: OpSchema = {
  op: 'BatchNormalization',
  inputs: [{ name: 'X' }, { name: 'scale' }, { name: 'B' }, { name: 'input_mean' }, { name: 'input_var' }],
  outputs: [{ name: 'Y' }, { name: 'running_mean', optional: true }, { name: 'running_var', optional: true }],
  attrs: { epsilon: { type: 'float', default: 1e-5 }, momentum: { type: 'float', default: 0.9 }, training_mode: { type: 'int', default: 0 } },
  infer: (ctx) => {
    const x = ctx.inputs[0];
    const m = ctx.inputs[3];
    return [x, m, m];
  },
  kernel: ({ node, inputs }) => {
    const x = inputs[0]!;
    const N = x.shape[0]!;
    const C = x.rank > 1 ? x.shape[1]! : 1;
    const S = x.size / Math.max(1, N * C);
    const eps = node.float('epsilon', 1e-5);
    const scale = channelParams(inputs[1], C, 'scale', 1);
    const bias = channelParams(inputs[2], C, 'B', 0);
    let mean = channelParams(inputs[3], C, 'input_mean', 0);
    let vr = channelParams(inputs[4], C, 'input_var', 1);
    const X = nums(x);
    const training = node.int('training_mode', 0) !== 0;
    const extra: Tensor[] = [];
    if (training) {
      const bm = new Float64Array(C);
      const bv = new Float64Array(C);
      for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) {
        const o = (n * C + c) * S;
        for (let s = 0; s < S; s++) bm[c] += X[o + s]!;
      }
      for (let c = 0; c < C; c++) bm[c] /= N * S;
      for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) {
        const o = (n * C + c) * S;
        for (let s = 0; s < S; s++) { const d = X[o + s]! - bm[c]!; bv[c] += d * d; }
      }
      for (let c = 0; c < C; c++) bv[c] /= N * S;
      const mom = node.float('momentum', 0.9);
      const rm = new Float64Array(C);
      const rv = new Float64Array(C);
      for (let c = 0; c < C; c++) { rm[c] = mean[c]! * mom + bm[c]! * (1 - mom); rv[c] = vr[c]! * mom + bv[c]! * (1 - mom); }
      const md = inputs[3]?.dtype ?? x.dtype;
      extra.push(fromNums(md, [C], rm), fromNums(md, [C], rv));
      mean = bm;
      vr = bv;
    }
    const Y = x.dtype === 'float32' ? new Float32Array(x.size) : new Float64Array(x.size);
    for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) {
      const a = scale[c]! / Math.sqrt(vr[c]! + eps);
      const b = bias[c]! - mean[c]! * a;
      const o = (n * C + c) * S;
      for (let s = 0; s < S; s++) Y[o + s] = X[o + s]! * a + b;
    }
    return [fromNums(x.dtype, x.shape, Y), ...extra];
  },
  cost: elementwiseCost(2),
};

const instanceNorm: OpSchema = {
  op: 'InstanceNormalization',
  inputs: [{ name: 'input' }, { name: 'scale' }, { name: 'B' }],
  outputs: [{ name: 'output' }],
  attrs: { epsilon: { type: 'float', default: 1e-5 } },
  infer: sameAsInput,
  kernel: ({ node, inputs }) => {
    const x = inputs[0]!;
    const [N, C] = x.shape as [number, number];
    const S = x.size / (N * C);
    const eps = node.float('epsilon', 1e-5);
    const scale = channelParams(inputs[1], C, 'scale', 1);
    const bias = channelParams(inputs[2], C, 'B', 0);
    const X = nums(x);
    const Y = new Float64Array(x.size);
    for (let i = 0; i < N * C; i++) {
      const c = i % C;
      let m = 0;
      for (let s = 0; s < S; s++) m += X[i * S + s]!;
      m /= S;
      let v = 0;
      for (let s = 0; s < S; s++) { const d = X[i * S + s]! - m; v += d * d; }
      v /= S;
      const a = scale[c]! / Math.sqrt(v + eps);
      for (let s = 0; s < S; s++) Y[i * S + s] = (X[i * S + s]! - m) * a + bias[c]!;
    }
    return [fromNums(x.dtype, x.shape, Y)];
  },
  cost: elementwiseCost(5),
};

function layerNormInfer(ctx: InferContext): (ValueType | undefined)[] {
  const x = ctx.inputs[0];
  if (!x) return [undefined, undefined, undefined];
  if (!x.shape) return [x, { dtype: 'float32' }, { dtype: 'float32' }];
  const axis = normAxis(ctx.node.int('axis', -1), x.shape.length);
  const statShape = x.shape.map((d, i) => (i < axis ? d : 1));
  const stash = ctx.node.int('stash_type', 1) === 1 ? 'float32' : x.dtype;
  return [x, { dtype: stash, shape: statShape }, { dtype: stash, shape: statShape }];
}

const layerNorm: OpSchema = {
  op: 'LayerNormalization',
  inputs: [{ name: 'X' }, { name: 'Scale' }, { name: 'B', optional: true }],
  outputs: [{ name: 'Y' }, { name: 'Mean', optional: true }, { name: 'InvStdDev', optional: true }],
  attrs: { axis: { type: 'int', default: -1 }, epsilon: { type: 'float', default: 1e-5 }, stash_type: { type: 'int', default: 1 } },
  infer: layerNormInfer,
  kernel: ({ node, inputs }) => {
    const x = inputs[0]!;
    const axis = normAxis(node.int('axis', -1), x.rank);
    const eps = node.float('epsilon', 1e-5);
    const outer = sizeOf(x.shape.slice(0, axis));
    const inner = sizeOf(x.shape.slice(axis));
    const normShape = x.shape.slice(axis);
    const bcast = (t: Tensor | undefined, fill: number): Float64Array => {
      if (!t) return new Float64Array(inner).fill(fill);
      const v = toF64(t);
      if (t.size === inner) return v;
      const idx = broadcastIndex(t.shape, normShape);
      return Float64Array.from(idx, (i) => v[i]!);
    };
    const scale = bcast(inputs[1], 1);
    const bias = bcast(inputs[2], 0);
    const X = nums(x);
    const Y = x.dtype === 'float32' ? new Float32Array(x.size) : new Float64Array(x.size);
    const mean = new Float64Array(outer);
    const inv = new Float64Array(outer);
    for (let o = 0; o < outer; o++) {
      const base = o * inner;
      let m = 0;
      for (let i = 0; i < inner; i++) m += X[base + i]!;
      m /= inner;
      let v = 0;
      for (let i = 0; i < inner; i++) { const d = X[base + i]! - m; v += d * d; }
      const r = 1 / Math.sqrt(v / inner + eps);
      mean[o] = m;
      inv[o] = r;
      for (let i = 0; i < inner; i++) Y[base + i] = (X[base + i]! - m) * r * scale[i]! + bias[i]!;
    }
    const statShape = x.shape.map((d, i) => (i < axis ? d : 1));
    const stash: DType = node.int('stash_type', 1) === 1 ? 'float32' : x.dtype;
    return [fromNums(x.dtype, x.shape, Y), fromNums(stash, statShape, mean), fromNums(stash, statShape, inv)];
  },
  cost: elementwiseCost(6),
};

const groupNorm: OpSchema = {
  op: 'GroupNormalization',
  inputs: [{ name: 'X' }, { name: 'scale' }, { name: 'bias' }],
  outputs: [{ name: 'Y' }],
  attrs: { epsilon: { type: 'float', default: 1e-5 }, num_groups: { type: 'int', required: true } },
  infer: sameAsInput,
  kernel: ({ node, inputs }) => {
    const x = inputs[0]!;
    const [N, C] = x.shape as [number, number];
    const G = node.int('num_groups');
    if (C % G !== 0) throw new Error(`${C} channels are not divisible by num_groups ${G}`);
    const S = x.size / (N * C);
    const per = (C / G) * S;
    const eps = node.float('epsilon', 1e-5);
    const sc = toF64(inputs[1]!);
    const bi = toF64(inputs[2]!);
    const perChannel = sc.length === C;
    const X = nums(x);
    const Y = new Float64Array(x.size);
    for (let ng = 0; ng < N * G; ng++) {
      const base = ng * per;
      let m = 0;
      for (let i = 0; i < per; i++) m += X[base + i]!;
      m /= per;
      let v = 0;
      for (let i = 0; i < per; i++) { const d = X[base + i]! - m; v += d * d; }
      const r = 1 / Math.sqrt(v / per + eps);
      const g = ng % G;
      for (let i = 0; i < per; i++) {
        const c = perChannel ? g * (C / G) + Math.floor(i / S) : g;
        Y[base + i] = (X[base + i]! - m) * r * sc[c]! + bi[c]!;
      }
    }
    return [fromNums(x.dtype, x.shape, Y)];
  },
  cost: elementwiseCost(6),
};

const lrn: OpSchema = {
  op: 'LRN',
  inputs: [{ name: 'X' }],
  outputs: [{ name: 'Y' }],
  attrs: {
    alpha: { type: 'float', default: 1e-4 }, beta: { type: 'float', default: 0.75 }, bias: { type: 'float', default: 1 },
    size: { type: 'int', required: true },
  },
  infer: sameAsInput,
  kernel: ({ node, inputs }) => {
    const x = inputs[0]!;
    const [N, C] = x.shape as [number, number];
    const S = x.size / (N * C);
    const size = node.int('size');
    const alpha = node.float('alpha', 1e-4);
    const beta = node.float('beta', 0.75);
    const bias = node.float('bias', 1);
    const lo = Math.floor((size - 1) / 2);
    const hi = Math.ceil((size - 1) / 2);
    const X = nums(x);
    const Y = new Float64Array(x.size);
    for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let s = 0; s < S; s++) {
      let sq = 0;
      for (let q = Math.max(0, c - lo); q <= Math.min(C - 1, c + hi); q++) { const v = X[(n * C + q) * S + s]!; sq += v * v; }
      const i = (n * C + c) * S + s;
      Y[i] = X[i]! / (bias + (alpha / size) * sq) ** beta;
    }
    return [fromNums(x.dtype, x.shape, Y)];
  },
  cost: (node) => elementwiseCost(node.int('size', 1) + 3)(node),
};

const mvn: OpSchema = {
  op: 'MeanVarianceNormalization',
  inputs: [{ name: 'X' }],
  outputs: [{ name: 'Y' }],
  attrs: { axes: { type: 'ints', default: [0, 2, 3] } },
  infer: sameAsInput,
  kernel: ({ node, inputs }) => {
    const x = inputs[0]!;
    const axes = (optInts(node, 'axes') ?? [0, 2, 3]).map((a) => normAxis(a, x.rank));
    const keep = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
    const idx = broadcastIndex(keep, x.shape);
    const cnt = x.size / sizeOf(keep);
    const X = nums(x);
    const m = new Float64Array(sizeOf(keep));
    const v = new Float64Array(sizeOf(keep));
    for (let i = 0; i < x.size; i++) m[idx[i]!] += X[i]!;
    for (let i = 0; i < m.length; i++) m[i] /= cnt;
    for (let i = 0; i < x.size; i++) { const d = X[i]! - m[idx[i]!]!; v[idx[i]!] += d * d; }
    const Y = new Float64Array(x.size);
    for (let i = 0; i < x.size; i++) Y[i] = (X[i]! - m[idx[i]!]!) / (Math.sqrt(v[idx[i]!]! / cnt) + 1e-9);
    return [fromNums(x.dtype, x.shape, Y)];
  },
  cost: elementwiseCost(5),
};

// ---------------- Softmax family ----------------

/** (outer, dim, inner) of a softmax-like op, with the pre-13 "flatten to 2-D" semantics. */
function softmaxLayout(node: Node, shape: readonly number[]): [number, number, number] {
  const legacy = opsetOf(node) < 13;
  const axis = normAxis(node.int('axis', legacy ? 1 : -1), shape.length);
  if (legacy) return [sizeOf(shape.slice(0, axis)), sizeOf(shape.slice(axis)), 1];
  return [sizeOf(shape.slice(0, axis)), shape[axis]!, sizeOf(shape.slice(axis + 1))];
}

type SoftKind = 'softmax' | 'log' | 'hard';

const POW2_NEG = Float64Array.from({ length: 152 }, (_, i) => 2 ** -i);

/**
 * exp(x) for x <= 0 to float32 accuracy (relative error < 1e-8 before rounding): x = n·ln2 + r with
 * n = trunc(x·log2 e) (so r in (-ln2, 0]), a degree-9 Taylor polynomial for e^r, and 2^n from a
 * table. About twice as fast as Math.exp here; used by float32 Softmax, whose arguments x - max are
 * never positive. Below -104 the float32 result is 0; NaN stays NaN.
 */
function expNonPosF32(x: number): number {
  if (x < -104) return 0;
  const n = (x * Math.LOG2E) | 0;
  const r = x - n * Math.LN2;
  const p = 1 + r * (1 + r * (1 / 2 + r * (1 / 6 + r * (1 / 24 + r * (1 / 120 + r * (1 / 720 + r * (1 / 5040 + r * (1 / 40320 + r / 362880))))))));
  return p * POW2_NEG[-n]!;
}

export function softmaxKernel(x: Tensor, outer: number, dim: number, inner: number, kind: SoftKind, alloc?: FloatAlloc): Tensor {
  const X = nums(x);
  const Y = x.dtype === 'float32' ? (alloc ? alloc('float32', x.size) : new Float32Array(x.size)) : new Float64Array(x.size);
  for (let o = 0; o < outer; o++) for (let q = 0; q < inner; q++) {
    const base = o * dim * inner + q;
    let mx = -Infinity;
    let arg = 0;
    for (let d = 0; d < dim; d++) { const v = X[base + d * inner]!; if (v > mx) { mx = v; arg = d; } }
    if (kind === 'hard') {
      for (let d = 0; d < dim; d++) Y[base + d * inner] = d === arg ? 1 : 0;
      continue;
    }
    let sum = 0;
    if (kind === 'softmax' && Y instanceof Float32Array) {
      for (let d = 0; d < dim; d++) { const e = expNonPosF32(X[base + d * inner]! - mx); Y[base + d * inner] = e; sum += e; }
      const inv = 1 / sum;
      for (let d = 0; d < dim; d++) Y[base + d * inner] *= inv;
    } else if (kind === 'softmax') {
      for (let d = 0; d < dim; d++) { const e = Math.exp(X[base + d * inner]! - mx); Y[base + d * inner] = e; sum += e; }
      const inv = 1 / sum;
      for (let d = 0; d < dim; d++) Y[base + d * inner] *= inv;
    } else {
      for (let d = 0; d < dim; d++) sum += Math.exp(X[base + d * inner]! - mx);
      const l = Math.log(sum) + mx;
      for (let d = 0; d < dim; d++) Y[base + d * inner] = X[base + d * inner]! - l;
    }
  }
  return fromNums(x.dtype, x.shape, Y);
}

function softmaxOp(op: string, kind: SoftKind): OpSchema {
  return {
    op,
    inputs: [{ name: 'input' }],
    outputs: [{ name: 'output' }],
    attrs: { axis: { type: 'int', default: -1 } },
    differentiable: kind !== 'hard',
    infer: (ctx) => {
      const x = ctx.inputs[0];
      if (x?.shape) normAxis(ctx.node.int('axis', -1), x.shape.length);
      return [x];
    },
    kernel: ({ node, inputs, alloc }) => {
      const x = inputs[0]!;
      const [o, d, i] = softmaxLayout(node, x.shape);
      return [softmaxKernel(x, o, d, i, kind, alloc)];
    },
    cost: elementwiseCost(kind === 'hard' ? 1 : 4),
  };
}

// ---------------- Dropout ----------------

const dropout: OpSchema = {
  op: 'Dropout',
  inputs: [{ name: 'data' }, { name: 'ratio', optional: true }, { name: 'training_mode', optional: true }],
  outputs: [{ name: 'output' }, { name: 'mask', optional: true }],
  attrs: { seed: { type: 'int' }, ratio: { type: 'float' } },
  infer: (ctx) => {
    const x = ctx.inputs[0];
    return [x, x ? typeOf('bool', x.shape) : undefined];
  },
  kernel: ({ node, inputs }) => {
    const x = inputs[0]!;
    const ratio = inputs[1] ? scalarOf(inputs[1], 0.5) : node.float('ratio', 0.5);
    const training = inputs[2] ? scalarOf(inputs[2], 0) !== 0 : false;
    if (!training || ratio === 0) return [x, new Tensor('bool', x.shape, new Uint8Array(x.size).fill(1))];
    // Training mode: a seeded Bernoulli mask (xorshift32); the scale keeps the expectation.
    let s = (node.attrs.has('seed') ? node.int('seed') : 0x9e3779b9) >>> 0 || 1;
    const X = nums(x);
    const mask = new Uint8Array(x.size);
    const Y = new Float64Array(x.size);
    const scale = 1 / (1 - ratio);
    for (let i = 0; i < x.size; i++) {
      s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
      const keep = s / 4294967296 >= ratio;
      mask[i] = keep ? 1 : 0;
      Y[i] = keep ? X[i]! * scale : 0;
    }
    return [fromNums(x.dtype, x.shape, Y), new Tensor('bool', x.shape, mask)];
  },
  cost: elementwiseCost(1),
};

// ---------------- losses ----------------

type Reduction = 'none' | 'sum' | 'mean';

function reductionOf(node: Node): Reduction {
  const r = node.string('reduction', 'mean');
  if (r !== 'none' && r !== 'sum' && r !== 'mean') throw new Error(`reduction is '${r}'; valid: none, sum, mean`);
  return r;
}

/** NLL over log-probabilities [N, C, d...] and targets [N, d...]. */
function nll(logp: ArrayLike<number>, shape: readonly number[], target: Tensor, weight: Tensor | undefined, node: Node, dtype: DType): Tensor {
  const N = shape[0]!;
  const C = shape[1]!;
  const S = sizeOf(shape.slice(2));
  const T = intsOf(target);
  const W = weight ? toF64(weight) : undefined;
  const ignore = node.attrs.has('ignore_index') ? node.int('ignore_index') : undefined;
  const loss = new Float64Array(N * S);
  let wsum = 0;
  for (let n = 0; n < N; n++) for (let s = 0; s < S; s++) {
    const t = T[n * S + s]!;
    if (t === ignore) continue;
    if (t < 0 || t >= C) throw new Error(`target ${t} is out of range [0, ${C})`);
    const w = W ? W[t]! : 1;
    loss[n * S + s] = -logp[(n * C + t) * S + s]! * w;
    wsum += w;
  }
  const red = reductionOf(node);
  if (red === 'none') return fromNums(dtype, [N, ...shape.slice(2)], loss);
  let sum = 0;
  for (let i = 0; i < loss.length; i++) sum += loss[i]!;
  return fromNums(dtype, [], [red === 'sum' ? sum : wsum === 0 ? 0 : sum / wsum]);
}

function lossInfer(ctx: InferContext): (ValueType | undefined)[] {
  const x = ctx.inputs[0];
  if (!x) return [undefined, undefined];
  const red = ctx.node.string('reduction', 'mean');
  const loss: ValueType = red === 'none' ? typeOf(x.dtype, x.shape ? [x.shape[0]!, ...x.shape.slice(2)] : undefined) : { dtype: x.dtype, shape: [] };
  return [loss, x];
}

const nllLoss: OpSchema = {
  op: 'NegativeLogLikelihoodLoss',
  inputs: [{ name: 'input' }, { name: 'target' }, { name: 'weight', optional: true }],
  outputs: [{ name: 'loss' }],
  attrs: { ignore_index: { type: 'int' }, reduction: { type: 'string', default: 'mean' } },
  infer: (ctx) => lossInfer(ctx).slice(0, 1),
  kernel: ({ node, inputs }) => [nll(nums(inputs[0]!), inputs[0]!.shape, inputs[1]!, inputs[2], node, inputs[0]!.dtype)],
  cost: elementwiseCost(1),
};

const sceLoss: OpSchema = {
  op: 'SoftmaxCrossEntropyLoss',
  inputs: [{ name: 'scores' }, { name: 'labels' }, { name: 'weights', optional: true }],
  outputs: [{ name: 'output' }, { name: 'log_prob', optional: true }],
  attrs: { ignore_index: { type: 'int' }, reduction: { type: 'string', default: 'mean' } },
  infer: lossInfer,
  kernel: ({ node, inputs }) => {
    const x = inputs[0]!;
    const C = x.shape[1]!;
    const logp = softmaxKernel(x, x.shape[0]!, C, sizeOf(x.shape.slice(2)), 'log');
    return [nll(nums(logp), x.shape, inputs[1]!, inputs[2], node, x.dtype), logp];
  },
  cost: elementwiseCost(5),
};

export const nnOps: OpSchema[] = [
  convOp, convTransposeOp, maxPool, averagePool, lpPool,
  globalPool('GlobalAveragePool', 'avg'), globalPool('GlobalMaxPool', 'max'), globalPool('GlobalLpPool', 'lp'), maxUnpool,
  batchNorm, instanceNorm, layerNorm, groupNorm, lrn, mvn,
  softmaxOp('Softmax', 'softmax'), softmaxOp('LogSoftmax', 'log'), softmaxOp('Hardmax', 'hard'),
  dropout, nllLoss, sceLoss,
];
