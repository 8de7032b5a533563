import { Graph, interpret, Rng, Tensor } from '@tessera/core';
import { grammarCorpus, languageModelDataset, Tokenizer } from '@tessera/data';
import { buildGpt } from '@tessera/models';
import { adamw, Trainer } from '@tessera/train';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  adapterTrainingForward, buildExternalMemory, ExternalMemory, guSchedule, headLogProbs, initAdapter, ModelOwner, pemaGenerate, pemaLogProbs, trainPema,
  type MemoryExample, type OutputHead, type PemaTrainConfig,
} from './index.js';

const T = 16;
const cfg: PemaTrainConfig = {
  rank: 8, alpha: 1, inputDropout: 0.2, kappa: 0.2, lr: 3e-3, batchRct: 256, batchJoint: 128, maxEpochs: 12, evalEvery: 10,
  reuseEncoderFromPhase1: false, skipPhase1: false, seed: 0,
};

interface Fixture {
  plm: Graph;
  owner: ModelOwner;
  head: OutputHead;
  train: ExternalMemory;
  dev: ExternalMemory;
  test: ExternalMemory;
  testSub: Uint8Array;
  examples: MemoryExample[];
}
let fx: Fixture;

function windows(ids: Int32Array): MemoryExample[] {
  const out: MemoryExample[] = [];
  for (let s = 0; s + T + 1 <= ids.length; s += T) out.push({ prompt: ids.subarray(s, s + 1), target: ids.subarray(s + 1, s + T + 1) });
  return out;
}

/** Accuracy of argmax log-probs at the flagged rows. */
function accuracyAt(lp: Float32Array, V: number, values: Int32Array, flag: Uint8Array): number {
  let hit = 0, n = 0;
  for (let i = 0; i < values.length; i++) {
    if (!flag[i]) continue;
    let best = 0;
    for (let v = 1; v < V; v++) if (lp[i * V + v]! > lp[i * V + best]!) best = v;
    n++;
    if (best === values[i]) hit++;
  }
  return hit / n;
}

beforeAll(async () => {
  // A real, small PLM: a 2-block GPT pretrained on grammar text (word tokens).
  const corpus = grammarCorpus({ seed: 1, trainChars: 40_000, searchChars: 24_000, testChars: 8_000 });
  const tok = Tokenizer.words(`${corpus.train} ${corpus.search} ${corpus.test}`);
  const plm0 = buildGpt({ vocab: tok.size, context: T, dim: 32, depth: 2, heads: 2, mlpDim: 64, exposeBlockOutput: true }, { seed: 1 });
  const trainer = await Trainer.create({
    forward: plm0, optimizer: adamw({ lr: 5e-3 }), batchSize: 32, seed: 1,
    params: plm0.parameters().map((v) => v.name).filter((n) => n !== 'causal_mask'),
  });
  await trainer.fit(languageModelDataset(tok.encode(corpus.train), { context: T, stride: T / 2, vocab: tok.vocab, source: corpus.source }), { epochs: 2, progress: false });
  const plm = trainer.currentGraph();
  await trainer.executor.dispose();
  // The data owner's domain: 'the' -> 'mice', 'a' -> 'bridges', ... (frequent -> rare words).
  const counts = new Map<number, number>();
  for (const t of tok.encode(corpus.train)) counts.set(t, (counts.get(t) ?? 0) + 1);
  const words = [...counts.keys()].filter((t) => /^[a-z]+$/.test(tok.vocab[t]!)).sort((a, b) => counts.get(b)! - counts.get(a)! || a - b);
  const map = new Map(words.slice(0, 8).map((s, k) => [s, words[words.length - 1 - k]!]));
  const shift = (ids: Int32Array) => ({ ids: ids.map((t) => map.get(t) ?? t), sub: Uint8Array.from(ids, (t) => (map.has(t) ? 1 : 0)) });
  const owner = await ModelOwner.create(plm);
  const mem = windows(shift(tok.encode(corpus.search)).ids);
  const test = shift(tok.encode(corpus.test));
  const testWin = windows(test.ids);
  const testSub = new Uint8Array(testWin.length * T);
  testWin.forEach((_, w) => { for (let k = 0; k < T; k++) testSub[w * T + k] = test.sub[w * T + 1 + k]!; });
  fx = {
    plm, owner, head: owner.outputHead(), examples: mem,
    train: await buildExternalMemory(owner, mem.slice(0, -20), { mode: 'teacherForced' }),
    dev: await buildExternalMemory(owner, mem.slice(-20), { mode: 'teacherForced' }),
    test: await buildExternalMemory(owner, testWin, { mode: 'teacherForced' }),
    testSub,
  };
}, 60_000);

