// Seeded sample graphs built with core's GraphBuilder: used by the bench and by backend-agreement tests.
import { GraphBuilder, Rng, Tensor, type Graph, type Value } from '@tessera/core';

function randn(rng: Rng, shape: number[], scale: number): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = rng.normal() * scale;
  return new Tensor('float32', shape, data);
}

/** LeNet-5 as in the benchmark: 1x28x28 -> conv5x5(6, pad 2) -> pool -> conv5x5(16) -> pool -> 120 -> 84 -> 10. */
export function lenet(batch: number, seed = 0): { graph: Graph; feeds: Record<string, Tensor> } {
  const rng = new Rng(seed);
  const b = new GraphBuilder();
  b.graph.name = 'lenet';
  const x = b.input('x', 'float32', [batch, 1, 28, 28]);
  const conv = (v: Value, cin: number, cout: number, pad: number, name: string) => {
    const w = b.param(`${name}.w`, randn(rng, [cout, cin, 5, 5], Math.sqrt(2 / (cin * 25))));
    const bias = b.param(`${name}.b`, randn(rng, [cout], 0.01));
    return b.op('Relu', [b.op('Conv', [v, w, bias], { kernel_shape: [5, 5], pads: [pad, pad, pad, pad] }, { name })]);
  };
  const pool = (v: Value) => b.op('MaxPool', [v], { kernel_shape: [2, 2], strides: [2, 2] });
  const fc = (v: Value, nin: number, nout: number, name: string, relu: boolean) => {
    const w = b.param(`${name}.w`, randn(rng, [nout, nin], Math.sqrt(2 / nin)));
    const bias = b.param(`${name}.b`, randn(rng, [nout], 0.01));
    const y = b.op('Gemm', [v, w, bias], { transB: 1 }, { name });
    return relu ? b.op('Relu', [y]) : y;
  };
  let h = pool(conv(x, 1, 6, 2, 'conv1'));
  h = pool(conv(h, 6, 16, 0, 'conv2'));
  h = b.op('Flatten', [h], { axis: 1 });
  h = fc(h, 400, 120, 'fc1', true);
  h = fc(h, 120, 84, 'fc2', true);
  b.output(fc(h, 84, 10, 'fc3', false), 'logits');
  return { graph: b.graph, feeds: { x: randn(rng, [batch, 1, 28, 28], 1) } };
}

/** Pre-norm transformer encoder blocks (self-attention with `heads` heads + GELU MLP), opset 17 ops only. */
export function transformer(opts: { batch: number; seq: number; dim: number; heads: number; layers: number }, seed = 0): { graph: Graph; feeds: Record<string, Tensor> } {
  const { batch: B, seq: T, dim: D, heads: H, layers } = opts;
  const rng = new Rng(seed);
  const b = new GraphBuilder();
  b.graph.name = 'transformer';
  const x = b.input('x', 'float32', [B, T, D]);
  const dh = D / H;
  const linear = (v: Value, nin: number, nout: number, name: string) => b.op('Add', [
    b.op('MatMul', [v, b.param(`${name}.w`, randn(rng, [nin, nout], Math.sqrt(1 / nin)))], {}, { name }),
    b.param(`${name}.b`, randn(rng, [nout], 0.01)),
  ]);
  const norm = (v: Value, name: string) => b.op('LayerNormalization', [
    v, b.param(`${name}.g`, Tensor.from(new Array(D).fill(1), [D])), b.param(`${name}.b`, Tensor.zeros('float32', [D])),
  ], { axis: -1, epsilon: 1e-5 }, { name });
  const heads = (v: Value) => b.op('Transpose', [b.op('Reshape', [v, b.ints([B, T, H, dh])])], { perm: [0, 2, 1, 3] });
  const half = b.constant(0.5);
  const one = b.constant(1);
  const invSqrt2 = b.constant(Math.SQRT1_2);
  const scale = b.constant(1 / Math.sqrt(dh));
  let h = x;
  for (let l = 0; l < layers; l++) {
    const n1 = norm(h, `l${l}.ln1`);
    const q = heads(linear(n1, D, D, `l${l}.q`));
    const k = heads(linear(n1, D, D, `l${l}.k`));
    const v = heads(linear(n1, D, D, `l${l}.v`));
    const att = b.op('Softmax', [b.op('Mul', [b.op('MatMul', [q, b.op('Transpose', [k], { perm: [0, 1, 3, 2] })]), scale])], { axis: -1 });
    const y = b.op('Reshape', [b.op('Transpose', [b.op('MatMul', [att, v])], { perm: [0, 2, 1, 3] }), b.ints([B, T, D])]);
    h = b.op('Add', [h, linear(y, D, D, `l${l}.proj`)]);
    const u = linear(norm(h, `l${l}.ln2`), D, 4 * D, `l${l}.fc1`);
    const gelu = b.op('Mul', [b.op('Mul', [u, half]), b.op('Add', [one, b.op('Erf', [b.op('Mul', [u, invSqrt2])])])]);
    h = b.op('Add', [h, linear(gelu, 4 * D, D, `l${l}.fc2`)]);
  }
  b.output(h, 'y');
  return { graph: b.graph, feeds: { x: randn(rng, [B, T, D], 1) } };
}
