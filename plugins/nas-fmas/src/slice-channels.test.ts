import { PassManager, Rng, Tensor, computeCost, countParameters, interpret, standardOps, type Graph } from '@tessera/core';
import { LayerBuilder, buildDeepLabV3Plus } from '@tessera/models';
import { createExecutor } from '@tessera/runtime';
import { takeAlong } from '@tessera/train';
import { afterAll, describe, expect, it } from 'vitest';
import { batchNormToBatchStats } from './batchnorm.js';
import { deeplabSubnetSpace } from './space.js';
import { SliceChannelsPass, chooseFilters, sliceChannels } from './slice-channels.js';

const executor = createExecutor('ort-node', { threads: 1 });
afterAll(() => executor.dispose());

/** Random weights and BN statistics, so that a wrong slice of any tensor changes the outputs. */
function randomize(g: Graph, seed: number): Graph {
  const rng = new Rng(seed);
  for (const v of g.parameters()) {
    if (v.meta.get('constant')) continue;
    const t = v.initializer!;
    const d = new Float32Array(t.size);
    const isVar = v.name.endsWith('running_var');
    for (let i = 0; i < d.length; i++) d[i] = isVar ? 0.5 + rng.uniform() : 0.3 * rng.normal();
    g.setInitializer(v.name, new Tensor('float32', t.shape, d));
  }
  return g;
}

function images(n: number, size: number, seed: number): Tensor {
  const rng = new Rng(seed);
  return Tensor.from(Array.from({ length: n * 3 * size * size }, () => rng.uniform()), [n, 3, size, size]);
}

const maxAbsDiff = (a: Tensor, b: Tensor) => {
  expect(a.shape).toEqual(b.shape);
  let m = 0;
  for (let i = 0; i < a.size; i++) m = Math.max(m, Math.abs(a.getFlat(i) - b.getFlat(i)));
  return m;
};

/** conv1 3x3 (3 -> 8, no bias) + BN + ReLU + conv2 1x1 (8 -> 4, bias) on 6x6 inputs. */
function tinyNet(): Graph {
  const L = new LayerBuilder('tiny', { seed: 3 });
  const x = L.input('x', 'float32', ['N', 3, 6, 6]);
  const h = L.relu(L.batchNorm(L.conv(x, 'conv1', 3, 8, 3, { bias: false }), 'bn1', 8), 'relu1');
  L.output(L.conv(h, 'conv2', 8, 4, 1, { pad: 0 }), 'logits', 1);
  const g = randomize(L.graph, 5);
  // Filter o of conv1 gets L1 norm proportional to o + 1: top-4 by L1 is [4, 5, 6, 7].
  const w = g.initializers.get('conv1.weight')!.initializer!;
  const d = new Float32Array(w.size);
  for (let i = 0; i < d.length; i++) d[i] = (Math.floor(i / 27) + 1) * (i % 2 ? 0.1 : -0.1) * (1 + (i % 5) * 0.01);
  g.setInitializer('conv1.weight', new Tensor('float32', w.shape, d));
  return g;
}

