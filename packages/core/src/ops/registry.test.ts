import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../builder.js';
import '../builder-ops.js';
import { Tensor } from '../tensor.js';
import { standardOps } from './index.js';

describe('standard op set', () => {
  it('declares every op once, with inference, a kernel and a cost rule', () => {
    const ops = standardOps().list();
    expect(ops.length).toBeGreaterThanOrEqual(150);
    for (const s of ops) {
      expect(typeof s.infer, s.op).toBe('function');
      expect(typeof s.kernel, s.op).toBe('function');
      expect(typeof s.cost, s.op).toBe('function');
    }
    for (const op of ['Shape', 'Equal', 'ArgMax', 'NonZero', 'Floor', 'QuantizeLinear']) expect(standardOps().get(op)!.differentiable).toBe(false);
  });

  it('cost rules derive MACs from value types', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [8, 3, 32, 32]);
    const c = b.conv(x, b.param('w', Tensor.zeros('float32', [16, 3, 3, 3])), null, { pads: [1, 1, 1, 1] });
    const m = b.matmul(b.flatten(c), b.param('fc', Tensor.zeros('float32', [16 * 32 * 32, 10])));
    const reg = standardOps();
    expect(reg.get('Conv')!.cost!(c.producer!).macs).toBe(8 * 16 * 32 * 32 * 27);
    expect(reg.get('MatMul')!.cost!(m.producer!).macs).toBe(8 * 10 * 16 * 32 * 32);
    const r = b.relu(m);
    expect(reg.get('Relu')!.cost!(r.producer!)).toMatchObject({ flops: 80, elementsRead: 80, elementsWritten: 80 });
    const sym = b.relu(b.input('s', 'float32', ['N', 4]));
    expect(reg.get('Relu')!.cost!(sym.producer!).flops).toBeUndefined();
  });
});
