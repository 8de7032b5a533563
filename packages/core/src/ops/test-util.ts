import { GraphBuilder } from '../builder.js';
import '../builder-ops.js';
import type { DType } from '../dtype.js';
import type { AttrInput } from '../builder.js';
import { interpret } from '../interpreter.js';
import { Rng } from '../rng.js';
import { Tensor } from '../tensor.js';

/** Builds a one-node graph over the given input tensors, runs it on the interpreter, returns its outputs. */
export function runOp(op: string, inputs: (Tensor | null)[], attrs: Record<string, AttrInput | undefined> = {}, nOut?: number): Tensor[] {
  const b = new GraphBuilder();
  const feeds: Record<string, Tensor> = {};
  const vals = inputs.map((t, i) => {
    if (!t) return null;
    feeds[`in${i}`] = t;
    return b.input(`in${i}`, t.dtype, [...t.shape]);
  });
  const outs = b.opMulti(op, vals, attrs, nOut ? { outputs: nOut } : {});
  outs.forEach((o, i) => b.output(o, `out${i}`));
  const res = interpret(b.graph, feeds);
  return outs.map((_, i) => res[`out${i}`]!);
}

export function t(values: number[], shape: number[], dtype: DType = 'float32'): Tensor {
  return Tensor.from(values, shape, dtype);
}

export function random(rng: Rng, shape: number[], dtype: DType = 'float32'): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return Tensor.from(Array.from({ length: n }, () => rng.normal()), shape, dtype);
}

export function values(x: Tensor): number[] {
  return x.toNumbers();
}

/** Max |a - b| over two equally shaped tensors. */
export function maxDiff(a: Tensor, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.size; i++) m = Math.max(m, Math.abs(a.getFlat(i) - b[i]!));
  return m;
}
