import { Graph, GraphBuilder, Rng, Tensor, interpret, type Value } from '@tessera/core';
import { describe, expect, it } from 'vitest';
import { accuracy, nll } from './metrics.js';
import { sgd } from './optimizers.js';
import { takeAlong } from './tensor-util.js';
import { Trainer } from './trainer.js';

// Small seeded problems for the per-step API: 4 classes of Gaussian blobs in 12 dimensions.

const D = 12;
const C = 4;
const B = 16;

function blobs(n: number, seed: number): { x: Tensor; y: Tensor } {
  const rng = new Rng(seed);
  const x = new Float32Array(n * D);
  const y = new BigInt64Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % C;
    y[i] = BigInt(c);
    for (let j = 0; j < D; j++) x[i * D + j] = rng.normal() * 0.5 + (j % C === c ? 1.5 : 0);
  }
  return { x: new Tensor('float32', [n, D], x), y: new Tensor('int64', [n], y) };
}

function param(rng: Rng, name: string, shape: number[], b: GraphBuilder) {
  const n = shape.reduce((a, c) => a * c, 1);
  return b.param(name, Tensor.from(Array.from({ length: n }, () => rng.normal() * 0.3), shape));
}

/**
 * Two heads on one hidden layer: 'logits' (first output, trained by the built-in loss) and 'aux'
 * (a second classifier head, not in the loss). 'hidden' is an intermediate value.
 */
function twoHeads(): Graph {
  const rng = new Rng(5);
  const b = new GraphBuilder(new Graph('two-heads'));
  const x = b.input('x', 'float32', ['N', D]);
  const h = b.op('Relu', [b.op('Add', [b.op('MatMul', [x, param(rng, 'fc1.weight', [D, 8], b)]), param(rng, 'fc1.bias', [8], b)])]);
  b.graph.renameValue(h, 'hidden');
  b.output(b.op('MatMul', [h, param(rng, 'head.weight', [8, C], b)]), 'logits');
  b.output(b.op('MatMul', [h, param(rng, 'aux.weight', [8, C], b)]), 'aux');
  return b.graph;
}

describe('per-step outputs: afterForward gets every forward output; `fetch` adds named values', () => {
  it('passes both heads by name and the fetched hidden activations, equal to the forward at the pre-step weights', async () => {
    const data = blobs(64, 1);
    const seen: { outputs: Record<string, Tensor>; fetched: Record<string, Tensor> }[] = [];
    const t = await Trainer.create({
      forward: twoHeads(), batchSize: B, optimizer: sgd({ lr: 0.1 }), seed: 2, fetch: ['hidden'],
      hooks: { afterForward: (_c, out) => { expect(out.logits).toBe(out.outputs.logits); seen.push(out); } },
    });
    const batch = [...t.batches(data, 0)][0]!;
    const before = t.currentGraph();
    const r = await t.step(batch);
    expect(Object.keys(seen[0]!.outputs)).toEqual(['logits', 'aux']);
    expect(Object.keys(r.fetched!)).toEqual(['hidden']);
    expect(r.fetched!.hidden).toBe(seen[0]!.fetched.hidden);
    expect(r.fetched!.hidden!.shape).toEqual([B, 8]);
    // The same values as the forward graph at the weights before the update.
    before.addOutput(before.value('hidden')!);
    const ref = interpret(before, { x: batch.x });
    for (const name of ['logits', 'aux', 'hidden']) {
      const got = name === 'hidden' ? r.fetched!.hidden! : seen[0]!.outputs[name]!;
      let worst = 0;
      for (let i = 0; i < got.size; i++) worst = Math.max(worst, Math.abs(got.getFlat(i) - ref[name]!.getFlat(i)));
      expect(worst, name).toBeLessThan(1e-5);
    }
    await t.executor.dispose();
  });

  it('steps without `fetch` return no fetched values; an unknown name is one line naming it', async () => {
    const data = blobs(32, 1);
    const t = await Trainer.create({ forward: twoHeads(), batchSize: B, optimizer: sgd({ lr: 0.1 }) });
    expect((await t.step([...t.batches(data, 0)][0]!)).fetched).toBeUndefined();
    await expect(Trainer.create({ forward: twoHeads(), batchSize: B, optimizer: sgd({ lr: 0.1 }), fetch: ['nope'] }))
      .rejects.toThrow(/^trainer: option 'fetch' names 'nope', which is not a computed or fed value of training graph "two-heads" \(forward outputs: logits, aux\)$/);
    await t.executor.dispose();
  });
});

