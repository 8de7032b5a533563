import { Graph, Tensor, attr } from '@tessera/core';
import { afterAll, describe, expect, it } from 'vitest';
import { createExecutor, graphKey, loadOrtNode, toOrtTensor, type BackendName } from './index.js';
import { loadOrtWeb } from './create-executor.js';
import { ortErrorMessage } from './errors.js';
import type { OrtModule } from './tensor-convert.js';

/** x[N,4] -> Reshape(x, shape) -> MatMul(W) + b -> Relu; shape is a graph input so a bad feed fails at run time. */
function mlp(seed = 1): Graph {
  const g = new Graph('mlp');
  g.opsets = [{ domain: '', version: 17 }];
  const x = g.addInput('x', { dtype: 'float32', shape: ['N', 4] });
  const shape = g.addInput('shape', { dtype: 'int64', shape: [2] });
  const w = g.addInitializer('W', Tensor.from(Array.from({ length: 12 }, (_, i) => ((i * 7 + seed) % 5) - 2), [4, 3]));
  const b = g.addInitializer('b', Tensor.from([0.5, -0.5, 0.25], [3]));
  const r = g.addNode({ op: 'Reshape', name: 'reshape1', inputs: [x, shape], outputs: ['xr'] });
  const mm = g.addNode({ op: 'MatMul', name: 'mm', inputs: [r.output(), w], outputs: ['h'] });
  const add = g.addNode({ op: 'Add', name: 'add', inputs: [mm.output(), b], outputs: ['z'] });
  const relu = g.addNode({ op: 'Relu', name: 'relu', inputs: [add.output()], outputs: ['y'] });
  relu.output().type = { dtype: 'float32', shape: ['N', 3] };
  g.addOutput(relu.output());
  return g;
}

const feeds = {
  x: Tensor.from([1, 2, 3, 4, -1, -2, -3, -4], [2, 4]),
  shape: Tensor.from([2, 4], [2], 'int64'),
};
const expected = [5.5, 0, 0, 0, 0, 0]; // computed by hand from W, b above (Relu clips the rest)

const executors = { 'ort-node': createExecutor('ort-node'), 'ort-web': createExecutor('ort-web') };
afterAll(async () => { for (const e of Object.values(executors)) await e.dispose(); });

function expectedY(): number[] {
  const w = mlp().initializers.get('W')!.initializer!;
  const out: number[] = [];
  for (let n = 0; n < 2; n++) for (let j = 0; j < 3; j++) {
    let s = [0.5, -0.5, 0.25][j]!;
    for (let k = 0; k < 4; k++) s += feeds.x.getFlat(n * 4 + k) * w.getFlat(k * 3 + j);
    out.push(Math.max(0, s));
  }
  return out;
}