describe('the offsite split', () => {
  it('memory keys are the PLM\'s pre-final-norm representations: recomputed through the service to 1e-5, and head(keys) = the PLM\'s own logits', async () => {
    const { owner, train, head, plm } = fx;
    const rng = new Rng(5);
    const window = 7;
    const [again] = await owner.contextRepresentations([{ mode: 'teacherForced', ...fx.examples[window]! }]);
    for (let k = 0; k < 10; k++) {
      const step = rng.int(T);
      for (let j = 0; j < head.d; j++) expect(Math.abs(again!.reps[step * head.d + j]! - train.keys[(window * T + step) * head.d + j]!)).toBeLessThan(1e-5);
    }
    // The PLM's own logits at the same positions, on the reference interpreter.
    const ex = fx.examples[window]!;
    const ids = [...Array.from(ex.prompt), ...Array.from(ex.target).slice(0, -1)];
    const logits = interpret(plm, { x: Tensor.from(ids, [1, T], 'int64') }).logits!;
    const fromHead = headLogProbs(head, again!.reps, T);
    const V = head.vocab;
    for (const t of [0, 5, T - 1]) {
      let max = -Infinity;
      for (let v = 0; v < V; v++) max = Math.max(max, logits.getFlat(t * V + v));
      let s = 0;
      for (let v = 0; v < V; v++) s += Math.exp(logits.getFlat(t * V + v) - max);
      for (let v = 0; v < V; v += 7) expect(fromHead[t * V + v]!).toBeCloseTo(logits.getFlat(t * V + v) - max - Math.log(s), 3);
    }
  });

  it('generated mode sends only prompts: keys are the PLM\'s greedy-decoding representations, values the owner\'s own targets', async () => {
    const ex = fx.examples.slice(0, 2).map((e) => ({ prompt: Array.from(e.target).slice(0, 4), target: Int32Array.from(e.target).subarray(4, 10) }));
    const m = await buildExternalMemory(fx.owner, ex, { mode: 'generated' });
    expect(m.n).toBe(12);
    expect(Array.from(m.values.subarray(0, 6))).toEqual(Array.from(ex[0]!.target));
    const [rep] = await fx.owner.contextRepresentations([{ mode: 'generated', prompt: ex[1]!.prompt, maxSteps: 6 }]);
    expect(Array.from(m.keys.subarray(6 * fx.head.d))).toEqual(Array.from(rep!.reps));
  });

  it('adapter training reads only the memory and the output head: no transformer initializer in its graph, the PLM never runs, wrong inputs fail in one line', async () => {
    const { owner, train, dev, head, plm } = fx;
    const before = owner.runs;
    const res = await trainPema(train, dev, head, { ...cfg, maxEpochs: 2 });
    expect(owner.runs).toBe(before);
    // Phase 2's training graph: adapter tensors (B_rct frozen as a constant) and the head; nothing else.
    expect(res.trainingInitializers.filter((n) => /^(blocks\.|tok_embedding|pos_embedding|causal_mask)/.test(n))).toEqual([]);
    expect(res.trainingInitializers).toContain('pema.B_rct');
    expect(res.trainingInitializers).not.toContain('pema.B_pd');
    const g = adapterTrainingForward(head, res.adapter, 2, { inputDropout: 0.2, withReconstruction: true });
    const body = plm.parameters().filter((v) => v.name !== 'norm.weight' && v.name !== 'norm.bias' && v.name !== 'lm_head.weight');
    for (const v of g.initializers.values()) {
      const data = v.initializer!.data as Float32Array;
      for (const p of body) {
        if (p.initializer!.size !== data.length || data.length < 2) continue;
        expect(Buffer.from(data.buffer, data.byteOffset, data.byteLength).equals(Buffer.from((p.initializer!.data as Float32Array).buffer))).toBe(false);
      }
    }
    // @ts-expect-error the data owner's trainer accepts an ExternalMemory, never the model
    await expect(trainPema(plm, dev, head, cfg)).rejects.toThrow(/^trainPema: train must be an ExternalMemory/);
    // @ts-expect-error nor the model in place of the output head
    await expect(trainPema(train, dev, plm, cfg)).rejects.toThrow(/^trainPema: head must be the OutputHead/);
    expect(() => ExternalMemory.fromArrays(4, new Float32Array(7), new Int32Array(2))).toThrow('ExternalMemory: keys hold 7 floats, expected n·d = 2·4');
  }, 30_000);
});

