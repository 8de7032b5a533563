import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../builder.js';
import { Graph } from '../graph.js';
import { interpret } from '../interpreter.js';
import type { OpRegistry, OpSchema } from '../registry.js';
import { Rng } from '../rng.js';
import { Tensor } from '../tensor.js';
import { standardOps } from '../ops/index.js';
import { checkGradients } from './check.js';
import { BACKWARD, grad, gradScale, stopGradient } from './grad.js';
import { hutchinsonTrace, hvpCentral, topEigenvalue } from './hessian.js';
import { lsqFakeQuant } from './quant.js';

function run(g: Graph, feeds: Record<string, Tensor>, fetches: string[]): Tensor[] {
  const r = interpret(g, feeds, { fetches });
  return fetches.map((f) => r[f]!);
}

const f64 = (v: number[], shape = [v.length]) => Tensor.from(v, shape, 'float64');

describe('grad()', () => {
  it('writes backward nodes after the forward, accumulates fan-out, and returns null for unreachable values', () => {
    const b = new GraphBuilder(new Graph('g'));
    const x = b.input('x', 'float64', [3]);
    const w = b.param('w', f64([1, 2, 3]));
    const unused = b.param('unused', f64([1, 1, 1]));
    const y = b.op('Mul', [x, w]);
    const loss = b.op('ReduceSum', [b.op('Add', [y, b.op('Mul', [y, w])]), b.ints([0])], { keepdims: 0 });
    b.output(b.op('Add', [unused, x]));
    const nForward = b.graph.nodeCount;
    const { grads, nodes } = grad(b.graph, loss, [w, unused]);
    expect(grads[1]).toBeNull();
    expect(b.graph.nodes.slice(0, nForward).every((n) => n.meta.get(BACKWARD) !== true)).toBe(true);
    expect(nodes.every((n) => n.meta.get(BACKWARD) === true)).toBe(true);
    // d/dw Σ (x w + x w²) = x + 2 x w
    const [gw] = run(b.graph, { x: f64([1, -1, 2]) }, [grads[0]!.name]);
    expect(Array.from(gw!.toFloat64())).toEqual([3, -5, 14]);
  });

  it('prunes backward work that no requested gradient needs', () => {
    const b = new GraphBuilder(new Graph('g'));
    const x = b.input('x', 'float64', [2, 3]);
    const w1 = b.param('w1', Tensor.zeros('float64', [3, 3]));
    const w2 = b.param('w2', Tensor.zeros('float64', [3, 3]));
    const h = b.op('Tanh', [b.op('MatMul', [x, w1])]);
    const loss = b.op('ReduceSum', [b.op('MatMul', [h, w2]), b.ints([0, 1])], { keepdims: 0 });
    const { nodes } = grad(b.graph, loss, [w2]);
    // Only dW2 = hᵀ·dY: no Tanh or dW1 work.
    expect(nodes.map((n) => n.op).filter((op) => op === 'Gemm' || op === 'MatMul')).toHaveLength(1);
    expect(nodes.some((n) => n.op === 'Mul' || n.op === 'Sub')).toBe(false);
  });

  it('stops gradients at stopGradient and scales them at gradScale', () => {
    const b = new GraphBuilder(new Graph('g'));
    const w = b.param('w', f64([2]));
    const a = b.op('Mul', [w, w]);
    const loss = b.op('Add', [b.op('Mul', [stopGradient(b, a), w]), gradScale(b, w, 0.25)]);
    const { grads } = grad(b.graph, loss, [w]);
    // d/dw [sg(w²)·w + w] with the second term's gradient scaled by 1/4 = w² + 0.25 = 4.25
    expect(run(b.graph, {}, [grads[0]!.name])[0]!.getFlat(0)).toBeCloseTo(4.25, 12);
  });

  it('fails with one line naming the node and op when an op has no rule, and accepts rules added to a registry', () => {
    // A plugin op without a gradient rule, then the same op with one attached by augment().
    const cube: OpSchema = {
      op: 'Cube', domain: 'tessera.test', inputs: [{ name: 'x' }], outputs: [{ name: 'y' }],
      infer: (ctx) => [ctx.inputs[0]],
      kernel: ({ inputs }) => [Tensor.from(Array.from(inputs[0]!.toFloat64(), (v) => v ** 3), inputs[0]!.shape, inputs[0]!.dtype)],
    };
    const reg: OpRegistry = standardOps().extend().register(cube);
    const b = new GraphBuilder(new Graph('g'), reg);
    const w = b.param('w', f64([0.5, -1.5]));
    const y = b.op('Cube', [w], {}, { name: 'cube', domain: 'tessera.test' });
    b.output(y);
    const copy = b.graph.clone();
    expect(() => grad(copy, copy.value(y.name)!, [copy.value('w')!], { registry: reg })).toThrow(/no gradient rule for op tessera.test::Cube \(node tessera.test::Cube "cube"\)/);
    const withRule = reg.extend().augment('Cube', {
      gradient: ({ b: gb, node, outputGrads }) => {
        const x = node.inputs[0]!;
        return [gb.op('Mul', [outputGrads[0]!, gb.op('Mul', [gb.op('Mul', [x, x]), gb.constant(3, 'float64')])])];
      },
    }, 'tessera.test');
    const r = checkGradients(b.graph, { feeds: {}, registry: withRule });
    expect(r.ok).toBe(true);
    expect(r.checked).toBe(2);
  });
});