describe.each(['ort-node', 'ort-web'] as const)('%s', (backend) => {
  const ex = executors[backend];

  it('runs a graph and returns Tessera tensors', async () => {
    const r = await ex.run(mlp(), feeds);
    expect(r.y!.dtype).toBe('float32');
    expect(r.y!.shape).toEqual([2, 3]);
    expect([...r.y!.data]).toEqual(expectedY());
    expect(expectedY().length).toBe(expected.length);
  });

  it('caches sessions by content: equal graphs share one, new weights make a new one', async () => {
    const a = await ex.session(mlp());
    expect(await ex.session(mlp())).toBe(a);
    expect(await ex.session(mlp().clone())).toBe(a);
    const g = mlp();
    g.setInitializer('W', Tensor.zeros('float32', [4, 3]));
    const b = await ex.session(g);
    expect(b).not.toBe(a);
    expect([...(await b.run(feeds)).y!.data]).toEqual([0.5, 0, 0.25, 0.5, 0, 0.25]);
    await b.release();
    const c = await ex.session(g);
    expect(c).not.toBe(b);
    expect([...(await c.run(feeds)).y!.data]).toEqual([0.5, 0, 0.25, 0.5, 0, 0.25]);
  });

  it('fetches intermediate values on request', async () => {
    const s = await ex.session(mlp());
    const r = await s.run(feeds, ['h', 'y']);
    expect(Object.keys(r)).toEqual(['h', 'y']);
    expect(r.h!.shape).toEqual([2, 3]);
    expect([...r.y!.data]).toEqual(expectedY());
    await expect(s.run(feeds, ['nope'])).rejects.toThrow(`${backend}: cannot fetch 'nope': graph "mlp" has no value of that name`);
  });

  it('a failing node is named with its op', async () => {
    const bad = { ...feeds, shape: Tensor.from([3, 3], [2], 'int64') };
    await expect(ex.run(mlp(), bad)).rejects.toThrow(new RegExp(`^${backend}: node "reshape1" \\(Reshape\\): .*cannot be reshaped`));
  });

  it('a graph onnxruntime rejects at load names the node', async () => {
    const g = new Graph('bad');
    const x = g.addInput('x', { dtype: 'float32', shape: [2, 4] });
    const w = g.addInitializer('W', Tensor.zeros('float32', [5, 3]));
    g.addOutput(g.addNode({ op: 'MatMul', name: 'mm', inputs: [x, w], outputs: ['y'] }).output());
    // onnxruntime-web's load errors carry no node name; onnxruntime-node's do.
    const want = backend === 'ort-node' ? 'ort-node: node "mm" (MatMul): [ShapeInferenceError] Incompatible dimensions for matrix multiplication'
      : 'ort-web: [ShapeInferenceError] Incompatible dimensions for matrix multiplication';
    await expect(ex.session(g)).rejects.toThrow(want);
  });

  it('missing and unknown feeds are one line', async () => {
    await expect(ex.run(mlp(), { x: feeds.x })).rejects.toThrow(`${backend}: graph "mlp" input 'shape' is not fed (feeds: x)`);
    await expect(ex.run(mlp(), { ...feeds, q: feeds.x })).rejects.toThrow(`${backend}: feed 'q' is not an input of graph "mlp" (inputs: x, shape)`);
    await expect(ex.run(mlp(), { ...feeds, x: new Tensor('bfloat16', [2, 4], new Uint16Array(8)) })).rejects.toThrow(`${backend}: input 'x' is bfloat16, which onnxruntime's JavaScript API cannot carry`);
  });
});

