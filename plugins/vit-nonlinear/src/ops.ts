import { Tensor, type Node, type OpRegistry, type OpSchema, type ValueType } from '@tessera/core';
import { geluPwl, layerNormRow, softmaxRow } from './kernels.js';
import { GeluOptionsSchema, LayerNormOptionsSchema, SoftmaxOptionsSchema } from './options.js';
import { constantReciprocal, geluTables, layerNormTables, softmaxTables, type GeluTables, type LayerNormTables, type SoftmaxTables } from './tables.js';

/** The custom op domain of this plugin. */
export const PEANO_DOMAIN = 'tessera.peano';

/** Op names in the tessera.peano domain (typed constants). */
export const ApproxLayerNorm = 'ApproxLayerNorm';
export const ApproxSoftmax = 'ApproxSoftmax';
export const ApproxGelu = 'ApproxGelu';

const LN = LayerNormOptionsSchema.parse({});
const SM = SoftmaxOptionsSchema.parse({});
const GE = GeluOptionsSchema.parse({});

function float32Only(node: Node, t: ValueType | undefined): void {
  if (t && t.dtype !== 'float32') throw new Error(`${node.opId} node "${node.name}": input dtype ${t.dtype}, valid: float32`);
}

function sameAsInput0(ctx: { node: Node; inputs: (ValueType | undefined)[] }): (ValueType | undefined)[] {
  float32Only(ctx.node, ctx.inputs[0]);
  return [ctx.inputs[0]];
}

function f32(t: Tensor): ArrayLike<number> {
  return t.dtype === 'float32' ? (t.data as Float32Array) : t.toFloat64();
}

const tableCache = new Map<string, LayerNormTables | SoftmaxTables | GeluTables>();
function cached<T extends LayerNormTables | SoftmaxTables | GeluTables>(key: string, make: () => T): T {
  let t = tableCache.get(key);
  if (!t) tableCache.set(key, (t = make()));
  return t as T;
}

export function layerNormTablesOf(node: Node): LayerNormTables {
  const o = { tableBits: node.int('tableBits', LN.tableBits), pow2Only: node.int('pow2Only', 0) !== 0, minExponent: node.int('minExponent', LN.minExponent), maxExponent: node.int('maxExponent', LN.maxExponent) };
  return cached(`ln:${JSON.stringify(o)}`, () => layerNormTables(o));
}

export function softmaxTablesOf(node: Node): SoftmaxTables {
  const o = { bias: node.float('bias', SM.bias), cutoff: node.float('cutoff', SM.cutoff), reciprocalBits: node.int('reciprocalBits', SM.reciprocalBits), sumMaxExponent: node.int('sumMaxExponent', SM.sumMaxExponent) };
  return cached(`sm:${JSON.stringify(o)}`, () => softmaxTables(o));
}

export function geluTablesOf(node: Node): GeluTables {
  const slopes = node.string('slopes', GE.slopes);
  if (slopes !== 'float' && slopes !== 'shiftAdd') throw new Error(`${node.opId} node "${node.name}": attribute slopes is '${slopes}', valid: 'float', 'shiftAdd'`);
  const o = { range: node.float('range', GE.range), segments: node.int('segments', GE.segments), slopes: slopes as 'float' | 'shiftAdd' };
  return cached(`gelu:${JSON.stringify(o)}`, () => geluTables(o));
}

/** ApproxLayerNorm(X, Scale, B): normalisation over the last axis with the division-free 1/√(var + ε). */
const approxLayerNorm: OpSchema = {
  op: ApproxLayerNorm,
  domain: PEANO_DOMAIN,
  doc: 'PEANO-ViT LayerNorm over the last axis: 1/√(var+ε) ≈ 2^(−⌊e/2⌋)·T[e mod 2][⌊m·2^t⌋] (no Sqrt, no Div)',
  inputs: [{ name: 'X' }, { name: 'Scale' }, { name: 'B' }],
  outputs: [{ name: 'Y' }],
  attrs: {
    epsilon: { type: 'float', default: 1e-5 }, tableBits: { type: 'int', default: LN.tableBits }, pow2Only: { type: 'int', default: 0 },
    minExponent: { type: 'int', default: LN.minExponent }, maxExponent: { type: 'int', default: LN.maxExponent },
  },
  infer: sameAsInput0,
  kernel: ({ node, inputs }) => {
    const [X, G, B] = inputs as [Tensor, Tensor, Tensor];
    const d = X.shape[X.shape.length - 1]!;
    if (G.size !== d || B.size !== d) throw new Error(`${node.opId} node "${node.name}": Scale and B need ${d} elements (the last axis), got ${G.size} and ${B.size}`);
    const tb = layerNormTablesOf(node);
    const x = f32(X);
    const g = f32(G);
    const b = f32(B);
    const y = new Float32Array(X.size);
    const row = new Float64Array(d);
    const eps = node.float('epsilon', 1e-5);
    const invD = constantReciprocal(d);
    for (let o = 0; o < X.size; o += d) {
      layerNormRow(x instanceof Float32Array ? x.subarray(o, o + d) : Array.prototype.slice.call(x, o, o + d), row, g, b, eps, invD, tb);
      y.set(row, o);
    }
    return [new Tensor('float32', X.shape, y)];
  },
  cost: () => ({}),
};

