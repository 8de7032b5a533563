import { Tensor, standardOps, type Kernel, type KernelContext, type Node, type OpRegistry } from '@tessera/core';
import { fixed, type FixedFormat } from '@tessera/numerics';
import { decodePositTerms, shiftAddProduct, type PositTerms } from './posit4.js';
import { assignmentFromMeta, layerFormatsOf, POSIT_MIXED } from './format-map.js';
import { ACTIVATION_FORMAT, POSIT_MIXED_MAC } from './quantized-graph.js';
import { MacOptionsSchema, parseOptions, type MacOptions } from './options.js';

/**
 * The exact posit x fixed MAC [R] of the reference interpreter. For one layer:
 * - every activation must lie on its fixed<b, fa> grid (the graph's fake-quant put it there) and
 *   becomes its integer code a;
 * - every weight is encoded in its format (Posit4 after its 2^shift scale, or FixP4) and must be
 *   exact there; a Posit4 weight is decoded into (sign, scale t, fraction bits) by decodePositTerms,
 *   and its product with a is the shift-add ±(a << t') ± f·(a << (t'−1)) (shiftAddProduct); a FixP4
 *   weight multiplies its code by a;
 * - the products are integers in units of the accumulator LSB 2^-L, L the smallest that holds every
 *   product of the layer exactly, and are summed in a two's-complement accumulator of
 *   accumulatorBits that saturates [R];
 * - the output is the accumulator value rounded once to float32 (plus the float bias for Conv / Gemm).
 */
interface LayerMac {
  /** Per weight element: its product with activation code 1, in accumulator LSB units (the shift-add multiplier). */
  multiplier: Float64Array;
  /** Accumulator LSB exponent: values are acc · 2^-lsb. */
  lsb: number;
  act: FixedFormat;
}

const cache = new WeakMap<Node, { key: Tensor; mac: LayerMac }>();

function fail(node: Node, msg: string): never {
  throw new Error(`${node.describe()}: ${POSIT_MIXED_MAC}: ${msg}`);
}

function layerMac(node: Node, w: Tensor): LayerMac {
  const hit = cache.get(node);
  if (hit && hit.key === w) return hit.mac;
  const m0 = node.meta.get(POSIT_MIXED);
  if (!m0) fail(node, `the node has no '${POSIT_MIXED}' assignment (run the assignment pass first)`);
  const a = assignmentFromMeta(m0, node.describe());
  const actId = node.meta.get(ACTIVATION_FORMAT) as string | undefined;
  if (!actId) fail(node, `the node has no activation format; the MAC's second operand must be fixed-point (activationBits > 0)`);
  const m = /^fixed<(\d+),(-?\d+)>$/.exec(actId)!;
  const act = fixed(Number(m[1]), Number(m[2]));
  const f = layerFormatsOf(a);
  if (w.size !== a.mask.length) fail(node, `weight has ${w.size} elements, the assignment ${a.mask.length}`);
  const n = f.posit.bits;
  const es = Number(/^posit<\d+,(\d+)>$/.exec(a.posit)![1]);
  // Decode each weight into its terms; check it is exactly a value of its format.
  const terms: (PositTerms | number)[] = new Array(w.size);
  let lsbW = f.fix.step === 1 ? 0 : -Math.log2(f.fix.step); // FixP product quantum 2^-(fw + fa)
  for (let i = 0; i < w.size; i++) {
    const x = w.getFlat(i);
    if (a.mask[i]) {
      const pattern = f.posit.encode(x * 2 ** -f.positShift);
      const t = decodePositTerms(pattern, n, es);
      if (t.nar || f.posit.decode(pattern) * 2 ** f.positShift !== x) fail(node, `weight[${i}] = ${x} is not a value of ${a.posit}·2^${f.positShift}`);
      t.scale += f.positShift;
      terms[i] = t;
      lsbW = Math.max(lsbW, t.fractionBits - t.scale);
    } else {
      const code = f.fix.code(x);
      if (code * f.fix.step !== x) fail(node, `weight[${i}] = ${x} is not a value of ${a.fixed}`);
      terms[i] = code;
    }
  }
  const fa = act.step === 1 ? 0 : -Math.log2(act.step);
  const lsb = lsbW + fa;
  const multiplier = new Float64Array(w.size);
  for (let i = 0; i < w.size; i++) {
    const t = terms[i]!;
    // Units of 2^-lsb per activation code unit (2^-fa): the weight times 2^(lsb - fa) = 2^lsbW.
    multiplier[i] = typeof t === 'number' ? t * f.fix.step * 2 ** lsbW : shiftAddProduct(t, 1, lsbW);
  }
  const mac = { multiplier, lsb, act };
  cache.set(node, { key: w, mac });
  return mac;
}

function activationCodes(node: Node, x: Tensor, act: FixedFormat): Float64Array {
  const out = new Float64Array(x.size);
  for (let i = 0; i < x.size; i++) {
    const v = x.getFlat(i);
    const c = act.code(v);
    if (c * act.step !== v) fail(node, `activation[${i}] = ${v} is not a value of ${act.id} (fake-quantize the activation first)`);
    out[i] = c;
  }
  return out;
}

/** A saturating accumulator of `bits` (in LSB units; exact in float64 for bits <= 52). */
function saturate(v: number, bits: number): number {
  const hi = 2 ** (bits - 1) - 1;
  return v > hi ? hi : v < -hi - 1 ? -hi - 1 : v;
}

