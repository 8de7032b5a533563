import { describe, expect, it } from 'vitest';
import { Graph, Value } from './graph.js';
import { GraphBuilder } from './builder.js';
import { Tensor } from './tensor.js';
import { standardOps } from './ops/index.js';
import { assertValid, verifyGraph } from './verifier.js';

const registry = standardOps();

function small() {
  const b = new GraphBuilder(new Graph('g'), registry);
  const x = b.input('x', 'float32', ['N', 3]);
  const w = b.param('w', Tensor.from([1, 2, 3, 4, 5, 6], [3, 2]));
  const h = b.op('MatMul', [x, w], {}, { name: 'fc1' });
  const y = b.op('Relu', [h], {}, { name: 'act1' });
  b.output(y, 'y');
  return { b, g: b.graph, x, w, h, y };
}

const messages = (g: Graph) => verifyGraph(g, registry).filter((d) => d.severity === 'error').map((d) => d.message);

describe('verifyGraph', () => {
  it('accepts a valid graph', () => {
    expect(verifyGraph(small().g, registry)).toEqual([]);
    expect(() => assertValid(small().g, registry)).not.toThrow();
  });

  it('reports unknown ops naming the node', () => {
    const { g, h } = small();
    g.addNode({ op: 'Frobnicate', name: 'frob', inputs: [h] });
    expect(messages(g)).toEqual([`node "frob" (Frobnicate): op Frobnicate is not in the op registry (${registry.size} ops known)`]);
  });

  it('reports dangling inputs', () => {
    const { g, y } = small();
    const ghost = new Value('ghost', { dtype: 'float32', shape: [2] }, g);
    g.addNode({ op: 'Add', name: 'add1', inputs: [y, ghost] });
    expect(messages(g)).toEqual(['node "add1" (Add): input 1 %ghost is neither a graph input, an initializer, nor produced by an earlier node']);
    const warning = verifyGraph(g, registry).find((d) => d.severity === 'warning')!;
    expect(warning.message).toBe(`node "add1" (Add): output 0 %${g.nodes[2]!.output().name} has no type (inference gives float32[N, 2]); run ShapeInferencePass`);
  });

  it('distinguishes out-of-order nodes from cycles', () => {
    const { g } = small();
    const [fc1, act1] = g.nodes;
    g.moveBefore(act1!, fc1!);
    expect(verifyGraph(g, registry).map((d) => d.code)).toEqual(['topological-order']);
    expect(messages(g)[0]).toBe(`node "act1" (Relu): input 0 %${fc1!.output().name} is produced by node "fc1" at position 1, after this node (position 0)`);

    const c = small();
    c.g.nodes[0]!.setInput(0, c.y);
    const codes = verifyGraph(c.g, registry).map((d) => d.code);
    expect(codes).toContain('cycle');
    expect(messages(c.g).find((m) => m.includes('cycle'))).toBe('node "act1" (Relu): is on a cycle: "act1" -> "fc1" -> "act1"');
  });

  it('reports duplicate node names', () => {
    const { g } = small();
    g.nodes[1]!.name = 'fc1';
    expect(messages(g)).toEqual(['node "fc1" (MatMul): node name "fc1" is used by 2 nodes']);
  });

  it('re-runs inference: dtype and shape disagreements and rejected inputs', () => {
    const { g, h, y } = small();
    h.type = { dtype: 'float16', shape: ['N', 2] };
    y.type = { dtype: 'float16', shape: ['N', 2] };
    expect(messages(g)).toEqual([`node "fc1" (MatMul): output 0 %${h.name} is float16, inference from the inputs gives float32`]);
    const s = small();
    s.y.type = { dtype: 'float32', shape: ['N', 5] };
    expect(messages(s.g)).toEqual(['node "act1" (Relu): output 0 %y has shape [N, 5], inference from the inputs gives [N, 2]']);
    const t = small();
    t.g.setInitializer('w', Tensor.from([1, 2, 3, 4, 5, 6], [3, 2], 'int32'));
    const d = verifyGraph(t.g, registry);
    expect(d).toHaveLength(1);
    expect(d[0]!.code).toBe('type-mismatch');
    expect(d[0]!.message).toMatch(/^node "fc1" \(MatMul\): inference rejects the input types \(float32\[N, 3\], int32\[3, 2\]\): /);
  });

  it('checks arity and attribute kinds', () => {
    const { g, h } = small();
    g.addNode({ op: 'Relu', name: 'r2', inputs: [h, h] });
    expect(messages(g)).toEqual(['node "r2" (Relu): has 2 inputs, the schema allows at most 1']);
  });

  it('assertValid throws the first error as one line with the count of the others', () => {
    const { g, h } = small();
    g.addNode({ op: 'Frobnicate', name: 'f1', inputs: [h] });
    g.addNode({ op: 'Frobnicate', name: 'f2', inputs: [h] });
    expect(() => assertValid(g, registry)).toThrow(
      `graph "g" is invalid: node "f1" (Frobnicate): op Frobnicate is not in the op registry (${registry.size} ops known) (and 1 more error(s); verifyGraph lists them)`,
    );
  });
});