describe('PEMA on a lexical-substitution shift', () => {
  it('learns the substitutions from the memory (held-out test), while an adapter trained on a memory whose targets were shuffled does not', async () => {
    const { train, dev, test, head, testSub } = fx;
    const V = head.vocab;
    const plmAcc = accuracyAt(headLogProbs(head, test.keys, test.n), V, test.values, testSub);
    const res = await trainPema(train, dev, head, cfg);
    const acc = accuracyAt(pemaLogProbs(res.adapter, head, test.keys, test.n), V, test.values, testSub);
    const perm = new Rng(3).permutation(train.n);
    const shuffled = ExternalMemory.fromArrays(train.d, train.keys, Int32Array.from(perm, (i) => train.values[i]!));
    const bad = await trainPema(shuffled, dev, head, cfg);
    const badAcc = accuracyAt(pemaLogProbs(bad.adapter, head, test.keys, test.n), V, test.values, testSub);
    expect(plmAcc).toBeLessThan(0.05);
    console.log(`substituted-position accuracy: PLM ${plmAcc.toFixed(3)}, PEMA ${acc.toFixed(3)}, PEMA on shuffled targets ${badAcc.toFixed(3)}`);
    expect(acc).toBeGreaterThan(0.25);
    expect(acc - badAcc).toBeGreaterThan(0.15);
    // Phase 1 reduced the reconstruction error; the dev loss log has both phases.
    const p1 = res.log.filter((l) => l.phase === 1);
    expect(p1.at(-1)!.dev!).toBeLessThan(p1[0]!.dev!);
    expect(res.phases.map((p) => p.trainableScalars)).toEqual([2 * 8 * head.d, 2 * 8 * head.d]);
  }, 40_000);

  it('with B_pd·s·A\' = I (rank d) P_PEMA equals P_LM: keys pass through the frozen final norm and head', () => {
    const { head, test } = fx;
    const d = head.d;
    const a = initAdapter(d, d, 1, new Rng(0));
    a.A.fill(0);
    a.Bpd.fill(0);
    for (let i = 0; i < d; i++) { a.A[i * d + i] = d; a.Bpd[i * d + i] = 1; }
    const n = 50;
    const x = pemaLogProbs(a, head, test.keys, n);
    const y = headLogProbs(head, test.keys, n);
    for (let i = 0; i < x.length; i++) expect(x[i]!).toBeCloseTo(y[i]!, 4);
  });

  it('kappa 0 and kappa 0.2 train different adapters (the reconstruction term is in the phase-2 loss)', async () => {
    const { train, dev, head } = fx;
    const a = await trainPema(train, dev, head, { ...cfg, kappa: 0, maxEpochs: 1 });
    const b = await trainPema(train, dev, head, { ...cfg, kappa: 0.2, maxEpochs: 1 });
    let diff = 0;
    for (let i = 0; i < a.adapter.Bpd.length; i++) diff = Math.max(diff, Math.abs(a.adapter.Bpd[i]! - b.adapter.Bpd[i]!));
    expect(diff).toBeGreaterThan(1e-4);
    expect(a.trainingInitializers).not.toContain('pema.B_rct');
  }, 30_000);
});

describe('generation through the PLM owner\'s decoder', () => {
  it('applies the Gradual Unrolling schedule of the length budget (maxNewTokens or a source ratio), the same for any reference', async () => {
    const { owner, head, train, dev } = fx;
    const res = await trainPema(train, dev, head, { ...cfg, maxEpochs: 1 });
    const record = async (prompt: number[], opts: Parameters<typeof pemaGenerate>[4]) => {
      const lambdas: number[] = [];
      const out = await pemaGenerate(owner, res.adapter, head, prompt, opts, (_t, l) => lambdas.push(l));
      return { out, lambdas };
    };
    const prompt = Array.from(fx.examples[3]!.target).slice(0, 5);
    const gu = await record(prompt, { maxNewTokens: 12, lambdaMax: 0.9 });
    const s = guSchedule(0.9, 12);
    expect(gu.lambdas).toEqual(Array.from({ length: 12 }, (_, t) => s(t)));
    const longer = await record([...prompt, ...prompt], { maxNewTokens: 12, lambdaMax: 0.9 });
    expect(longer.lambdas).toEqual(gu.lambdas);
    const ratio = await record(prompt, { maxNewTokens: 6, lambdaMax: 0.9, lengthBudget: { from: 'sourceLength', ratio: 2 } });
    expect(ratio.lambdas).toEqual(Array.from({ length: 6 }, (_, t) => guSchedule(0.9, 10)(t)));
    const constant = await record(prompt, { maxNewTokens: 4, lambdaMax: 0.5, gradualUnrolling: false });
    expect(constant.lambdas).toEqual([0.5, 0.5, 0.5, 0.5]);
    // λ = 0 decodes exactly as the PLM alone; a reference length is not an option at all.
    expect((await record(prompt, { maxNewTokens: 6, lambdaMax: 0, gradualUnrolling: false })).out).toEqual(await owner.decode(prompt, 6));
    // @ts-expect-error no option can carry the reference
    await expect(pemaGenerate(owner, res.adapter, head, prompt, { referenceLength: 20 })).rejects.toThrow(/^pemaGenerate: \(options\): Unrecognized key: "referenceLength"$/);
  }, 30_000);
});
