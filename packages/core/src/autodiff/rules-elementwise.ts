import type { GraphBuilder } from '../builder.js';
import { isFloatDType } from '../dtype.js';
import type { Node, Value } from '../graph.js';
import type { GradientRule } from '../registry.js';
import { GRAD_SCALE } from './grad.js';
import { castTo, dtypeOf, scalar, unbroadcast } from './rules-util.js';

// Gradient rules of elementwise ops. Each rule receives dY and returns dX per input; broadcast
// inputs get their gradient summed back to their own shape (unbroadcast).

const mul = (b: GraphBuilder, x: Value, y: Value) => b.op('Mul', [x, y]);
const sub = (b: GraphBuilder, x: Value, y: Value) => b.op('Sub', [x, y]);
const div = (b: GraphBuilder, x: Value, y: Value) => b.op('Div', [x, y]);
const where = (b: GraphBuilder, c: Value, x: Value, y: Value) => b.op('Where', [c, x, y]);

/** A unary rule from dX = f(b, dY, x, y). */
function unary(f: (b: GraphBuilder, dy: Value, x: Value, y: Value, node: Node) => Value | null): GradientRule {
  return ({ b, node, outputGrads }) => {
    const dy = outputGrads[0];
    if (!dy) return [null];
    return [f(b, dy, node.inputs[0]!, node.outputs[0]!, node)];
  };
}

