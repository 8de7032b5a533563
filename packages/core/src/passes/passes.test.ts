import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Graph, type Value } from '../graph.js';
import { GraphBuilder } from '../builder.js';
import { Tensor } from '../tensor.js';
import { Rng } from '../rng.js';
import { standardOps } from '../ops/index.js';
import { interpret } from '../interpreter.js';
import {
  CommonSubexpressionEliminationPass, ConstantFoldingPass, DeadCodeEliminationPass, PassError, PassManager,
  PatternRewritePass, RewriteTracer, ShapeInferencePass, applyRewriteRules, defineRewriteRule, matchRule, type Pass,
} from './index.js';

const registry = standardOps();

function rand(shape: number[], seed: number): Tensor {
  const rng = new Rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return Tensor.from(Array.from({ length: n }, () => rng.normal()), shape, 'float32');
}

/**
 * Runs a graph on the reference interpreter. On a clone: interpret() caches its execution plan per
 * Graph object, and these tests edit graphs in place between runs.
 */
function run(g: Graph, feeds: Record<string, Tensor>): Tensor[] {
  return Object.values(interpret(g.clone(), feeds, { registry }));
}

function expectSameNumbers(a: Tensor[], b: Tensor[]): void {
  expect(a.length).toBe(b.length);
  a.forEach((t, i) => {
    expect([...b[i]!.shape]).toEqual([...t.shape]);
    const x = t.toFloat64();
    const y = b[i]!.toFloat64();
    for (let k = 0; k < x.length; k++) expect(y[k]).toBeCloseTo(x[k]!, 6);
  });
}

const ops = (g: Graph) => g.nodes.map((n) => n.op);

/** x[2,3] -> MatMul(W) -> Add(b) -> Relu -> y, plus a dead Mul chain and an unused initializer. */
function mlp(): { g: Graph; feeds: Record<string, Tensor> } {
  const b = new GraphBuilder(new Graph('mlp'), registry);
  const x = b.input('x', 'float32', [2, 3]);
  const w = b.param('w', rand([3, 4], 1));
  const bias = b.param('b', rand([4], 2));
  b.param('unused', rand([5], 3));
  const h = b.op('Add', [b.op('MatMul', [x, w]), bias], {}, { name: 'add' });
  const y = b.op('Relu', [h], {}, { name: 'relu' });
  b.op('Mul', [b.op('Mul', [h, h]), h]); // dead
  b.output(y, 'y');
  return { g: b.graph, feeds: { x: rand([2, 3], 4) } };
}