describe('evaluate({ output }) scores a named forward output', () => {
  it("scores the 'aux' head: its scores and metrics match the forward graph's 'aux' at the current weights", async () => {
    const data = blobs(128, 1);
    const test = blobs(40, 9); // not a multiple of the batch: the last batch is padded
    // Train both heads: the loss is the sum of the two cross-entropies.
    const t = await Trainer.create({
      forward: twoHeads(), batchSize: B, optimizer: sgd({ lr: 0.2 }), seed: 2,
      loss: (b, [logits, aux]) => {
        const labels = b.input('labels', 'int64', [B]);
        const ce = (z: Value) => b.op('SoftmaxCrossEntropyLoss', [z, labels], { reduction: 'mean' });
        return { loss: b.op('Add', [ce(logits!), ce(aux!)]), inputs: [labels] };
      },
    });
    await t.fit(data, { epochs: 3, progress: false });
    const main = await t.evaluate(test);
    const aux = await t.evaluate(test, { output: 'aux' });
    const ref = interpret(t.currentGraph(), { x: test.x });
    expect(aux.logits.shape).toEqual([40, C]);
    let worst = 0;
    for (let i = 0; i < aux.logits.size; i++) worst = Math.max(worst, Math.abs(aux.logits.getFlat(i) - ref.aux!.getFlat(i)));
    expect(worst).toBeLessThan(1e-5);
    expect(aux.accuracy).toBe(accuracy(ref.aux!, test.y));
    expect(aux.nll).toBeCloseTo(nll(ref.aux!, test.y), 5);
    expect(main.accuracy).toBe(accuracy(ref.logits!, test.y));
    expect(aux.logits.getFlat(0)).not.toBe(main.logits.getFlat(0));
    expect(aux.accuracy).toBeGreaterThan(0.8); // the head was trained
    await expect(t.evaluate(test, { output: 'hidden' }))
      .rejects.toThrow(/^evaluate: option 'output' is 'hidden', not a forward output of graph "two-heads" \(outputs: logits, aux\)$/);
    await t.executor.dispose();
  });
});

describe('parameters outside the loss', () => {
  it("the unused 'aux' head goes back to a constant: SAM steps and evaluate({ output: 'aux' }) run and it stays bit-identical", async () => {
    const data = blobs(64, 1);
    const t = await Trainer.create({ forward: twoHeads(), batchSize: B, optimizer: sgd({ lr: 0.1 }), seed: 2, sam: { rho: 0.05 } });
    expect(t.trainingGraph.frozen).toEqual(['aux.weight']);
    expect(t.trainingGraph.graph.inputs.map((v) => v.name)).not.toContain('aux.weight__eps');
    const before = t.parameters().get('aux.weight')!;
    await t.fit(data, { epochs: 1, maxSteps: 2, progress: false });
    expect(Array.from(t.parameters().get('aux.weight')!.data as Float32Array)).toEqual(Array.from(before.data as Float32Array));
    const ev = await t.evaluate(data, { output: 'aux' });
    expect(accuracy(interpret(t.currentGraph(), { x: data.x }).aux!, data.y)).toBe(ev.accuracy);
    await t.executor.dispose();
  });
});

describe('trainer.gradientEvaluations', () => {
  it('counts one forward+backward run per step, two per SAM step, one per gradientAt; evaluation adds none', async () => {
    const data = blobs(64, 1);
    const plain = await Trainer.create({ forward: twoHeads(), batchSize: B, optimizer: sgd({ lr: 0.1 }), seed: 2 });
    const sam = await Trainer.create({ forward: twoHeads(), batchSize: B, optimizer: sgd({ lr: 0.1 }), seed: 2, sam: { rho: 0.05 } });
    expect([plain.gradientEvaluations, sam.gradientEvaluations]).toEqual([0, 0]);
    await plain.fit(data, { epochs: 1, maxSteps: 3, progress: false });
    await sam.fit(data, { epochs: 1, maxSteps: 3, progress: false });
    expect(plain.gradientEvaluations).toBe(3);
    expect(sam.gradientEvaluations).toBe(2 * plain.gradientEvaluations);
    await plain.evaluate(data);
    expect(plain.gradientEvaluations).toBe(3);
    await plain.gradientAt([...plain.batches(data, 0)][0]!);
    expect(plain.gradientEvaluations).toBe(4);
    await plain.executor.dispose();
    await sam.executor.dispose();
  });
});

