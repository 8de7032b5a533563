import {
  bfloat16BitsToFloat32, dtypeFromOnnxCode, float16BitsToFloat32, float32ToBfloat16Bits, float32ToFloat16Bits, type DType,
} from '../dtype.js';
import type { Node, ValueType } from '../graph.js';
import type { OpSchema } from '../registry.js';
import { Rng } from '../rng.js';
import { Tensor } from '../tensor.js';
import { elementwiseCost, fromNums, nums, typeOf } from './util.js';

/*
 * Random generators: RandomNormal, RandomNormalLike, RandomUniform, RandomUniformLike, Bernoulli.
 *
 * Every kernel is deterministic. Its stream comes from `Rng` (xoshiro128**) seeded by, in order:
 *   1. `node.meta.get('seed')` (a number): a per-run override, so a training loop can draw fresh
 *      noise or dropout masks each step (set it per step) without editing the model;
 *   2. the ONNX `seed` attribute (a float; integral seeds seed `Rng` directly, so
 *      `RandomUniform{seed: 7}` draws what `new Rng(7).uniform()` draws);
 *   3. otherwise a hash of the node's op, name and first output name: stable across runs and
 *      processes, different between nodes.
 * The values do NOT match numpy's generator (onnx's reference draws with numpy's Mersenne
 * Twister / PCG streams); only the distributions agree. See KNOWN_GAPS.md for the node tests.
 *
 * Bernoulli draws u ~ U[0, 1) rounded to the input's float type and outputs (u < p), exactly what its
 * ONNX function body (RandomUniformLike -> Less -> Cast) computes with the same seed.
 */

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** The 32-bit seed of a random node (see the file comment for the precedence). */
export function randomSeed(node: Node): number {
  const m = node.meta.get('seed');
  let s: number | undefined;
  if (m !== undefined) {
    if (typeof m !== 'number' || !Number.isFinite(m)) throw new Error(`node meta 'seed' is ${String(m)}; expected a finite number`);
    s = m;
  } else if (node.attrs.has('seed')) s = node.float('seed');
  if (s === undefined) return fnv1a(`${node.op}\u0000${node.name}\u0000${node.outputs[0]?.name ?? ''}`);
  if (Number.isInteger(s)) return s >>> 0;
  // Fractional seeds: mix the float64 bits.
  const bits = new Uint32Array(new Float64Array([s]).buffer);
  return (Math.imul(bits[0]! ^ 0x9e3779b9, 0x85ebca6b) ^ bits[1]!) >>> 0;
}

const FLOAT_OUT: readonly DType[] = ['float16', 'bfloat16', 'float32', 'float64'];

function outDType(node: Node, fallback: DType): DType {
  const d = node.attrs.has('dtype') ? dtypeFromOnnxCode(node.int('dtype')) : fallback;
  if (!FLOAT_OUT.includes(d)) throw new Error(`dtype ${d} is not supported for ${node.op}; valid: ${FLOAT_OUT.join(', ')}`);
  return d;
}

/** Rounds a value to what a tensor of `dtype` stores (as RandomUniformLike's output would). */
function rounder(dtype: DType): (v: number) => number {
  switch (dtype) {
    case 'float64': return (v) => v;
    case 'float16': return (v) => float16BitsToFloat32(float32ToFloat16Bits(v));
    case 'bfloat16': return (v) => bfloat16BitsToFloat32(float32ToBfloat16Bits(v));
    default: return Math.fround;
  }
}

function fill(dtype: DType, shape: readonly number[], node: Node, draw: (rng: Rng) => number): Tensor {
  const rng = new Rng(randomSeed(node));
  const n = shape.reduce((a, b) => a * b, 1);
  const out = dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = draw(rng);
  return fromNums(dtype, [...shape], out);
}

function normalDraw(node: Node): (rng: Rng) => number {
  const mean = node.float('mean', 0);
  const scale = node.float('scale', 1);
  return (rng) => mean + scale * rng.normal();
}

function uniformDraw(node: Node): (rng: Rng) => number {
  const low = node.float('low', 0);
  const high = node.float('high', 1);
  if (!(high >= low)) throw new Error(`high (${high}) must be >= low (${low})`);
  return (rng) => low + (high - low) * rng.uniform();
}

