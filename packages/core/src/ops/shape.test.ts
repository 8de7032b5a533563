import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../builder.js';
import '../builder-ops.js';
import { Tensor } from '../tensor.js';
import { runOp, t, values } from './test-util.js';

const i64 = (v: number[], shape = [v.length]) => Tensor.from(v, shape, 'int64');

describe('shape and data-movement ops', () => {
  const x = t([0, 1, 2, 3, 4, 5], [2, 3]);

  it('Reshape with 0 and -1, Flatten, Squeeze / Unsqueeze by input and by attribute', () => {
    expect(runOp('Reshape', [x, i64([0, -1, 1])])[0]!.shape).toEqual([2, 3, 1]);
    expect(runOp('Flatten', [t(new Array(24).fill(0), [2, 3, 4])], { axis: 2 })[0]!.shape).toEqual([6, 4]);
    expect(runOp('Unsqueeze', [x, i64([0, 3])])[0]!.shape).toEqual([1, 2, 3, 1]);
    expect(runOp('Unsqueeze', [x], { axes: [-1] })[0]!.shape).toEqual([2, 3, 1]);
    expect(runOp('Squeeze', [t([1, 2], [1, 2, 1])])[0]!.shape).toEqual([2]);
    expect(() => runOp('Squeeze', [x, i64([0])])).toThrow(/cannot squeeze axis 0 of size 2/);
  });

  it('Transpose, Concat, Split (input and attribute forms)', () => {
    expect(values(runOp('Transpose', [x])[0]!)).toEqual([0, 3, 1, 4, 2, 5]);
    expect(values(runOp('Concat', [x, t([6, 7], [2, 1])], { axis: 1 })[0]!)).toEqual([0, 1, 2, 6, 3, 4, 5, 7]);
    const [a, b] = runOp('Split', [x, i64([1, 2])], { axis: 1 }, 2);
    expect(values(a!)).toEqual([0, 3]);
    expect(values(b!)).toEqual([1, 2, 4, 5]);
    const parts = runOp('Split', [x], { axis: 1, split: [2, 1] }, 2);
    expect(parts.map((p) => p.shape)).toEqual([[2, 2], [2, 1]]);
  });

  it('Slice clamps, steps backwards and takes axes', () => {
    const y = runOp('Slice', [x, i64([-1]), i64([-1000]), i64([1]), i64([-1])])[0]!;
    expect(values(y)).toEqual([2, 1, 0, 5, 4, 3]);
    expect(values(runOp('Slice', [x, i64([1, 1]), i64([2, 1000])])[0]!)).toEqual([4, 5]);
  });

  it('Gather, GatherElements, GatherND, ScatterElements, ScatterND', () => {
    expect(values(runOp('Gather', [x, i64([2, -3])], { axis: 1 })[0]!)).toEqual([2, 0, 5, 3]);
    expect(values(runOp('GatherElements', [x, i64([2, 0, 1, 1], [2, 2])], { axis: 1 })[0]!)).toEqual([2, 0, 4, 4]);
    expect(values(runOp('GatherND', [x, i64([1, 2, 0, 0], [2, 2])])[0]!)).toEqual([5, 0]);
    const s = runOp('ScatterElements', [x, i64([0, 0], [1, 2]), t([9, 9], [1, 2])], { axis: 1, reduction: 'add' })[0]!;
    expect(values(s)).toEqual([18, 1, 2, 3, 4, 5]);
    expect(values(runOp('ScatterND', [x, i64([1], [1, 1]), t([7, 8, 9], [1, 3])])[0]!)).toEqual([0, 1, 2, 7, 8, 9]);
    expect(() => runOp('Gather', [x, i64([3])], { axis: 1 })).toThrow(/index 3 is out of range for a dimension of size 3/);
  });

  it('Expand, Tile, Pad modes', () => {
    expect(runOp('Expand', [t([1, 2], [2, 1]), i64([2, 1, 3])])[0]!.shape).toEqual([2, 2, 3]);
    expect(values(runOp('Tile', [t([1, 2], [2]), i64([3])])[0]!)).toEqual([1, 2, 1, 2, 1, 2]);
    const v = t([1, 2, 3], [3]);
    expect(values(runOp('Pad', [v, i64([2, 1]), t([9], [])])[0]!)).toEqual([9, 9, 1, 2, 3, 9]);
    expect(values(runOp('Pad', [v, i64([2, 2])], { mode: 'reflect' })[0]!)).toEqual([3, 2, 1, 2, 3, 2, 1]);
    expect(values(runOp('Pad', [v, i64([2, 2])], { mode: 'edge' })[0]!)).toEqual([1, 1, 1, 2, 3, 3, 3]);
  });

  it('Shape, Size, ConstantOfShape, Range, Trilu, OneHot, NonZero', () => {
    expect(values(runOp('Shape', [x])[0]!)).toEqual([2, 3]);
    expect(values(runOp('Shape', [x], { start: -1 })[0]!)).toEqual([3]);
    expect(values(runOp('Size', [x])[0]!)).toEqual([6]);
    expect(runOp('ConstantOfShape', [i64([2, 2])], { value: Tensor.from([7], [1], 'int32') })[0]!.dtype).toBe('int32');
    expect(values(runOp('Range', [t([1], []), t([2], []), t([0.25], [])])[0]!)).toEqual([1, 1.25, 1.5, 1.75]);
    expect(values(runOp('Trilu', [t([1, 2, 3, 4], [2, 2])], { upper: 0 })[0]!)).toEqual([1, 0, 3, 4]);
    expect(values(runOp('OneHot', [i64([0, 2, -1]), t([3], []), t([0, 1], [2])])[0]!)).toEqual([1, 0, 0, 0, 0, 1, 0, 0, 1]);
    expect(values(runOp('NonZero', [t([0, 1, 1, 0], [2, 2])])[0]!)).toEqual([0, 1, 1, 0]);
  });

  it('Resize nearest and linear (half_pixel, align_corners)', () => {
    const img = t([1, 2, 3, 4], [1, 1, 2, 2]);
    const n = runOp('Resize', [img, null, t([1, 1, 2, 2], [4])], { mode: 'nearest' })[0]!;
    expect(values(n)).toEqual([1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
    const l = runOp('Resize', [img, null, null, i64([1, 1, 3, 3])], { mode: 'linear', coordinate_transformation_mode: 'align_corners' })[0]!;
    expect(values(l)).toEqual([1, 1.5, 2, 2, 2.5, 3, 3, 3.5, 4]);
  });

  it('DepthToSpace and SpaceToDepth are inverses', () => {
    const v = t(Array.from({ length: 16 }, (_, i) => i), [1, 4, 2, 2]);
    const d = runOp('DepthToSpace', [v], { blocksize: 2 })[0]!;
    expect(d.shape).toEqual([1, 1, 4, 4]);
    expect(values(runOp('SpaceToDepth', [d], { blocksize: 2 })[0]!)).toEqual(values(v));
  });

  it('inference uses constant inputs and reports bad reshapes', () => {
    const b = new GraphBuilder();
    const inp = b.input('x', 'float32', ['N', 3, 4]);
    expect(b.reshape(inp, [0, -1]).type?.shape).toEqual(['N', null]);
    expect(b.slice(inp, [1], [3], [2]).type?.shape).toEqual(['N', 3, 2]);
    const fixed = b.input('y', 'float32', [2, 3]);
    expect(() => b.reshape(fixed, [4, 2])).toThrow(/cannot reshape \[2, 3\] \(6 elements\) to \[4, 2\]/);
  });
  it('Pad keeps a symbolic dim whose pads are 0 (regression: every symbolic dim became null)', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', ['N', 3, 'L']);
    expect(b.op('Pad', [x, b.ints([0, 1, 0, 0, 2, 1])]).type?.shape).toEqual(['N', 6, null]);
    expect(b.op('Pad', [x, b.ints([1, 1]), null, b.ints([1])]).type?.shape).toEqual(['N', 5, 'L']);
  });

  it('Resize with constant scales computes dims and keeps unscaled symbolic dims (regression: all null)', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', ['N', 5, 4, 'W']);
    const scales = b.constant(Tensor.from([1, 1, 4, 1], [4], 'float32'), 'float32', 'scales');
    expect(b.op('Resize', [x, null, scales], { mode: 'linear' }).type?.shape).toEqual(['N', 5, 16, 'W']);
    const scaledW = b.constant(Tensor.from([1, 1, 2, 2], [4], 'float32'), 'float32', 'scales2');
    expect(b.op('Resize', [x, null, scaledW]).type?.shape).toEqual(['N', 5, 8, null]);
    const sizes = b.ints([1, 5, 8, 8]);
    expect(b.op('Resize', [x, null, null, sizes]).type?.shape).toEqual([1, 5, 8, 8]);
  });

  it('Flatten keeps a symbolic batch dim (regression: [N, C, H, W] axis 1 gave [null, C*H*W])', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', ['N', 4, 3, 3]);
    expect(b.flatten(x, 1).type?.shape).toEqual(['N', 36]);
    expect(b.flatten(x, 2).type?.shape).toEqual([null, 9]);
    expect(b.flatten(x, 0).type?.shape).toEqual([1, null]);
    expect(b.flatten(b.input('z', 'float32', ['N', 0, 'M']), 2).type?.shape).toEqual([0, 'M']);
  });
});