/** logits = ((x · w_ex) · W) · gate: 'w_ex' [N, 1] is a per-example input, 'gate' [1] a per-step one. */
function gated(): Graph {
  const rng = new Rng(7);
  const b = new GraphBuilder(new Graph('gated'));
  const x = b.input('x', 'float32', ['N', D]);
  const wex = b.input('w_ex', 'float32', ['N', 1]);
  const gate = b.input('gate', 'float32', [1]);
  b.output(b.op('Mul', [b.op('MatMul', [b.op('Mul', [x, wex]), param(rng, 'fc.weight', [D, C], b)]), gate]), 'logits');
  return b.graph;
}

describe('further graph inputs: per-example data.feeds and per-step opts.feeds in fit and evaluate', () => {
  it('fit slices data.feeds with each batch and calls opts.feeds(step); the same steps by hand are bit-identical', async () => {
    const data = blobs(64, 1);
    const wex = Tensor.from(Array.from({ length: 64 }, (_, i) => 0.5 + (i % 7) / 7), [64, 1]);
    const gateAt = (step: number) => ({ gate: Tensor.from([step === 1 ? 0 : 1], [1]) }); // step 1 learns nothing
    const opts = { forward: gated(), batchSize: B, optimizer: sgd({ lr: 0.1 }), seed: 4 };
    const a = await Trainer.create(opts);
    const asked: number[] = [];
    const snapshots: Float64Array[] = [a.flatTrainable()];
    const steps = await a.fit({ ...data, feeds: { w_ex: wex } }, {
      epochs: 1, maxSteps: 3, progress: false,
      feeds: (step) => { asked.push(step); return gateAt(step); },
    });
    expect(steps).toHaveLength(3);
    expect(asked).toEqual([0, 1, 2]);
    // By hand: the same batches with their rows of w_ex and the step's gate.
    const byHand = await Trainer.create(opts);
    const batches = [...byHand.batches(data, 0)].slice(0, 3);
    for (const [i, batch] of batches.entries()) {
      await byHand.step({ ...batch, feeds: { w_ex: takeAlong(wex, Array.from(batch.ids), 0), ...gateAt(i) } });
      snapshots.push(byHand.flatTrainable());
    }
    expect(Array.from(a.flatTrainable())).toEqual(Array.from(snapshots[3]!));
    expect(Array.from(snapshots[2]!)).toEqual(Array.from(snapshots[1]!)); // gate 0: zero gradient at step 1
    expect(Array.from(snapshots[1]!)).not.toEqual(Array.from(snapshots[0]!));
    // data.feeds must be per example.
    await expect(a.fit({ ...data, feeds: { w_ex: Tensor.from([1], [1, 1]) } }, { epochs: 2, progress: false, feeds: gateAt(0) }))
      .rejects.toThrow(/^fit: data.feeds 'w_ex' has shape \[1, 1\], not one row per example \(64\); pass values that are the same for every example in opts.feeds$/);
    await a.executor.dispose();
    await byHand.executor.dispose();
  });

  it('evaluate feeds data.feeds per example (padded last batch) and opts.feeds to every batch; a missing input is one line', async () => {
    const test = blobs(40, 9);
    const wex = Tensor.from(Array.from({ length: 40 }, (_, i) => 1 + (i % 3)), [40, 1]);
    const t = await Trainer.create({ forward: gated(), batchSize: B, optimizer: sgd({ lr: 0.1 }), seed: 4 });
    const gate = Tensor.from([2], [1]);
    const ev = await t.evaluate({ ...test, feeds: { w_ex: wex } }, { feeds: { gate } });
    const ref = interpret(t.currentGraph(), { x: test.x, w_ex: wex, gate }).logits!;
    expect(ev.logits.shape).toEqual([40, C]);
    let worst = 0;
    for (let i = 0; i < ref.size; i++) worst = Math.max(worst, Math.abs(ev.logits.getFlat(i) - ref.getFlat(i)));
    expect(worst).toBeLessThan(1e-5);
    expect(ev.accuracy).toBe(accuracy(ref, test.y));
    await expect(t.evaluate({ ...test, feeds: { w_ex: wex } }))
      .rejects.toThrow(/^evaluate: graph inputs 'gate' are not fed: pass them in data.feeds \(per example\) or opts.feeds \(per batch\)$/);
    await t.executor.dispose();
  });
});

