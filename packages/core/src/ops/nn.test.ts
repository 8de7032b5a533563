import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../builder.js';
import '../builder-ops.js';
import { Rng } from '../rng.js';
import { Tensor } from '../tensor.js';
import { maxDiff, random, runOp, t, values } from './test-util.js';

/** Direct 2-D convolution, the textbook loop nest. */
function naiveConv(x: Tensor, w: Tensor, stride: number, pad: number, dil: number, group: number): { out: Float64Array; shape: number[] } {
  const [N, C, H, W] = x.shape as number[];
  const [M, Cg, kH, kW] = w.shape as number[];
  const oH = Math.floor((H! + 2 * pad - ((kH! - 1) * dil + 1)) / stride) + 1;
  const oW = Math.floor((W! + 2 * pad - ((kW! - 1) * dil + 1)) / stride) + 1;
  const out = new Float64Array(N! * M! * oH * oW);
  const Mg = M! / group;
  for (let n = 0; n < N!; n++) for (let m = 0; m < M!; m++) for (let oh = 0; oh < oH; oh++) for (let ow = 0; ow < oW; ow++) {
    let s = 0;
    const g = Math.floor(m / Mg);
    for (let c = 0; c < Cg!; c++) for (let i = 0; i < kH!; i++) for (let j = 0; j < kW!; j++) {
      const ih = oh * stride - pad + i * dil;
      const iw = ow * stride - pad + j * dil;
      if (ih < 0 || iw < 0 || ih >= H! || iw >= W!) continue;
      s += x.getFlat(((n * C! + g * Cg! + c) * H! + ih) * W! + iw) * w.getFlat(((m * Cg! + c) * kH! + i) * kW! + j);
    }
    out[((n * M! + m) * oH + oh) * oW + ow] = s;
  }
  return { out, shape: [N!, M!, oH, oW] };
}

describe('Conv and ConvTranspose', () => {
  it('im2row + blocked GEMM conv matches the direct loop nest', () => {
    const rng = new Rng(7);
    for (const [C, M, k, stride, pad, dil, group] of [[1, 6, 5, 1, 2, 1, 1], [4, 20, 3, 2, 1, 1, 1], [6, 6, 3, 1, 1, 2, 3], [3, 5, 1, 1, 0, 1, 1]] as const) {
      const x = random(rng, [2, C, 9, 8]);
      const w = random(rng, [M, C / group, k, k]);
      const y = runOp('Conv', [x, w], { strides: [stride, stride], pads: [pad, pad, pad, pad], dilations: [dil, dil], group })[0]!;
      const ref = naiveConv(x, w, stride, pad, dil, group);
      expect(y.shape).toEqual(ref.shape);
      expect(maxDiff(y, ref.out)).toBeLessThan(1e-4);
    }
  });

  it('Conv adds the bias and supports SAME_UPPER and 1-D inputs', () => {
    const x = t([1, 2, 3, 4], [1, 1, 4]);
    const w = t([1, 1, 1], [1, 1, 3]);
    const y = runOp('Conv', [x, w, t([10], [1])], { auto_pad: 'SAME_UPPER' })[0]!;
    expect(values(y)).toEqual([13, 16, 19, 17]);
  });

  it('Conv names the channel mismatch in inference and at run time', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [1, 3, 8, 8]);
    const w = b.param('w', Tensor.zeros('float32', [4, 1, 3, 3]));
    expect(() => b.conv(x, w, null, {}, { name: 'conv1' })).toThrow(/Conv "conv1": input X has 3 channels, W expects 1/);
    expect(() => runOp('Conv', [Tensor.zeros('float32', [1, 3, 4, 4]), Tensor.zeros('float32', [2, 2, 3, 3])])).toThrow();
  });

  it('ConvTranspose with stride 2 scatters each input into its window', () => {
    const x = t([1, 2], [1, 1, 1, 2]);
    const w = t([1, 1, 1, 1], [1, 1, 2, 2]);
    const y = runOp('ConvTranspose', [x, w], { strides: [2, 2] })[0]!;
    expect(y.shape).toEqual([1, 1, 2, 4]);
    expect(values(y)).toEqual([1, 1, 2, 2, 1, 1, 2, 2]);
  });
});