function shapeAttr(node: Node): number[] {
  const s = node.ints('shape');
  if (s.some((d) => !Number.isInteger(d) || d < 0)) throw new Error(`shape [${s.join(', ')}] must be non-negative integers`);
  return s;
}

const randomCost = elementwiseCost(4);

function fromShape(op: string, draw: (node: Node) => (rng: Rng) => number, extra: OpSchema['attrs']): OpSchema {
  return {
    op,
    inputs: [],
    outputs: [{ name: 'output' }],
    attrs: { dtype: { type: 'int', default: 1 }, seed: { type: 'float' }, shape: { type: 'ints', required: true }, ...extra },
    infer: (ctx) => [{ dtype: outDType(ctx.node, 'float32'), shape: shapeAttr(ctx.node) }],
    kernel: ({ node }) => [fill(outDType(node, 'float32'), shapeAttr(node), node, draw(node))],
    cost: randomCost,
    differentiable: false,
  };
}

function like(op: string, draw: (node: Node) => (rng: Rng) => number, extra: OpSchema['attrs']): OpSchema {
  return {
    op,
    inputs: [{ name: 'input' }],
    outputs: [{ name: 'output' }],
    attrs: { dtype: { type: 'int' }, seed: { type: 'float' }, ...extra },
    infer: (ctx) => {
      const x = ctx.inputs[0];
      if (!x) return [ctx.node.attrs.has('dtype') ? { dtype: outDType(ctx.node, 'float32') } : undefined];
      return [typeOf(outDType(ctx.node, x.dtype), x.shape)];
    },
    kernel: ({ node, inputs }) => {
      const x = inputs[0]!;
      return [fill(outDType(node, x.dtype), x.shape, node, draw(node))];
    },
    cost: randomCost,
    differentiable: false,
  };
}

const bernoulli: OpSchema = {
  op: 'Bernoulli',
  inputs: [{ name: 'input' }],
  outputs: [{ name: 'output' }],
  attrs: { dtype: { type: 'int' }, seed: { type: 'float' } },
  infer: (ctx) => {
    const x = ctx.inputs[0];
    const d = (fallback: DType): DType => (ctx.node.attrs.has('dtype') ? dtypeFromOnnxCode(ctx.node.int('dtype')) : fallback);
    const t: ValueType | undefined = x ? typeOf(d(x.dtype), x.shape) : ctx.node.attrs.has('dtype') ? { dtype: d('float32') } : undefined;
    if (x && !FLOAT_OUT.includes(x.dtype)) throw new Error(`input is ${x.dtype}; Bernoulli takes probabilities as ${FLOAT_OUT.join(', ')}`);
    return [t];
  },
  kernel: ({ node, inputs }) => {
    const x = inputs[0]!;
    if (!FLOAT_OUT.includes(x.dtype)) throw new Error(`input is ${x.dtype}; Bernoulli takes probabilities as ${FLOAT_OUT.join(', ')}`);
    const d: DType = node.attrs.has('dtype') ? dtypeFromOnnxCode(node.int('dtype')) : x.dtype;
    const P = nums(x);
    const round = rounder(x.dtype);
    const rng = new Rng(randomSeed(node));
    const out = new Uint8Array(x.size);
    for (let i = 0; i < out.length; i++) out[i] = round(rng.uniform()) < P[i]! ? 1 : 0;
    return [d === 'bool' ? new Tensor('bool', x.shape, out) : fromNums(d, x.shape, out)];
  },
  cost: randomCost,
  differentiable: false,
};

export const randomOps: OpSchema[] = [
  fromShape('RandomNormal', normalDraw, { mean: { type: 'float', default: 0 }, scale: { type: 'float', default: 1 } }),
  like('RandomNormalLike', normalDraw, { mean: { type: 'float', default: 0 }, scale: { type: 'float', default: 1 } }),
  fromShape('RandomUniform', uniformDraw, { low: { type: 'float', default: 0 }, high: { type: 'float', default: 1 } }),
  like('RandomUniformLike', uniformDraw, { low: { type: 'float', default: 0 }, high: { type: 'float', default: 1 } }),
  bernoulli,
];