describe('conversions and agreement', () => {
  it('Tensor -> ort.Tensor shares storage for every dtype onnxruntime carries', async () => {
    const ort = await loadOrtNode();
    const ts = [
      Tensor.from([1, 2], [2], 'float32'), Tensor.from([1, 2], [2], 'float64'), new Tensor('float16', [2], Uint16Array.from([0x3c00, 0])),
      Tensor.from([1, 2], [2], 'int64'), Tensor.from([1, 0], [2], 'bool'), Tensor.from([1, 2], [2], 'int8'), Tensor.from([1, 2], [2], 'uint64'),
    ];
    for (const t of ts) expect(toOrtTensor(ort, t, 'ort-node', 'x').data).toBe(t.data);
  });

  it('int64, bool and float16 values cross both onnxruntime backends exactly', async () => {
    const g = new Graph('types');
    const a = g.addInput('a', { dtype: 'int64', shape: [3] });
    const m = g.addInput('m', { dtype: 'bool', shape: [3] });
    const h = g.addInput('h', { dtype: 'float16', shape: [3] });
    const outs = [
      g.addNode({ op: 'Neg', name: 'neg', inputs: [a], outputs: ['na'] }),
      g.addNode({ op: 'Not', name: 'not', inputs: [m], outputs: ['nm'] }),
      g.addNode({ op: 'Neg', name: 'negh', inputs: [h], outputs: ['nh'] }),
    ];
    for (const n of outs) g.addOutput(n.output());
    const f = { a: new Tensor('int64', [3], BigInt64Array.from([2n ** 62n, -3n, 0n])), m: Tensor.from([1, 0, 1], [3], 'bool'), h: new Tensor('float16', [3], Uint16Array.from([0x3c00, 0x7c00, 0x0001])) };
    for (const b of ['ort-node', 'ort-web'] as BackendName[]) {
      const r = await executors[b as 'ort-node'].run(g, f);
      expect([...r.na!.data]).toEqual([-(2n ** 62n), 3n, 0n]);
      expect(r.nm!.dtype).toBe('bool');
      expect([...r.nm!.data]).toEqual([0, 1, 0]);
      expect([...r.nh!.data]).toEqual([0xbc00, 0xfc00, 0x8001]);
    }
  });

  it('If subgraphs reading outer values run on both onnxruntime backends', async () => {
    const g = new Graph('cond');
    const c = g.addInput('c', { dtype: 'bool', shape: [] });
    const x = g.addInput('x', { dtype: 'float32', shape: [2] });
    const branch = (name: string, op: string) => {
      const s = new Graph(name);
      s.parent = g;
      const y = s.addNode({ op, name: `${name}_n`, inputs: [x], outputs: [`${name}_y`] }).output();
      y.type = { dtype: 'float32', shape: [2] };
      s.addOutput(y);
      return s;
    };
    const iff = g.addNode({ op: 'If', name: 'if1', inputs: [c], outputs: ['y'], attrs: { then_branch: attr.graph(branch('t', 'Neg')), else_branch: attr.graph(branch('e', 'Abs')) } });
    g.addOutput(iff.output());
    for (const b of ['ort-node', 'ort-web'] as const) {
      expect([...(await executors[b].run(g, { c: Tensor.scalar(true, 'bool'), x: Tensor.from([1, -2], [2]) })).y!.data]).toEqual([-1, 2]);
      expect([...(await executors[b].run(g, { c: Tensor.scalar(false, 'bool'), x: Tensor.from([1, -2], [2]) })).y!.data]).toEqual([1, 2]);
    }
  });

  it('graphKey covers structure, weights and kernel variants, and ignores free-form meta', () => {
    const k = graphKey(mlp());
    expect(graphKey(mlp())).toBe(k);
    expect(graphKey(mlp(2))).not.toBe(k);
    const g = mlp();
    g.meta.set('note', 'anything');
    expect(graphKey(g)).toBe(k);
    g.nodes[3]!.meta.set('kernel', 'approx');
    expect(graphKey(g)).not.toBe(k);
    const h = mlp();
    h.nodes[3]!.setAttr('alpha', attr.float(0.1));
    expect(graphKey(h)).not.toBe(k);
  });

  it('maps onnxruntime error texts to our node names', () => {
    const g = mlp();
    expect(ortErrorMessage('ort-node', "Non-zero status code returned while running MatMul node. Name:'mm' Status Message: /onnxruntime/src/onnxruntime/core/providers/cpu/math/matmul_helper.h:61 onnxruntime::MatMulComputeHelper::Compute(...) left operand cannot broadcast on dim 0", g))
      .toBe('ort-node: node "mm" (MatMul): left operand cannot broadcast on dim 0');
    expect(ortErrorMessage('ort-node', "Could not find an implementation for Relu(14) node with name 'relu'", g))
      .toBe('ort-node: node "relu" (Relu): onnxruntime has no kernel for Relu at opset 14 with these input types');
    expect(ortErrorMessage('ort-web', "failed to call OrtRun(). ERROR_CODE: 2, ERROR_MESSAGE: Node (add) Op (Add) [ShapeInferenceError] Incompatible dimensions", g))
      .toBe('ort-web: node "add" (Add): [ShapeInferenceError] Incompatible dimensions');
  });

  it('createExecutor validates its arguments', () => {
    expect(() => createExecutor('gpu' as BackendName)).toThrow("createExecutor: unknown backend 'gpu' (valid: reference, ort-node, ort-web)");
    expect(() => createExecutor('ort-node', { threads: 0 })).toThrow('createExecutor: threads must be a positive integer (got 0; check TESSERA_THREADS)');
    expect(() => createExecutor('ort-web', { threads: 4 })).toThrow("createExecutor('ort-web'): threads: 4 is not supported; onnxruntime-web runs wasm on 1 thread here (use 'ort-node' for more)");
  });

  it('onnxruntime-web loads its wasm from the installed package with one thread', async () => {
    const ort = (await loadOrtWeb()) as OrtModule & { env: { wasm: { numThreads?: number; wasmPaths?: unknown } } };
    expect(ort.env.wasm.numThreads).toBe(1);
    expect(String(ort.env.wasm.wasmPaths)).toMatch(/^file:\/\/.*onnxruntime-web\/dist\/$/);
  });
});