describe('pools', () => {
  const x = t([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16], [1, 1, 4, 4]);

  it('MaxPool returns values and flat indices', () => {
    const [y, i] = runOp('MaxPool', [x], { kernel_shape: [2, 2], strides: [2, 2] }, 2);
    expect(values(y!)).toEqual([6, 8, 14, 16]);
    expect(i!.dtype).toBe('int64');
    expect(values(i!)).toEqual([5, 7, 13, 15]);
  });

  it('AveragePool with and without counting padding', () => {
    const ex = runOp('AveragePool', [x], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [2, 2] })[0]!;
    expect(values(ex)[0]).toBeCloseTo((1 + 2 + 5 + 6) / 4, 6);
    const inc = runOp('AveragePool', [x], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [2, 2], count_include_pad: 1 })[0]!;
    expect(values(inc)[0]).toBeCloseTo((1 + 2 + 5 + 6) / 9, 6);
  });

  it('ceil_mode adds a partial window', () => {
    const y = runOp('MaxPool', [t([1, 2, 3, 4, 5], [1, 1, 5])], { kernel_shape: [2], strides: [2], ceil_mode: 1 })[0]!;
    expect(values(y)).toEqual([2, 4, 5]);
  });

  it('global pools reduce every spatial dim', () => {
    expect(values(runOp('GlobalAveragePool', [x])[0]!)).toEqual([8.5]);
    expect(runOp('GlobalMaxPool', [x])[0]!.shape).toEqual([1, 1, 1, 1]);
  });
});

