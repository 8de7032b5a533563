import { describe, expect, it } from 'vitest';
import { Tensor } from '../tensor.js';
import { runOp, t, values } from './test-util.js';

describe('reductions', () => {
  const x = t([1, 2, 3, 4, 5, 6], [2, 3]);
  const i64 = (v: number[]) => Tensor.from(v, [v.length], 'int64');

  it('axes as attribute (opset < 18) and as input (ReduceSum 13+)', () => {
    expect(values(runOp('ReduceMean', [x], { axes: [1], keepdims: 0 })[0]!)).toEqual([2, 5]);
    expect(values(runOp('ReduceSum', [x, i64([0])])[0]!)).toEqual([5, 7, 9]);
    expect(runOp('ReduceSum', [x, i64([0])])[0]!.shape).toEqual([1, 3]);
    expect(values(runOp('ReduceSum', [x])[0]!)).toEqual([21]);
    expect(values(runOp('ReduceSum', [x, i64([])], { noop_with_empty_axes: 1 })[0]!)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('every reduction kind', () => {
    const r = (op: string) => values(runOp(op, [x], { axes: [1], keepdims: 0 })[0]!);
    expect(r('ReduceMax')).toEqual([3, 6]);
    expect(r('ReduceMin')).toEqual([1, 4]);
    expect(r('ReduceProd')).toEqual([6, 120]);
    expect(r('ReduceL1')).toEqual([6, 15]);
    expect(r('ReduceSumSquare')).toEqual([14, 77]);
    expect(r('ReduceL2')[0]).toBeCloseTo(Math.sqrt(14), 5);
    expect(r('ReduceLogSum')[0]).toBeCloseTo(Math.log(6), 5);
    expect(r('ReduceLogSumExp')[1]).toBeCloseTo(Math.log(Math.exp(4) + Math.exp(5) + Math.exp(6)), 5);
  });

  it('ArgMax / ArgMin with select_last_index, TopK, CumSum', () => {
    const d = t([1, 3, 3, 0], [4]);
    expect(values(runOp('ArgMax', [d], { keepdims: 0 })[0]!)).toEqual([1]);
    expect(values(runOp('ArgMax', [d], { keepdims: 0, select_last_index: 1 })[0]!)).toEqual([2]);
    expect(values(runOp('ArgMin', [x], { axis: 1 })[0]!)).toEqual([0, 0]);
    const [v, i] = runOp('TopK', [t([5, 1, 4, 2], [4]), i64([2])], {}, 2);
    expect(values(v!)).toEqual([5, 4]);
    expect(values(i!)).toEqual([0, 2]);
    expect(values(runOp('CumSum', [x, Tensor.scalar(1, 'int32')], {})[0]!)).toEqual([1, 3, 6, 4, 9, 15]);
    expect(values(runOp('CumSum', [x, Tensor.scalar(1, 'int32')], { exclusive: 1, reverse: 1 })[0]!)).toEqual([5, 3, 0, 11, 6, 0]);
  });
});
