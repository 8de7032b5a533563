import { Graph, GraphBuilder, Rng, Tensor } from '@tessera/core';
import { describe, expect, it } from 'vitest';
import { adamw } from './optimizers.js';
import { Trainer } from './trainer.js';

// The built-in cross-entropy on dense [N, C, H, W] logits takes [N, H, W] labels (segmentation).

describe('cross-entropy on per-pixel logits', () => {
  it('trains a 1x1 conv to label pixels by sign', async () => {
    const rng = new Rng(3);
    const n = 64;
    const x = Tensor.from(Array.from({ length: n * 16 }, () => rng.normal()), [n, 1, 4, 4]);
    const y = Tensor.from(Array.from(x.toFloat64(), (v) => (v > 0 ? 1 : 0)), [n, 4, 4], 'int64');
    const b = new GraphBuilder(new Graph('pixels'));
    const input = b.input('x', 'float32', [16, 1, 4, 4]);
    const w = b.param('conv.weight', Tensor.from([0.1, -0.1], [2, 1, 1, 1]));
    const bias = b.param('conv.bias', Tensor.from([0, 0], [2]));
    b.output(b.op('Conv', [input, w, bias], { kernel_shape: [1, 1] }), 'logits');
    const t = await Trainer.create({ forward: b.graph, batchSize: 16, optimizer: adamw({ lr: 0.1 }), seed: 1 });
    const steps = await t.fit({ x, y }, { epochs: 8, progress: false });
    expect(steps.at(-1)!.loss).toBeLessThan(steps[0]!.loss / 2);
    const wTrained = t.flatTrainable();
    // Class 1 must score positive pixels higher: the two 1x1 filters end up ordered by sign.
    expect(wTrained[1]! - wTrained[0]!).toBeGreaterThan(0.5);
    // evaluate scores every pixel: [N, C, H, W] logits against [N, H, W] labels.
    const r = await t.evaluate({ x, y });
    expect(r.logits.shape).toEqual([n, 2, 4, 4]);
    const d = r.logits.data as Float32Array;
    let ok = 0;
    for (let i = 0; i < n; i++) for (let j = 0; j < 16; j++) ok += Number(d[(i * 2 + 1) * 16 + j]! > d[(i * 2) * 16 + j]!) === y.getFlat(i * 16 + j) ? 1 : 0;
    expect(r.accuracy).toBeCloseTo(ok / (n * 16), 12);
    expect(r.accuracy).toBeGreaterThan(0.95);
    await t.executor.dispose();
  });
});