describe('normalizations and softmax', () => {
  it('BatchNormalization in inference and training mode', () => {
    const x = t([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2]);
    const ones = t([1, 1], [2]);
    const zeros = t([0, 0], [2]);
    const y = runOp('BatchNormalization', [x, ones, zeros, zeros, ones], { epsilon: 0 })[0]!;
    expect(values(y)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const [yt, rm, rv] = runOp('BatchNormalization', [x, ones, zeros, zeros, ones], { epsilon: 0, training_mode: 1, momentum: 0.5 }, 3);
    // channel 0 holds 1, 2, 5, 6: mean 3.5, variance 4.25
    expect(values(rm!)).toEqual([1.75, 2.75]);
    expect(values(rv!)[0]).toBeCloseTo(0.5 + 0.5 * 4.25, 6);
    expect(values(yt!)[0]).toBeCloseTo((1 - 3.5) / Math.sqrt(4.25), 5);
  });

  it('LayerNormalization returns Y, Mean and InvStdDev', () => {
    const x = t([1, 3, 2, 6], [2, 2]);
    const [y, m, inv] = runOp('LayerNormalization', [x, t([1, 1], [2]), t([0, 0], [2])], { epsilon: 0 }, 3);
    expect(values(y!)).toEqual([-1, 1, -1, 1]);
    expect(m!.shape).toEqual([2, 1]);
    expect(values(m!)).toEqual([2, 4]);
    expect(values(inv!)).toEqual([1, 0.5]);
  });

  it('Softmax and LogSoftmax along an inner axis', () => {
    const x = t([1, 2, 3, 1, 1, 1], [2, 3]);
    const s = runOp('Softmax', [x], { axis: 1 })[0]!;
    const e = [Math.exp(1), Math.exp(2), Math.exp(3)];
    const z = e[0]! + e[1]! + e[2]!;
    values(s).slice(0, 3).forEach((v, i) => expect(v).toBeCloseTo(e[i]! / z, 6));
    values(s).slice(3).forEach((v) => expect(v).toBeCloseTo(1 / 3, 6));
    const l = runOp('LogSoftmax', [x], { axis: 0 })[0]!;
    expect(values(l)[2]).toBeCloseTo(3 - Math.log(Math.exp(3) + Math.exp(1)), 6);
    expect(values(runOp('Hardmax', [x])[0]!)).toEqual([0, 0, 1, 1, 0, 0]);
  });

  it('Dropout is the identity at inference, with an all-true mask', () => {
    const x = t([1, 2, 3], [3]);
    const [y, mask] = runOp('Dropout', [x, t([0.5], [])], {}, 2);
    expect(values(y!)).toEqual([1, 2, 3]);
    expect(mask!.dtype).toBe('bool');
    expect(values(mask!)).toEqual([1, 1, 1]);
  });

  it('SoftmaxCrossEntropyLoss with ignore_index averages over the kept targets', () => {
    const scores = t([0, 0, Math.log(3), 0], [2, 2]);
    const labels = Tensor.from([0, 1], [2], 'int64');
    const [loss] = runOp('SoftmaxCrossEntropyLoss', [scores, labels], {});
    expect(values(loss!)[0]).toBeCloseTo((Math.log(2) + Math.log(4)) / 2, 5);
    const [ign] = runOp('SoftmaxCrossEntropyLoss', [scores, labels], { ignore_index: 1 });
    expect(values(ign!)[0]).toBeCloseTo(Math.log(2), 5);
    const nll = runOp('NegativeLogLikelihoodLoss', [t([-1, -2, -3, -4], [2, 2]), labels], { reduction: 'sum' })[0]!;
    expect(values(nll)).toEqual([5]);
  });

  it('LSTM and GRU produce states of the documented shapes', () => {
    const rng = new Rng(5);
    const x = random(rng, [3, 2, 4]);
    const [y, yh, yc] = runOp('LSTM', [x, random(rng, [1, 20, 4]), random(rng, [1, 20, 5])], { hidden_size: 5 }, 3);
    expect(y!.shape).toEqual([3, 1, 2, 5]);
    expect(values(yh!)).toEqual(values(y!).slice(2 * 10));
    expect(yc!.shape).toEqual([1, 2, 5]);
    const [gy] = runOp('GRU', [x, random(rng, [2, 15, 4]), random(rng, [2, 15, 5])], { hidden_size: 5, direction: 'bidirectional' }, 2);
    expect(gy!.shape).toEqual([3, 2, 2, 5]);
  });

  it('QuantizeLinear rounds half to even and saturates; DequantizeLinear inverts it', () => {
    const q = runOp('QuantizeLinear', [t([0, 1, 2.5, 3.5, 1000, -1000], [6]), t([1], []), Tensor.from([10], [], 'uint8')])[0]!;
    expect(q.dtype).toBe('uint8');
    expect(values(q)).toEqual([10, 11, 12, 14, 255, 0]);
    expect(values(runOp('DequantizeLinear', [q, t([0.5], []), Tensor.from([10], [], 'uint8')])[0]!)).toEqual([0, 0.5, 1, 2, 122.5, -5]);
  });
  it('float32 MaxPool fast path (integer keys) equals the generic path, and NaN inputs take the generic path', () => {
    const rng = new Rng(5);
    const x = random(rng, [2, 3, 9, 8]);
    for (const attrs of [{ kernel_shape: [2, 2], strides: [2, 2] }, { kernel_shape: [3, 2], strides: [2, 1] }]) {
      // With the Indices output the generic loop runs; its values are the reference.
      const [fast] = runOp('MaxPool', [x], attrs);
      const [generic] = runOp('MaxPool', [x], attrs, 2);
      expect(fast!.shape).toEqual(generic!.shape);
      expect(values(fast!)).toEqual(values(generic!));
    }
    const withNaN = t([1, NaN, 3, 4, -1, -2, -3, -4], [1, 1, 2, 4]);
    const y = values(runOp('MaxPool', [withNaN], { kernel_shape: [2, 2], strides: [2, 2] })[0]!);
    expect(y).toEqual([1, 4]); // the generic loop's NaN handling (a NaN tap never wins a comparison)
    expect(values(runOp('MaxPool', [t([-5, -0.5, -3, -4], [1, 1, 2, 2])], { kernel_shape: [2, 2] })[0]!)).toEqual([-0.5]);
  });
  it('float32 Softmax (table exp) matches the float64 kernel, gives exact 0 for -inf and keeps NaN', () => {
    const rng = new Rng(9);
    const x = random(rng, [6, 50]);
    const x32 = Tensor.from(values(x).map((v) => v * 20), [6, 50], 'float32');
    const x64 = Tensor.from(values(x32), [6, 50], 'float64'); // the same (float32) inputs
    const y32 = values(runOp('Softmax', [x32])[0]!);
    const y64 = values(runOp('Softmax', [x64])[0]!);
    let worst = 0;
    for (let i = 0; i < y64.length; i++) if (y64[i]! > 1e-30) worst = Math.max(worst, Math.abs(y32[i]! - y64[i]!) / y64[i]!);
    expect(worst).toBeLessThan(5e-7);
    const masked = values(runOp('Softmax', [t([0, -Infinity, Math.log(3)], [3])])[0]!);
    expect(masked[1]).toBe(0);
    expect(Math.abs(masked[0]! - 0.25) + Math.abs(masked[2]! - 0.75)).toBeLessThan(1e-7);
    expect(values(runOp('Softmax', [t([1, NaN], [2])])[0]!).every(Number.isNaN)).toBe(true);
  });
});