describe('PassManager', () => {
  const counting = (name: string, changesLeft: { n: number }): Pass => ({
    name,
    inPlace: true,
    run: (graph) => {
      const changed = changesLeft.n > 0;
      changesLeft.n--;
      return { graph, changed };
    },
  });

  it('runs a sequence once, records timing, skips falsy entries', () => {
    const { g } = mlp();
    const r = new PassManager([new DeadCodeEliminationPass(), false, null, new ShapeInferencePass()], { registry }).run(g);
    expect(r.records.map((x) => x.pass)).toEqual(['DeadCodeEliminationPass', 'ShapeInferencePass']);
    expect(r.records.every((x) => x.ms >= 0)).toBe(true);
    expect(r.changed).toBe(true);
    expect(r.iterations).toBe(1);
    expect(ops(r.graph)).toEqual(['MatMul', 'Add', 'Relu']);
  });

  it('repeats to a fixed point and stops at maxIterations', () => {
    const left = { n: 2 };
    const r = new PassManager([counting('A', left)], { fixedPoint: true }).run(new Graph());
    expect(r.iterations).toBe(3);
    expect(r.converged).toBe(true);
    const r2 = new PassManager([counting('A', { n: 100 })], { fixedPoint: true, maxIterations: 4 }).run(new Graph());
    expect(r2.iterations).toBe(4);
    expect(r2.converged).toBe(false);
  });

  it('nests a fixed-point group as one pass', () => {
    const left = { n: 3 };
    const group = new PassManager([counting('Inner', left)], { fixedPoint: true }).asPass('Group');
    const r = new PassManager([group, new DeadCodeEliminationPass()]).run(mlp().g);
    expect(r.records.map((x) => [x.pass, x.changed])).toEqual([['Group', true], ['DeadCodeEliminationPass', true]]);
    expect(left.n).toBe(-1); // three changing runs, then one that changed nothing
  });

  it('names the failing pass, the phase and what ran before it', () => {
    const boom: Pass = { name: 'Boom', inPlace: true, run: () => { throw new Error('kaput'); } };
    const pm = new PassManager([new DeadCodeEliminationPass(), new ShapeInferencePass(), boom], { registry });
    expect(() => pm.run(mlp().g)).toThrow('pass Boom failed in run: kaput; ran before: DeadCodeEliminationPass, ShapeInferencePass');
    const picky: Pass = { name: 'Picky', inPlace: true, requires: () => 'needs a graph named "other"', run: (graph) => ({ graph, changed: false }) };
    try {
      new PassManager([new DeadCodeEliminationPass(), picky]).run(mlp().g);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(PassError);
      expect((e as PassError).phase).toBe('requires');
      expect((e as PassError).ranBefore).toEqual(['DeadCodeEliminationPass']);
      expect((e as Error).message.split('\n')).toHaveLength(1);
    }
    const liar: Pass = { name: 'Liar', inPlace: true, run: (graph) => ({ graph: graph.clone(), changed: true }) };
    expect(() => new PassManager([liar]).run(new Graph())).toThrow('pass Liar failed in contract: declared inPlace but returned a different graph; ran before: (nothing)');
    const lazy: Pass = { name: 'Lazy', inPlace: true, ensures: () => 'no Relu left', run: (graph) => ({ graph, changed: false }) };
    expect(() => new PassManager([lazy], { fixedPoint: true }).run(new Graph())).toThrow('pass Lazy#0 failed in ensures: no Relu left');
  });

  it('with verify, fails naming the pass that broke the graph', () => {
    const breaker: Pass = {
      name: 'Breaker',
      inPlace: true,
      run: (graph) => {
        graph.removeNode(graph.nodes.find((n) => n.op === 'MatMul')!);
        return { graph, changed: true };
      },
    };
    expect(() => new PassManager([new DeadCodeEliminationPass(), breaker], { registry, verify: true }).run(mlp().g)).toThrow(
      /^pass Breaker failed in verify: node "add" \(Add\): input 0 %matmul\w* is neither a graph input, an initializer, nor produced by an earlier node; ran before: DeadCodeEliminationPass$/,
    );
  });

  it('dumps the graph before and after each pass to a callback and a folder', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-dump-'));
    const seen: string[] = [];
    new PassManager([new DeadCodeEliminationPass(), new CommonSubexpressionEliminationPass()], {
      dump: { dir, onDump: (d) => seen.push(`${d.step}:${d.pass}:${d.when}`) },
    }).run(mlp().g);
    expect(seen).toEqual(['0:DeadCodeEliminationPass:before', '0:DeadCodeEliminationPass:after', '1:CommonSubexpressionEliminationPass:before', '1:CommonSubexpressionEliminationPass:after']);
    const files = readdirSync(dir).sort();
    expect(files).toEqual(['000-DeadCodeEliminationPass-after.txt', '000-DeadCodeEliminationPass-before.txt', '001-CommonSubexpressionEliminationPass-after.txt', '001-CommonSubexpressionEliminationPass-before.txt']);
    expect(readFileSync(join(dir, files[1]!), 'utf8')).toContain('= Mul(');
    expect(readFileSync(join(dir, files[0]!), 'utf8')).not.toContain('= Mul(');
  });
});

describe('DeadCodeEliminationPass', () => {
  it('removes dead chains and unused initializers, keeps the numbers', () => {
    const { g, feeds } = mlp();
    const before = run(g, feeds);
    const r = new DeadCodeEliminationPass().run(g);
    expect(r.changed).toBe(true);
    expect(ops(g)).toEqual(['MatMul', 'Add', 'Relu']);
    expect([...g.initializers.keys()]).toEqual(['w', 'b']);
    expectSameNumbers(before, run(g, feeds));
    expect(new DeadCodeEliminationPass().run(g).changed).toBe(false);
  });
});

describe('ConstantFoldingPass', () => {
  function graph(): { g: Graph; feeds: Record<string, Tensor> } {
    const b = new GraphBuilder(new Graph('cf'), registry);
    const x = b.input('x', 'float32', [2, 4]);
    const c1 = b.constant(rand([4], 5), 'float32', 'c1');
    const c2 = b.constant(rand([4], 6), 'float32', 'c2');
    const s = b.op('Mul', [b.op('Add', [c1, c2]), b.constant(2)]);
    const shape = b.op('Shape', [x]);
    const y = b.op('Reshape', [b.op('Mul', [x, s]), shape]);
    b.output(y, 'y');
    return { g: b.graph, feeds: { x: rand([2, 4], 7) } };
  }

  it('folds nodes whose inputs are all constant (and Shape of a static shape), keeps the numbers', () => {
    const { g, feeds } = graph();
    const before = run(g, feeds);
    const r = new PassManager([new ConstantFoldingPass(), new DeadCodeEliminationPass()], { registry, verify: true }).run(g);
    expect(ops(r.graph)).toEqual(['Mul', 'Reshape']);
    expectSameNumbers(before, run(r.graph, feeds));
  });

  it('leaves outputs larger than maxElements alone', () => {
    const { g } = graph();
    new ConstantFoldingPass({ maxElements: 1 }).run(g, { registry, iteration: 0, log: () => {} });
    expect(ops(g)).toEqual(['Add', 'Mul', 'Shape', 'Mul', 'Reshape']);
  });
});

