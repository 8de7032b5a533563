import type { GraphBuilder } from '../builder.js';
import type { Node, Value } from '../graph.js';
import type { GradientRule } from '../registry.js';
import { castTo, dtypeOf, reduceAxes, reduceSum, scalar, shapeValue, staticShape, unsqueeze } from './rules-util.js';

// Reductions: bring dY back to the kept-dims shape, then broadcast it over the reduced axes.

/** dY with the reduced axes restored as size-1 dims. */
function kept(b: GraphBuilder, node: Node, dy: Value, axes: number[]): Value {
  return node.int('keepdims', 1) === 1 ? dy : unsqueeze(b, dy, axes);
}

function keptY(b: GraphBuilder, node: Node, axes: number[]): Value {
  return kept(b, node, node.outputs[0]!, axes);
}

function broadcastTo(b: GraphBuilder, g: Value, x: Value): Value {
  return b.op('Expand', [g, shapeValue(b, x)]);
}

function count(node: Node, axes: number[]): number {
  const s = staticShape(node.inputs[0]!);
  if (!s) throw new Error(`the gradient of ${node.describe()} needs a static input shape`);
  return axes.reduce((p, a) => p * s[a]!, 1);
}

function rule(f: (b: GraphBuilder, g: Value, node: Node, axes: number[]) => Value): GradientRule {
  return ({ b, node, outputGrads }) => {
    const dy = outputGrads[0];
    const nulls = node.inputs.slice(1).map(() => null);
    if (!dy) return [null, ...nulls];
    const axes = reduceAxes(node);
    if (axes.length === 0) return [dy, ...nulls];
    return [f(b, kept(b, node, dy, axes), node, axes), ...nulls];
  };
}

/** Max/Min: the gradient is shared evenly by the elements equal to the result. */
const extreme = rule((b, g, node, axes) => {
  const x = node.inputs[0]!;
  const mask = castTo(b, b.op('Equal', [x, keptY(b, node, axes)]), dtypeOf(x));
  const ties = reduceSum(b, mask, axes, true);
  return b.op('Mul', [mask, b.op('Div', [g, ties])]);
});

export const reduceRules: Record<string, GradientRule> = {
  ReduceSum: rule((b, g, node) => broadcastTo(b, g, node.inputs[0]!)),
  ReduceMean: rule((b, g, node, axes) => broadcastTo(b, b.op('Mul', [g, scalar(b, 1 / count(node, axes), g)]), node.inputs[0]!)),
  ReduceSumSquare: rule((b, g, node) => {
    const x = node.inputs[0]!;
    return b.op('Mul', [b.op('Mul', [x, scalar(b, 2, x)]), g]);
  }),
  ReduceL1: rule((b, g, node) => b.op('Mul', [b.op('Sign', [node.inputs[0]!]), g])),
  ReduceL2: rule((b, g, node, axes) => {
    const x = node.inputs[0]!;
    return b.op('Mul', [b.op('Div', [x, keptY(b, node, axes)]), g]);
  }),
  ReduceLogSumExp: rule((b, g, node, axes) => {
    const x = node.inputs[0]!;
    return b.op('Mul', [b.op('Exp', [b.op('Sub', [x, keptY(b, node, axes)])]), g]);
  }),
  ReduceMax: extreme,
  ReduceMin: extreme,
};