export const elementwiseRules: Record<string, GradientRule> = {
  Identity: ({ b, node, outputGrads }) => {
    const dy = outputGrads[0] ?? null;
    const s = node.meta.get(GRAD_SCALE);
    if (!dy || typeof s !== 'number') return [dy];
    return [mul(b, dy, scalar(b, s, dy))];
  },
  Neg: unary((b, dy) => b.op('Neg', [dy])),
  Abs: unary((b, dy, x) => mul(b, dy, b.op('Sign', [x]))),
  Exp: unary((b, dy, _x, y) => mul(b, dy, y)),
  Log: unary((b, dy, x) => div(b, dy, x)),
  Sqrt: unary((b, dy, _x, y) => div(b, dy, mul(b, y, scalar(b, 2, y)))),
  Reciprocal: unary((b, dy, _x, y) => b.op('Neg', [mul(b, dy, mul(b, y, y))])),
  Relu: unary((b, dy, _x, y, n) => (n.meta.get('reluMaskApplied') === true ? dy : where(b, b.op('Greater', [y, scalar(b, 0, y)]), dy, scalar(b, 0, dy)))),
  LeakyRelu: unary((b, dy, x, _y, n) => where(b, b.op('Greater', [x, scalar(b, 0, x)]), dy, mul(b, dy, scalar(b, n.float('alpha', 0.01), dy)))),
  Elu: unary((b, dy, x, y, n) =>
    where(b, b.op('Greater', [x, scalar(b, 0, x)]), dy, mul(b, dy, b.op('Add', [y, scalar(b, n.float('alpha', 1), y)])))),
  Selu: unary((b, dy, x, y, n) => {
    const alpha = n.float('alpha', 1.67326319217681884765625);
    const gamma = n.float('gamma', 1.05070102214813232421875);
    const neg = b.op('Add', [y, scalar(b, alpha * gamma, y)]);
    return where(b, b.op('Greater', [x, scalar(b, 0, x)]), mul(b, dy, scalar(b, gamma, dy)), mul(b, dy, neg));
  }),
  Sigmoid: unary((b, dy, _x, y) => mul(b, dy, mul(b, y, sub(b, scalar(b, 1, y), y)))),
  Tanh: unary((b, dy, _x, y) => mul(b, dy, sub(b, scalar(b, 1, y), mul(b, y, y)))),
  Softplus: unary((b, dy, x) => mul(b, dy, b.op('Sigmoid', [x]))),
  Softsign: unary((b, dy, x) => {
    const d = b.op('Add', [scalar(b, 1, x), b.op('Abs', [x])]);
    return div(b, dy, mul(b, d, d));
  }),
  HardSigmoid: unary((b, dy, x, _y, n) => {
    const alpha = n.float('alpha', 0.2);
    const beta = n.float('beta', 0.5);
    const t = b.op('Add', [mul(b, x, scalar(b, alpha, x)), scalar(b, beta, x)]);
    const inside = b.op('And', [b.op('Greater', [t, scalar(b, 0, x)]), b.op('Less', [t, scalar(b, 1, x)])]);
    return where(b, inside, mul(b, dy, scalar(b, alpha, dy)), scalar(b, 0, dy));
  }),
  HardSwish: unary((b, dy, x) => {
    // y = x * clip(x/6 + 1/2, 0, 1): dy/dx = 0 below -3, 1 above 3, x/3 + 1/2 between.
    const mid = b.op('Add', [div(b, x, scalar(b, 3, x)), scalar(b, 0.5, x)]);
    const lo = b.op('Less', [x, scalar(b, -3, x)]);
    const hi = b.op('Greater', [x, scalar(b, 3, x)]);
    const d = where(b, lo, scalar(b, 0, x), where(b, hi, scalar(b, 1, x), mid));
    return mul(b, dy, d);
  }),
  Erf: unary((b, dy, x) => {
    const e = b.op('Exp', [b.op('Neg', [mul(b, x, x)])]);
    return mul(b, dy, mul(b, e, scalar(b, 2 / Math.sqrt(Math.PI), x)));
  }),
  Gelu: unary((b, dy, x, _y, n) => {
    if (n.string('approximate', 'none') === 'tanh') {
      // y = x/2 (1 + tanh(u)), u = c (x + 0.044715 x^3)
      const c = Math.sqrt(2 / Math.PI);
      const x2 = mul(b, x, x);
      const u = mul(b, mul(b, x, b.op('Add', [scalar(b, 1, x), mul(b, x2, scalar(b, 0.044715, x))])), scalar(b, c, x));
      const t = b.op('Tanh', [u]);
      const du = mul(b, b.op('Add', [scalar(b, 1, x), mul(b, x2, scalar(b, 3 * 0.044715, x))]), scalar(b, c, x));
      const sech2 = sub(b, scalar(b, 1, x), mul(b, t, t));
      const d = b.op('Add', [mul(b, b.op('Add', [scalar(b, 1, x), t]), scalar(b, 0.5, x)), mul(b, mul(b, x, scalar(b, 0.5, x)), mul(b, sech2, du))]);
      return mul(b, dy, d);
    }
    // d/dx x Φ(x) = Φ(x) + x φ(x)
    const cdf = mul(b, b.op('Add', [scalar(b, 1, x), b.op('Erf', [mul(b, x, scalar(b, Math.SQRT1_2, x))])]), scalar(b, 0.5, x));
    const pdf = mul(b, b.op('Exp', [mul(b, mul(b, x, x), scalar(b, -0.5, x))]), scalar(b, 1 / Math.sqrt(2 * Math.PI), x));
    return mul(b, dy, b.op('Add', [cdf, mul(b, x, pdf)]));
  }),
  Sin: unary((b, dy, x) => mul(b, dy, b.op('Cos', [x]))),
  Cos: unary((b, dy, x) => b.op('Neg', [mul(b, dy, b.op('Sin', [x]))])),
  // Quantizer building blocks: straight-through estimator. Round/Floor/Ceil pass the gradient
  // unchanged; a surrounding Clip zeroes it outside the clipping range (B1). Sign uses the
  // clipped identity 1[|x| <= 1].
  Round: unary((_b, dy) => dy),
  Floor: unary((_b, dy) => dy),
  Ceil: unary((_b, dy) => dy),
  Sign: unary((b, dy, x) => where(b, b.op('LessOrEqual', [b.op('Abs', [x]), scalar(b, 1, x)]), dy, scalar(b, 0, dy))),
  Cast: unary((b, dy, x) => {
    const d = dtypeOf(x);
    return isFloatDType(d) ? (dtypeOf(dy) === d ? dy : castTo(b, dy, d)) : null;
  }),
  Clip: ({ b, node, outputGrads, needsGrad }) => {
    const dy = outputGrads[0];
    if (!dy) return [null, null, null];
    const x = node.inputs[0]!;
    const lo = node.inputs[1] ?? null;
    const hi = node.inputs[2] ?? null;
    const zero = scalar(b, 0, dy);
    let inside: Value | null = null;
    if (lo) inside = b.op('GreaterOrEqual', [x, lo]);
    if (hi) {
      const le = b.op('LessOrEqual', [x, hi]);
      inside = inside ? b.op('And', [inside, le]) : le;
    }
    const dx = needsGrad[0] ? (inside ? where(b, inside, dy, zero) : dy) : null;
    const dlo = lo && needsGrad[1] ? unbroadcast(b, where(b, b.op('Less', [x, lo]), dy, zero), lo) : null;
    const dhi = hi && needsGrad[2] ? unbroadcast(b, where(b, b.op('Greater', [x, hi]), dy, zero), hi) : null;
    return [dx, dlo, dhi];
  },
  Add: ({ b, node, outputGrads, needsGrad }) => {
    const dy = outputGrads[0];
    if (!dy) return [null, null];
    return [needsGrad[0] ? unbroadcast(b, dy, node.inputs[0]!) : null, needsGrad[1] ? unbroadcast(b, dy, node.inputs[1]!) : null];
  },
  Sub: ({ b, node, outputGrads, needsGrad }) => {
    const dy = outputGrads[0];
    if (!dy) return [null, null];
    return [needsGrad[0] ? unbroadcast(b, dy, node.inputs[0]!) : null, needsGrad[1] ? unbroadcast(b, b.op('Neg', [dy]), node.inputs[1]!) : null];
  },
  Mul: ({ b, node, outputGrads, needsGrad }) => {
    const dy = outputGrads[0];
    if (!dy) return [null, null];
    const [x0, x1] = [node.inputs[0]!, node.inputs[1]!];
    return [needsGrad[0] ? unbroadcast(b, mul(b, dy, x1), x0) : null, needsGrad[1] ? unbroadcast(b, mul(b, dy, x0), x1) : null];
  },
  Div: ({ b, node, outputGrads, needsGrad }) => {
    const dy = outputGrads[0];
    if (!dy) return [null, null];
    const [x0, x1] = [node.inputs[0]!, node.inputs[1]!];
    const y = node.outputs[0]!;
    return [
      needsGrad[0] ? unbroadcast(b, div(b, dy, x1), x0) : null,
      needsGrad[1] ? unbroadcast(b, b.op('Neg', [div(b, mul(b, dy, y), x1)]), x1) : null,
    ];
  },
  Pow: ({ b, node, outputGrads, needsGrad }) => {
    const dy = outputGrads[0];
    if (!dy) return [null, null];
    const [a, e] = [node.inputs[0]!, node.inputs[1]!];
    const y = node.outputs[0]!;
    let da: Value | null = null;
    if (needsGrad[0]) {
      const ea = dtypeOf(e) === dtypeOf(a) ? e : castTo(b, e, dtypeOf(a));
      const p = b.op('Pow', [a, sub(b, ea, scalar(b, 1, a))]);
      da = unbroadcast(b, mul(b, dy, mul(b, ea, p)), a);
    }
    const de = needsGrad[1] ? unbroadcast(b, mul(b, dy, mul(b, y, b.op('Log', [a]))), e) : null;
    return [da, de];
  },
  PRelu: ({ b, node, outputGrads, needsGrad }) => {
    const dy = outputGrads[0];
    if (!dy) return [null, null];
    const [x, slope] = [node.inputs[0]!, node.inputs[1]!];
    const pos = b.op('Greater', [x, scalar(b, 0, x)]);
    const dx = needsGrad[0] ? where(b, pos, dy, mul(b, dy, slope)) : null;
    const ds = needsGrad[1] ? unbroadcast(b, where(b, pos, scalar(b, 0, dy), mul(b, dy, x)), slope) : null;
    return [dx, ds];
  },
  Where: ({ b, node, outputGrads, needsGrad }) => {
    const dy = outputGrads[0];
    if (!dy) return [null, null, null];
    const [c, x, y] = [node.inputs[0]!, node.inputs[1]!, node.inputs[2]!];
    const zero = scalar(b, 0, dy);
    return [
      null,
      needsGrad[1] ? unbroadcast(b, where(b, c, dy, zero), x) : null,
      needsGrad[2] ? unbroadcast(b, where(b, c, zero, dy), y) : null,
    ];
  },
  Sum: ({ b, node, outputGrads, needsGrad }) => {
    const dy = outputGrads[0];
    return node.inputs.map((x, i) => (dy && x && needsGrad[i] ? unbroadcast(b, dy, x) : null));
  },
  Mean: ({ b, node, outputGrads, needsGrad }) => {
    const dy = outputGrads[0];
    if (!dy) return node.inputs.map(() => null);
    const s = mul(b, dy, scalar(b, 1 / node.inputs.length, dy));
    return node.inputs.map((x, i) => (x && needsGrad[i] ? unbroadcast(b, s, x) : null));
  },
  Max: minMax,
  Min: minMax,
};

/** Elementwise Max/Min: the gradient goes to the inputs equal to the result, split evenly among ties. */
function minMax({ b, node, outputGrads, needsGrad }: Parameters<GradientRule>[0]): (Value | null)[] {
  const dy = outputGrads[0];
  if (!dy) return node.inputs.map(() => null);
  const y = node.outputs[0]!;
  const masks = node.inputs.map((x) => castTo(b, b.op('Equal', [x!, y]), dtypeOf(dy)));
  const count = masks.length === 1 ? masks[0]! : masks.length === 2 ? b.op('Add', [masks[0]!, masks[1]!]) : b.op('Sum', masks);
  const share = div(b, dy, count);
  return node.inputs.map((x, i) => (x && needsGrad[i] ? unbroadcast(b, mul(b, share, masks[i]!), x) : null));
}