/** twoHeads with Dropout(ratio) on the hidden layer (ratio 0: no dropout). */
function dropped(ratio: number): Graph {
  const g = twoHeads();
  const b = new GraphBuilder(g);
  const h = g.value('hidden')!;
  const uses = [...h.uses];
  b.insertionPoint = uses[0]!.node;
  const d = b.op('Dropout', [h, b.constant(ratio)], {}, { name: 'drop' });
  b.insertionPoint = undefined;
  for (const u of uses) u.node.setInput(u.index, d);
  return g;
}

describe('dropout keep-masks are fed as bool', () => {
  it('feeds a bool mask (1 byte an element): saved activations grow by the mask plus the dropout output, and outputs are Where(mask, x/(1−p), 0)', async () => {
    const ratio = 0.25;
    const opts = { batchSize: B, optimizer: sgd({ lr: 0.1 }), seed: 3 };
    const none = await Trainer.create({ ...opts, forward: dropped(0) });
    const seen: Record<string, Tensor>[] = [];
    const t = await Trainer.create({
      ...opts, forward: dropped(ratio), fetch: ['hidden', 'drop__mask'],
      hooks: { afterForward: (_c, out) => seen.push({ ...out.outputs, ...out.fetched }) },
    });
    const [m] = t.trainingGraph.dropoutMasks;
    expect(m).toEqual({ input: 'drop__mask', shape: [B, 8], ratio });
    expect(t.trainingGraph.graph.value('drop__mask')!.dtype).toBe('bool');
    // Saved for backward: the mask (B·8 bytes, was B·8·4 as float32) and the dropout output read by
    // the heads' weight gradients (B·8 float32); without dropout the heads read the saved ReLU output.
    expect(t.accounting.savedActivationBytes - none.accounting.savedActivationBytes).toBe(B * 8 * (1 + 4));
    const data = blobs(64, 1);
    const w = t.parameters().get('head.weight')!; // before the update
    await t.step([...t.batches(data, 0)][0]!);
    const { hidden, drop__mask: mask, logits } = seen[0]!;
    expect(mask!.dtype).toBe('bool');
    const kept = Array.from(mask!.data as Uint8Array).filter((v) => v === 1).length;
    expect(kept / mask!.size).toBeGreaterThan(0.6);
    expect(kept / mask!.size).toBeLessThan(0.9);
    // logits = (hidden · mask / (1 − p)) · head.weight at the pre-step weights.
    let worst = 0;
    for (let i = 0; i < B; i++) {
      for (let c = 0; c < C; c++) {
        let z = 0;
        for (let k = 0; k < 8; k++) z += (mask!.getFlat(i * 8 + k) ? hidden!.getFlat(i * 8 + k) / (1 - ratio) : 0) * w.getFlat(k * C + c);
        worst = Math.max(worst, Math.abs(z - logits!.getFlat(i * C + c)));
      }
    }
    expect(worst).toBeLessThan(1e-5);
    await t.executor.dispose();
    await none.executor.dispose();
  });

  it('ort-web takes the bool masks too: 3 steps with dropout agree with ort-node within 1e-5', async () => {
    const data = blobs(64, 1);
    const run = async (backend: 'ort-node' | 'ort-web') => {
      const t = await Trainer.create({ forward: dropped(0.25), batchSize: B, optimizer: sgd({ lr: 0.1 }), seed: 3, backend });
      const losses = (await t.fit(data, { epochs: 1, maxSteps: 3, progress: false })).map((r) => r.loss);
      const p = t.flatTrainable();
      await t.executor.dispose();
      return { losses, p };
    };
    const node = await run('ort-node');
    const web = await run('ort-web');
    node.losses.forEach((l, i) => expect(Math.abs(l - web.losses[i]!)).toBeLessThan(1e-5));
    let worst = 0;
    for (let i = 0; i < node.p.length; i++) worst = Math.max(worst, Math.abs(node.p[i]! - web.p[i]!));
    expect(worst).toBeLessThan(1e-5);
  });
});