/** ApproxSoftmax(X) along `axis`: Padé [2/2] exponential with a range transformation, multi-scale reciprocals. */
const approxSoftmax: OpSchema = {
  op: ApproxSoftmax,
  domain: PEANO_DOMAIN,
  doc: 'PEANO-ViT softmax: z = x − max + bias, zero below cutoff, Padé [2/2] e^z, every division by the multi-scale reciprocal',
  inputs: [{ name: 'X' }],
  outputs: [{ name: 'Y' }],
  attrs: {
    axis: { type: 'int', default: -1 }, bias: { type: 'float', default: SM.bias }, cutoff: { type: 'float', default: SM.cutoff },
    reciprocalBits: { type: 'int', default: SM.reciprocalBits }, sumMaxExponent: { type: 'int', default: SM.sumMaxExponent },
  },
  infer: sameAsInput0,
  kernel: ({ node, inputs }) => {
    const X = inputs[0]!;
    const rank = X.shape.length;
    const axis = node.int('axis', -1) < 0 ? node.int('axis', -1) + rank : node.int('axis', -1);
    if (axis < 0 || axis >= rank) throw new Error(`${node.opId} node "${node.name}": axis ${node.int('axis', -1)} out of range for rank ${rank}`);
    const tb = softmaxTablesOf(node);
    const bias = node.float('bias', SM.bias);
    const cutoff = node.float('cutoff', SM.cutoff);
    const n = X.shape[axis]!;
    const inner = X.shape.slice(axis + 1).reduce((a, s) => a * s, 1);
    const outer = X.size === 0 ? 0 : X.size / (n * inner);
    const x = f32(X);
    const y = new Float32Array(X.size);
    const row = new Float64Array(n);
    const out = new Float64Array(n);
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        const base = o * n * inner + i;
        for (let k = 0; k < n; k++) row[k] = x[base + k * inner]!;
        softmaxRow(row, out, bias, cutoff, tb);
        for (let k = 0; k < n; k++) y[base + k * inner] = out[k]!;
      }
    }
    return [new Tensor('float32', X.shape, y)];
  },
  cost: () => ({}),
};

/** ApproxGelu(X): continuous piecewise-linear GELU with uniform segments on [−range, range]. */
const approxGelu: OpSchema = {
  op: ApproxGelu,
  domain: PEANO_DOMAIN,
  doc: 'PEANO-ViT GELU: 0 below −range, x above range, S-segment continuous piecewise-linear fit in between (no Erf, no Tanh)',
  inputs: [{ name: 'X' }],
  outputs: [{ name: 'Y' }],
  attrs: { range: { type: 'float', default: GE.range }, segments: { type: 'int', default: GE.segments }, slopes: { type: 'string', default: GE.slopes } },
  infer: sameAsInput0,
  kernel: ({ node, inputs }) => {
    const X = inputs[0]!;
    const tb = geluTablesOf(node);
    const x = f32(X);
    const y = new Float32Array(X.size);
    for (let i = 0; i < X.size; i++) y[i] = geluPwl(x[i]!, tb);
    return [new Tensor('float32', X.shape, y)];
  },
  cost: () => ({}),
};

/** The three op schemas of the tessera.peano domain. */
export const peanoOpSchemas: readonly OpSchema[] = [approxLayerNorm, approxSoftmax, approxGelu];

/** A child of `base` with the tessera.peano ops registered (base is left untouched). */
export function peanoRegistry(base: OpRegistry): OpRegistry {
  const r = base.extend();
  for (const s of peanoOpSchemas) r.register(s);
  return r;
}