describe('ShapeInferencePass', () => {
  it('restores wiped types and reports the change', () => {
    const { g } = mlp();
    const types = g.nodes.map((n) => JSON.stringify(n.output().type));
    for (const n of g.nodes) for (const o of n.outputs) o.type = undefined;
    const r = new PassManager([new ShapeInferencePass()], { registry }).run(g);
    expect(r.changed).toBe(true);
    expect(g.nodes.map((n) => JSON.stringify(n.output().type))).toEqual(types);
    expect(new PassManager([new ShapeInferencePass()], { registry }).run(g).changed).toBe(false);
  });
});

describe('CommonSubexpressionEliminationPass', () => {
  it('merges repeated computations, keeps the numbers', () => {
    const b = new GraphBuilder(new Graph('cse'), registry);
    const x = b.input('x', 'float32', [3]);
    const a1 = b.op('Relu', [x]);
    const a2 = b.op('Relu', [x]);
    const e1 = b.op('Add', [a1, b.op('Exp', [a2])]);
    const e2 = b.op('Add', [a2, b.op('Exp', [a1])]);
    b.output(b.op('Sub', [e1, e2]), 'y');
    b.output(b.op('LeakyRelu', [x], { alpha: 0.1 }), 'z1');
    b.output(b.op('LeakyRelu', [x], { alpha: 0.2 }), 'z2');
    const g = b.graph;
    const feeds = { x: Tensor.from([-1, 0.5, 2], [3]) };
    const before = run(g, feeds);
    const r = new CommonSubexpressionEliminationPass().run(g);
    expect(r.changed).toBe(true);
    expect(ops(g)).toEqual(['Relu', 'Exp', 'Add', 'Sub', 'LeakyRelu', 'LeakyRelu']);
    expectSameNumbers(before, run(g, feeds));
  });
});