describe('sliceChannels', () => {
  it('keeps the top-k filters by L1 norm (default) or the first k', () => {
    const w = tinyNet().initializers.get('conv1.weight')!.initializer!;
    expect(chooseFilters(w, 4)).toEqual([4, 5, 6, 7]);
    expect(chooseFilters(w, 4, 'first')).toEqual([0, 1, 2, 3]);
  });

  it('gives a really smaller graph whose parameters and MACs match hand counts', () => {
    const g = tinyNet();
    const { graph: s, kept } = sliceChannels(g, { widths: { conv1: 0.5 } });
    expect(kept.conv1).toEqual([4, 5, 6, 7]);
    // conv1 8·3·3·3 = 216, bn1 4·8 = 32, conv2 4·8 + 4 = 36 -> 284; sliced: 4·27 + 4·4 + 4·4 + 4 = 144.
    expect(countParameters(g).total).toBe(284);
    expect(countParameters(s).total).toBe(144);
    expect(s.initializers.get('bn1.running_var')!.initializer!.shape).toEqual([4]);
    expect(s.initializers.get('conv2.weight')!.initializer!.shape).toEqual([4, 4, 1, 1]);
    const macs = (x: Graph) => Object.fromEntries(computeCost(x, { bindings: { N: 1 } }).nodes.filter((n) => n.macs).map((n) => [n.node, n.macs]));
    // MACs = C_out · C_in · k² · H · W: 8·3·9·36 = 7776 and 4·8·36 = 1152; sliced 4·3·9·36 = 3888 and 4·4·36 = 576.
    expect(macs(g)).toEqual({ conv1: 7776, conv2: 1152 });
    expect(macs(s)).toEqual({ conv1: 3888, conv2: 576 });
    const cost = (x: Graph) => computeCost(x, { bindings: { N: 1 } }).total;
    expect(cost(s).flops).toBeLessThan(cost(g).flops);
  });

  it('computes the supernet restricted to the kept channels (BN statistics and consumer columns sliced alike)', async () => {
    const g = tinyNet();
    const { graph: s } = sliceChannels(g, { widths: { conv1: 0.5 } });
    // Reference: the supernet with conv2's input columns of the dropped channels zeroed.
    const ref = g.clone();
    const w2 = ref.initializers.get('conv2.weight')!.initializer!.clone();
    for (let o = 0; o < 4; o++) for (const c of [0, 1, 2, 3]) w2.setFlat(o * 8 + c, 0);
    ref.setInitializer('conv2.weight', w2);
    const x = images(3, 6, 1);
    const a = interpret(s, { x }).logits!;
    const b = interpret(ref, { x }).logits!;
    expect(maxAbsDiff(a, b)).toBeLessThan(1e-5);
    const viaOrt = (await executor.run(s, { x })).logits!;
    expect(maxAbsDiff(viaOrt, a)).toBeLessThan(1e-5);
  });

  it('slicing the DeepLabV3+ supernet to full width returns the supernet function exactly', async () => {
    const g = randomize(buildDeepLabV3Plus({ imageSize: 16 }, { seed: 2 }), 7);
    const space = deeplabSubnetSpace(g);
    const full = space.toSliceSpec(space.fullGenome);
    expect(full).toEqual({ widths: {}, dropResidual: [], dropBranches: [] });
    const everyConv = Object.fromEntries(g.nodes.filter((n) => n.op === 'Conv' && n.int('group', 1) === 1).map((n) => [n.name, 1]));
    const x = images(2, 16, 3);
    const want = (await executor.run(g, { x })).logits!;
    for (const choice of ['l1', 'first'] as const) {
      const { graph: s } = sliceChannels(g, { widths: everyConv, filterChoice: choice });
      expect(countParameters(s).total).toBe(countParameters(g).total);
      expect(maxAbsDiff((await executor.run(s, { x })).logits!, want)).toBe(0);
    }
  });

  it('removing dead channels of an inverted residual keeps the output; params and MACs shrink', async () => {
    const g = randomize(buildDeepLabV3Plus({ imageSize: 16 }, { seed: 2 }), 9);
    // Stage 2 block 0: hidden width 3 · 24 = 72. Zero half the expand filters (lowest L1) and the
    // project columns that read them: those channels contribute nothing, so slicing them is exact.
    const dead = Array.from({ length: 36 }, (_, i) => 2 * i + 1);
    const ex = g.initializers.get('stages.2.0.expand.weight')!.initializer!.clone();
    const per = ex.size / 72;
    for (const c of dead) for (let j = 0; j < per; j++) ex.setFlat(c * per + j, 0);
    g.setInitializer('stages.2.0.expand.weight', ex);
    const pr = g.initializers.get('stages.2.0.project.weight')!.initializer!.clone();
    for (let o = 0; o < pr.shape[0]!; o++) for (const c of dead) pr.setFlat(o * 72 + c, 0);
    g.setInitializer('stages.2.0.project.weight', pr);
    const { graph: s, kept } = sliceChannels(g, { widths: { 'stages.2.0.expand': 0.5 } });
    expect(kept['stages.2.0.expand']).toEqual(Array.from({ length: 36 }, (_, i) => 2 * i));
    expect(s.initializers.get('stages.2.0.dw.weight')!.initializer!.shape).toEqual([36, 1, 3, 3]);
    expect(s.nodes.find((n) => n.name === 'stages.2.0.dw')!.int('group')).toBe(36);
    const x = images(2, 16, 4);
    expect(maxAbsDiff((await executor.run(s, { x })).logits!, (await executor.run(g, { x })).logits!)).toBeLessThan(1e-4);
    // expand 36·24 + BN 4·36, dw 36·9 + BN 4·36, project 32·36 fewer entries than before.
    const removed = 36 * 24 + 4 * 36 + 36 * 9 + 4 * 36 + 32 * 36;
    expect(countParameters(g).total - countParameters(s).total).toBe(removed);
    expect(computeCost(s, { bindings: { N: 1 } }).total.macs).toBeLessThan(computeCost(g, { bindings: { N: 1 } }).total.macs);
  });

  it('drops residual blocks and ASPP branches, slices every gene of the space, and runs on onnxruntime', async () => {
    const g = randomize(buildDeepLabV3Plus({ imageSize: 16 }, { seed: 2 }), 11);
    const space = deeplabSubnetSpace(g);
    expect(space.genes.map((x) => x.name)).toEqual([
      'stage1.depth', 'stage1.width', 'stage2.depth', 'stage2.width', 'stage3.depth', 'stage3.width',
      'aspp.atrous1', 'aspp.atrous2', 'aspp.atrous3', 'aspp.width', 'decoder.width', 'lowlevel.width',
    ]);
    const smallest = space.genes.map(() => 0);
    const { graph: s } = sliceChannels(g, space.toSliceSpec(smallest));
    expect(s.nodes.some((n) => n.name.startsWith('stages.1.1.'))).toBe(false);
    expect(s.nodes.some((n) => n.name.startsWith('aspp.atrous'))).toBe(false);
    expect(s.nodes.find((n) => n.name === 'aspp.concat')!.inputs).toHaveLength(2);
    // ASPP at width 0.25: 8 of 32 filters per branch; aspp.project reads 2 branches · 8 channels.
    expect(s.initializers.get('aspp.project.weight')!.initializer!.shape).toEqual([8, 16, 1, 1]);
    expect(countParameters(s).total).toBeLessThan(countParameters(g).total / 2);
    const out = (await executor.run(s, { x: images(2, 16, 5) })).logits!;
    expect(out.shape).toEqual([2, 5, 16, 16]);
    // The same slicing as a core pass in a PassManager, and the BN training form of a subnet.
    const pm = new PassManager([new SliceChannelsPass(space.toSliceSpec(smallest))], { registry: standardOps() });
    expect(countParameters(pm.run(g).graph).total).toBe(countParameters(s).total);
    expect(batchNormToBatchStats(s).nodes.some((n) => n.op === 'BatchNormalization')).toBe(false);
  });

  it('refuses what it cannot slice, in one line naming the node', () => {
    const g = buildDeepLabV3Plus({ imageSize: 16 }, { seed: 2 });
    const oneLine = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        const m = (e as Error).message;
        expect(m).not.toContain('\n');
        return m;
      }
      throw new Error('expected an error');
    };
    expect(oneLine(() => sliceChannels(g, { widths: { 'stages.1.1.project': 0.5 } }))).toMatch(/node "stages\.1\.1\.residual" \(Add\): one input is sliced/);
    expect(oneLine(() => sliceChannels(g, { widths: { 'stages.1.0.dw': 0.5 } }))).toMatch(/depthwise conv keeps the channels of its input/);
    expect(oneLine(() => sliceChannels(g, { widths: { classifier: 0.5 } }))).toMatch(/graph output 'logits' would lose channels/);
    expect(oneLine(() => sliceChannels(g, { widths: { nope: 0.5 } }))).toMatch(/widths\['nope'\]: no Conv node named 'nope'; Conv nodes: stem/);
    expect(oneLine(() => sliceChannels(g, { widths: { stem: 1.5 } }))).toMatch(/expected a fraction in \(0, 1\]/);
    expect(oneLine(() => sliceChannels(g, { dropResidual: ['aspp.concat'] }))).toMatch(/no Add node named 'aspp.concat'/);
  });
});

describe('batchNormToBatchStats', () => {
  it('matches the inference form when the running statistics equal the batch statistics', async () => {
    const g = randomize(buildDeepLabV3Plus({ imageSize: 16 }, { seed: 2 }), 13);
    const t = batchNormToBatchStats(g);
    const stats = t.meta.get('batchNormStats') as { layer: string; mean: string; variance: string; runningMean: string; runningVar: string }[];
    expect(stats).toHaveLength(g.nodes.filter((n) => n.op === 'BatchNormalization').length);
    const x = images(4, 16, 6);
    const res = await executor.run(t, { x }, ['logits', ...stats.flatMap((s) => [s.mean, s.variance])]);
    const inf = g.clone();
    for (const s of stats) {
      inf.setInitializer(s.runningMean, res[s.mean]!.reshape([res[s.mean]!.size]));
      inf.setInitializer(s.runningVar, res[s.variance]!.reshape([res[s.variance]!.size]));
    }
    expect(maxAbsDiff((await executor.run(inf, { x })).logits!, res.logits!)).toBeLessThan(1e-3);
    expect(takeAlong(res.logits!, [0], 0).shape).toEqual([1, 5, 16, 16]);
  });
});