describe('quantiser gradients', () => {
  it('Round inside Clip is straight-through within the range and zero outside', () => {
    const b = new GraphBuilder(new Graph('q'));
    const x = b.input('x', 'float64', [4]);
    const q = b.op('Clip', [b.op('Round', [x]), b.constant(-2, 'float64'), b.constant(2, 'float64')]);
    const loss = b.op('ReduceSum', [q, b.ints([0])], { keepdims: 0 });
    const { grads } = grad(b.graph, loss, [x]);
    const [g] = run(b.graph, { x: f64([-3.2, -1.4, 0.6, 2.7]) }, [grads[0]!.name]);
    expect(Array.from(g!.toFloat64())).toEqual([0, 1, 1, 0]);
  });

  it('LSQ: the step gradient is round(x/s) − x/s inside, the bound when clipped, times g = 1/sqrt(numel·Qp)', () => {
    const b = new GraphBuilder(new Graph('lsq'));
    const x = b.input('x', 'float64', [4]);
    const s = b.param('s', Tensor.scalar(0.5, 'float64'));
    const q = lsqFakeQuant(b, x, s, { bits: 3 }); // levels -3..3
    const loss = b.op('ReduceSum', [q, b.ints([0])], { keepdims: 0 });
    const { grads } = grad(b.graph, loss, [x, s]);
    const xs = [0.3, -0.8, 1.2, -2.6];
    const [gx, gs] = run(b.graph, { x: f64(xs) }, [grads[0]!.name, grads[1]!.name]);
    const expected = xs.map((v) => { const r = v / 0.5; return r > 3 ? 3 : r < -3 ? -3 : Math.round(r) - r; }).reduce((a, c) => a + c, 0) / Math.sqrt(4 * 3);
    expect(gs!.getFlat(0)).toBeCloseTo(expected, 12);
    expect(Array.from(gx!.toFloat64())).toEqual([1, 1, 1, 0]);
  });
});

describe('Hessian tools (central differences of gradients)', () => {
  // L = ½ θᵀAθ with a fixed SPD A: ∇L = Aθ, so the HVP is exact and trace/eigenvalue have closed forms.
  const n = 12;
  const rng = new Rng(3);
  const m = Array.from({ length: n * n }, () => rng.normal());
  const A = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let k = 0; k < n; k++) s += m[i * n + k]! * m[j * n + k]!;
    A[i * n + j] = s / n + (i === j ? 0.1 * (i + 1) : 0);
  }
  const gradient = (th: Float64Array) => {
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[i]! += A[i * n + j]! * th[j]!;
    return out;
  };
  const theta = Float64Array.from({ length: n }, () => rng.normal());
  const hvp = (v: Float64Array) => hvpCentral(gradient, theta, v);

  it('HVP matches A·v to 1e-9 relative', async () => {
    const v = Float64Array.from({ length: n }, () => rng.normal());
    const got = await hvp(v);
    const want = gradient(v);
    const err = Math.sqrt(got.reduce((a, g, i) => a + (g - want[i]!) ** 2, 0) / want.reduce((a, w) => a + w * w, 0));
    expect(err).toBeLessThan(1e-9);
  });

  it('Hutchinson trace (64 probes) and power iteration (20 steps) are within 5% of trace(A) and λmax(A)', async () => {
    let trace = 0;
    for (let i = 0; i < n; i++) trace += A[i * n + i]!;
    const t = await hutchinsonTrace(hvp, n, { probes: 64, rng: new Rng(5) });
    expect(Math.abs(t.trace - trace) / trace).toBeLessThan(0.05);
    // λmax by a long power iteration on A itself as the reference.
    let v = new Float64Array(n).fill(1);
    let lambda = 0;
    for (let it = 0; it < 2000; it++) {
      const w = gradient(v);
      const nw = Math.sqrt(w.reduce((a, x) => a + x * x, 0));
      lambda = w.reduce((a, x, i) => a + x * v[i]!, 0);
      v = w.map((x) => x / nw);
    }
    const e = await topEigenvalue(hvp, n, { rng: new Rng(9) });
    expect(Math.abs(e.eigenvalue - lambda) / lambda).toBeLessThan(0.05);
  });
});