describe('pattern rewrites', () => {
  const matmulAdd = defineRewriteRule({
    name: 'MatMulAddToGemm',
    vars: ['x', 'w', 'b'],
    pattern: (b, { x, w, b: bias }) => b.op('Add', [b.op('MatMul', [x!, w!], {}, { name: 'mm' }), bias!]),
    check: (m) => (m.vars.x!.shape?.length === 2 && m.vars.w!.shape?.length === 2 ? true : `x is rank ${m.vars.x!.shape?.length}, Gemm needs rank 2`),
    rewrite: (b, m) => b.op('Gemm', [m.vars.x!, m.vars.w!, m.vars.b!]),
    commute: true,
  });
  const mulOne = defineRewriteRule({
    name: 'MulByOne',
    vars: ['x'],
    pattern: (b, { x }) => b.op('Mul', [x!, b.constant(1)]),
    rewrite: (_b, m) => m.vars.x!,
    commute: true,
  });

  it('rewrites MatMul+Add into Gemm (operands either way round) and keeps the numbers', () => {
    const { g, feeds } = mlp();
    new DeadCodeEliminationPass().run(g);
    const before = run(g, feeds);
    const tracer = new RewriteTracer();
    const r = new PassManager([new PatternRewritePass([matmulAdd], { tracer })], { registry, verify: true }).run(g);
    expect(r.changed).toBe(true);
    expect(ops(g)).toEqual(['Gemm', 'Relu']);
    expect(tracer.entries).toEqual([{ rule: 'MatMulAddToGemm', node: 'add', op: 'Add', matched: true }]);
    expectSameNumbers(before, run(g, feeds));
  });

  it('commute: matches Add(bias, MatMul) too, and not without it', () => {
    const b = new GraphBuilder(new Graph(), registry);
    const x = b.input('x', 'float32', [2, 3]);
    const mm = b.op('MatMul', [x, b.param('w', rand([3, 4], 1))]);
    b.output(b.op('Add', [b.param('b', rand([4], 2)), mm]), 'y');
    const feeds = { x: rand([2, 3], 3) };
    const before = run(b.graph, feeds);
    const strict = { ...matmulAdd, name: 'Strict', commute: false };
    const tracer = new RewriteTracer();
    expect(applyRewriteRules(b.graph, [strict], { registry, tracer })).toBe(0);
    expect(tracer.entries[0]!.reason).toBe('%b is not produced by a node, the pattern wants an output of MatMul');
    expect(applyRewriteRules(b.graph, [matmulAdd], { registry })).toBe(1);
    expect(ops(b.graph)).toEqual(['Gemm']);
    expect(b.graph.outputs[0]!.name).toBe('y');
    expectSameNumbers(before, run(b.graph, feeds));
  });

  it('folding, rewriting and cleaning to a fixed point', () => {
    const b = new GraphBuilder(new Graph(), registry);
    const x = b.input('x', 'float32', [2, 3]);
    const w = b.op('Add', [b.param('w0', rand([3, 4], 1)), b.param('w1', rand([3, 4], 2))]);
    const one = b.op('Add', [b.constant(0.5), b.constant(0.5)]);
    const y = b.op('Mul', [b.op('Add', [b.op('MatMul', [x, w]), b.param('b', rand([4], 3))]), one]);
    b.output(y, 'y');
    const feeds = { x: rand([2, 3], 4) };
    const before = run(b.graph, feeds);
    const r = new PassManager(
      [new ConstantFoldingPass(), new PatternRewritePass([matmulAdd, mulOne]), new DeadCodeEliminationPass()],
      { registry, fixedPoint: true, verify: true },
    ).run(b.graph);
    expect(ops(r.graph)).toEqual(['Gemm']);
    expect(r.converged).toBe(true);
    expect(r.iterations).toBe(2); // one round does everything, the second confirms nothing changes
    expect(r.graph.initializers.size).toBe(2); // the folded weight and the bias
    expectSameNumbers(before, run(r.graph, feeds));
  });

  it('matches constants by value and keeps the graph output name', () => {
    const b = new GraphBuilder(new Graph(), registry);
    const x = b.input('x', 'float32', [3]);
    const r = b.op('Relu', [x]);
    b.output(b.op('Mul', [b.constant(1), r]), 'y');
    b.output(b.op('Mul', [r, b.constant(2)]), 'z');
    const g = b.graph;
    const feeds = { x: Tensor.from([-1, 2, 3], [3]) };
    const before = run(g, feeds);
    const tracer = new RewriteTracer();
    expect(applyRewriteRules(g, [mulOne], { registry, tracer })).toBe(1);
    expect(ops(g)).toEqual(['Relu', 'Mul']);
    expect(g.outputs.map((o) => o.name)).toEqual(['y', 'z']);
    const missed = tracer.entries.filter((e) => !e.matched);
    // The second sweep (after the first rewrite fired) looks at the Mul by 2 again.
    expect(missed.map((e) => e.node)).toEqual([missed[0]!.node, missed[0]!.node]);
    expect(missed[0]!.reason).toMatch(/^%const\w* is \[2\], the pattern wants \[1\]$/);
    expect(tracer.why('MulByOne', missed[0]!.node)).toEqual(missed);
    expect(tracer.entries.filter((e) => e.matched)).toHaveLength(1);
    expectSameNumbers(before, run(g, feeds));
  });

  it('the tracer says why a rule did not match at each candidate', () => {
    const b = new GraphBuilder(new Graph(), registry);
    const x = b.input('x', 'float32', [2, 3]);
    const x3 = b.input('x3', 'float32', [5, 2, 3]);
    const w = b.param('w', rand([3, 3], 1));
    const bias = b.param('b', rand([3], 2));
    const r = b.op('Add', [b.op('Relu', [x], {}, { name: 'relu' }), bias], {}, { name: 'a_relu' });
    const mm = b.op('MatMul', [x, w], {}, { name: 'mm_shared' });
    const shared = b.op('Add', [mm, bias], {}, { name: 'a_shared' });
    const r3 = b.op('Add', [b.op('MatMul', [x3, w]), bias], {}, { name: 'a_rank3' });
    for (const v of [r, shared, mm, r3] as Value[]) b.output(v);
    const tracer = new RewriteTracer();
    expect(applyRewriteRules(b.graph, [matmulAdd], { registry, tracer })).toBe(0);
    const why = Object.fromEntries(tracer.entries.map((e) => [e.node, e.reason]));
    const relu = b.graph.nodes.find((n) => n.op === 'Relu')!.output();
    expect(why).toEqual({
      a_relu: `%${relu.name} comes from node "relu" (Relu), the pattern wants MatMul`,
      a_shared: `%${mm.name} of node "mm_shared" is a graph output inside the match`,
      a_rank3: 'check failed: x is rank 3, Gemm needs rank 2',
    });
    expect(tracer.report().split('\n')[0]).toBe(`MatMulAddToGemm at node "a_relu" (Add): no match: %${relu.name} comes from node "relu" (Relu), the pattern wants MatMul`);
    const m = matchRule(mulOne, b.graph.nodes.find((n) => n.name === 'a_relu')!, registry);
    expect(m).toBe('node is Add, the pattern\'s root is Mul');
  });
});