/** x [..., K] times the layer's weight, stored [K, N] or (transposed) [N, K]. */
function dense(node: Node, x: Tensor, w: Tensor, transposed: boolean, o: MacOptions): Tensor {
  if (w.rank !== 2) fail(node, `weight must be 2-D (got shape [${w.shape.join(', ')}])`);
  const mac = layerMac(node, w);
  const [K, N] = (transposed ? [w.shape[1], w.shape[0]] : w.shape) as [number, number];
  if (x.shape[x.rank - 1] !== K) fail(node, `activation's last dim ${x.shape[x.rank - 1]} != weight's input dim ${K}`);
  const a = activationCodes(node, x, mac.act);
  const M = x.size / K;
  const out = new Float32Array(M * N);
  const unit = 2 ** -mac.lsb;
  const mul = mac.multiplier;
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let acc = 0;
      for (let k = 0; k < K; k++) acc = saturate(acc + a[m * K + k]! * mul[transposed ? n * K + k : k * N + n]!, o.accumulatorBits);
      out[m * N + n] = acc * unit;
    }
  }
  return new Tensor('float32', [...x.shape.slice(0, -1), N], out);
}

function matmulKernel(o: MacOptions): Kernel {
  return ({ node, inputs }: KernelContext) => [dense(node, inputs[0]!, inputs[1]!, false, o)];
}

function gemmKernel(o: MacOptions): Kernel {
  return ({ node, inputs }: KernelContext) => {
    if (node.int('transA', 0) !== 0 || node.float('alpha', 1) !== 1 || node.float('beta', 1) !== 1) fail(node, 'only transA = 0, alpha = beta = 1 are supported');
    const y = dense(node, inputs[0]!, inputs[1]!, node.int('transB', 0) === 1, o);
    const c = inputs[2];
    if (c) {
      const out = y.data as Float32Array;
      const N = y.shape[1]!;
      for (let i = 0; i < out.length; i++) out[i] = Math.fround(out[i]! + c.getFlat(c.size === 1 ? 0 : i % N));
    }
    return [y];
  };
}

function convKernel(o: MacOptions): Kernel {
  return ({ node, inputs }: KernelContext) => {
    const [x, w, bias] = inputs as [Tensor, Tensor, Tensor | undefined];
    if (x.rank !== 4 || w.rank !== 4) fail(node, 'only 2-D convolutions (NCHW) are supported');
    if (node.int('group', 1) !== 1) fail(node, 'only group = 1 is supported');
    const auto = node.attrs.has('auto_pad') ? node.string('auto_pad') : 'NOTSET';
    if (auto !== 'NOTSET' && auto !== 'VALID') fail(node, `auto_pad '${auto}' is not supported (use explicit pads)`);
    const [Nb, C, H, W] = x.shape as [number, number, number, number];
    const [F, Cw, KH, KW] = w.shape as [number, number, number, number];
    if (Cw !== C) fail(node, `input has ${C} channels, weight ${Cw}`);
    const [sh, sw] = node.ints('strides', [1, 1]) as [number, number];
    const [dh, dw] = node.ints('dilations', [1, 1]) as [number, number];
    const [pt, pl, pb, pr] = (auto === 'VALID' ? [0, 0, 0, 0] : node.ints('pads', [0, 0, 0, 0])) as [number, number, number, number];
    const OH = Math.floor((H + pt + pb - ((KH - 1) * dh + 1)) / sh) + 1;
    const OW = Math.floor((W + pl + pr - ((KW - 1) * dw + 1)) / sw) + 1;
    const mac = layerMac(node, w);
    const a = activationCodes(node, x, mac.act);
    const unit = 2 ** -mac.lsb;
    const out = new Float32Array(Nb * F * OH * OW);
    for (let n = 0; n < Nb; n++) for (let f = 0; f < F; f++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
      let acc = 0;
      for (let c = 0; c < C; c++) for (let kh = 0; kh < KH; kh++) {
        const ih = oh * sh - pt + kh * dh;
        if (ih < 0 || ih >= H) continue;
        for (let kw = 0; kw < KW; kw++) {
          const iw = ow * sw - pl + kw * dw;
          if (iw < 0 || iw >= W) continue;
          acc = saturate(acc + a[((n * C + c) * H + ih) * W + iw]! * mac.multiplier[((f * C + c) * KH + kh) * KW + kw]!, o.accumulatorBits);
        }
      }
      const i = ((n * F + f) * OH + oh) * OW + ow;
      out[i] = bias ? Math.fround(acc * unit + bias.getFlat(f)) : acc * unit;
    }
    return [new Tensor('float32', [Nb, F, OH, OW], out)];
  };
}

/**
 * An op registry (a child of `base`, default the standard ops) in which MatMul, Gemm and Conv
 * have the kernel variant 'posit-mixed-mac': nodes marked by quantizedGraph(…, {mode: 'inference'})
 * then run the exact posit x fixed MAC on the reference interpreter.
 */
export function positMixedRegistry(options: Partial<MacOptions> = {}, base: OpRegistry = standardOps()): OpRegistry {
  const o = parseOptions(MacOptionsSchema, options, 'positMixedRegistry');
  return base.extend()
    .augment('MatMul', { variants: { [POSIT_MIXED_MAC]: matmulKernel(o) } })
    .augment('Gemm', { variants: { [POSIT_MIXED_MAC]: gemmKernel(o) } })
    .augment('Conv', { variants: { [POSIT_MIXED_MAC]: convKernel(o) } });
}
