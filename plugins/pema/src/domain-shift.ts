/**
 * The lexical-substitution domain-shift study (spec 1.8), shared by the `pema` procedure and the
 * experiment script: pretrain the tiny GPT on grammar text (the PLM owner), shift held-out text
 * by substituting K frequent words with K rare ones (the data owner's domain), build the memory
 * teacher-forced, and compare PLM / kNN-LM / PEMA κ = 0 / PEMA κ = 0.2 / LoRA on the full model.
 */
import { Rng, Tensor, type Graph } from '@tessera/core';
import { grammarCorpus, SPECIAL_TOKENS, Tokenizer, languageModelDataset } from '@tessera/data';
import { buildGpt } from '@tessera/models';
import { createExecutor } from '@tessera/runtime';
import { adamw, Trainer } from '@tessera/train';
import { z } from 'zod';
import { headLogProbs, pemaLogProbs, trainPema, type PemaAdapter, type PemaTrainConfig } from './adapter.js';
import { knnLogProbs, nearestKeys } from './knn.js';
import { addLora } from './lora.js';
import { buildExternalMemory, ExternalMemory, ModelOwner, type MemoryExample, type OutputHead } from './memory.js';
import { mixLogProbs, pemaGenerate } from './mixture.js';

/** Adapter options with the spec's defaults ([code] unless noted). */
export const adapterOptionsSchema = z.object({
  rank: z.union([z.number().int().positive(), z.literal('d/4')]).default('d/4'),
  alpha: z.number().positive().default(1),
  inputDropout: z.number().min(0).lt(1).default(0.2),
  kappa: z.number().min(0).max(1).default(0.2),
  lr: z.number().positive().default(1e-3),
  batchRct: z.number().int().positive().default(1024),
  batchJoint: z.number().int().positive().default(256),
  maxEpochs: z.number().int().positive().default(200),
  evalEvery: z.number().int().positive().default(100),
  reuseEncoderFromPhase1: z.boolean().default(false),
  seed: z.number().int().nonnegative().default(0),
}).strict();
export type AdapterOptions = z.output<typeof adapterOptionsSchema>;

export function trainConfig(o: AdapterOptions, d: number, overrides: Partial<PemaTrainConfig> = {}): PemaTrainConfig {
  return { ...o, rank: o.rank === 'd/4' ? Math.max(1, Math.round(d / 4)) : o.rank, skipPhase1: false, ...overrides };
}

export const domainShiftOptionsSchema = z.object({
  seed: z.number().int().nonnegative().default(0),
  /** Characters of grammar text for pretraining, the data owner's memory text and its test text. */
  pretrainChars: z.number().int().positive().default(60_000),
  memoryChars: z.number().int().positive().default(40_000),
  testChars: z.number().int().positive().default(10_000),
  /** Fraction of the memory windows held out as the dev memory (early stopping, λ and temperature choice). */
  devFraction: z.number().gt(0).lt(1).default(0.1),
  plm: z.object({
    context: z.number().int().min(4).default(32),
    dim: z.number().int().positive().default(64),
    depth: z.number().int().positive().default(4),
    heads: z.number().int().positive().default(4),
    mlpDim: z.number().int().positive().default(256),
    epochs: z.number().int().positive().default(3),
    batchSize: z.number().int().positive().default(32),
    lr: z.number().positive().default(3e-3),
  }).strict().default({ context: 32, dim: 64, depth: 4, heads: 4, mlpDim: 256, epochs: 3, batchSize: 32, lr: 3e-3 }),
  /** K frequent words mapped one-to-one onto K rare words [R]. */
  substitutions: z.number().int().positive().default(20),
  /** The most frequent words (determiners, 'and'...) are left alone, so the shifted context stays readable to the PLM [R]. */
  skipTop: z.number().int().nonnegative().default(10),
  /** 'generated' (official code: prompt-only greedy decoding) or 'teacherForced' (kNN-LM style; spec 1.8's experiment). */
  memoryMode: z.enum(['generated', 'teacherForced']).default('generated'),
  adapter: adapterOptionsSchema.default(adapterOptionsSchema.parse({})),
  /** λ grid searched on the dev memory for the teacher-forced mixtures (PEMA and kNN-LM alike) [R]. */
  lambdaGrid: z.array(z.number().min(0).max(1)).min(1).default([0.25, 0.5, 0.75, 0.9, 0.97]),
  knn: z.object({
    k: z.number().int().positive().default(16),
    temperatureGrid: z.array(z.number().positive()).min(1).default([3, 10, 30, 100, 300]),
  }).strict().default({ k: 16, temperatureGrid: [3, 10, 30, 100, 300] }),
  lora: z.object({
    enabled: z.boolean().default(true),
    epochs: z.number().int().positive().default(3),
    batchSize: z.number().int().positive().default(16),
    lr: z.number().positive().default(1e-3),
  }).strict().default({ enabled: true, epochs: 3, batchSize: 16, lr: 1e-3 }),
  generation: z.object({
    prompts: z.number().int().nonnegative().default(24),
    promptTokens: z.number().int().positive().default(8),
    maxNewTokens: z.number().int().positive().default(32),
    lambdaMax: z.number().min(0).max(1).default(0.9),
    floorPct: z.number().min(0).lt(100).default(0),
  }).strict().default({ prompts: 24, promptTokens: 8, maxNewTokens: 32, lambdaMax: 0.9, floorPct: 0 }),
}).strict();
export type DomainShiftOptions = z.output<typeof domainShiftOptionsSchema>;

export interface ArmResult {
  arm: string;
  substitutedAccuracy: number;
  nonSubstitutedPerplexity: number;
  perplexity: number;
  lambda?: number;
  temperature?: number;
  msPerEpoch?: number;
  epochs?: number;
  savedActivationBytes?: number;
  optimizerStateBytes?: number;
  trainableScalars?: number;
}

export interface DomainShiftResult {
  vocab: number;
  substitutionMap: Record<string, string>;
  tokens: { pretrain: number; memory: number; dev: number; test: number; testSubstituted: number };
  /** On the unshifted test text: perplexity, and top-1 accuracy for the original words at the substituted positions (what the PLM manages in its own domain). */
  plm: { parameters: number; pretrainMs: number; testPerplexityUnshifted: number; unshiftedAccuracyAtSubstituted: number; unshiftedPerplexityAtOthers: number };
  memoryBuild: { ms: number; entries: number; bytes: number; plmRuns: number };
  arms: ArmResult[];
  pemaPhases: Record<string, unknown>;
  generation?: { lengthBudget: number; constant: GenStats; gradualUnrolling: GenStats; lambdas: number[] };
  plmRunsDuringAdapterTraining: number;
}

interface GenStats { substitutionRateFirst8: number; plmLogLikelihoodLater: number; mappedFirst8: number; sourceFirst8: number }

/** Windows of context T over a token stream, stride T: prompt = first token, target = the next T. */
function windows(ids: Int32Array, T: number): MemoryExample[] {
  const out: MemoryExample[] = [];
  for (let s = 0; s + T + 1 <= ids.length; s += T) out.push({ prompt: ids.subarray(s, s + 1), target: ids.subarray(s + 1, s + T + 1) });
  return out;
}

function wordCounts(ids: Int32Array, vocab: number): Int32Array {
  const c = new Int32Array(vocab);
  for (const t of ids) c[t]!++;
  return c;
}

interface Scored { substitutedAccuracy: number; nonSubstitutedPerplexity: number; perplexity: number; nll: number }

/** Scores per-position log-distributions row by row against the targets. */
function score(n: number, V: number, row: (i: number) => ArrayLike<number>, targets: Int32Array, substituted: Uint8Array): Scored {
  let hit = 0, nSub = 0, nllNon = 0, nNon = 0, nll = 0;
  for (let i = 0; i < n; i++) {
    const lp = row(i);
    let best = 0;
    for (let v = 1; v < V; v++) if (lp[v]! > lp[best]!) best = v;
    const l = -Math.max(lp[targets[i]!]!, -50);
    nll += l;
    if (substituted[i]) { nSub++; if (best === targets[i]) hit++; } else { nNon++; nllNon += l; }
  }
  return { substitutedAccuracy: hit / Math.max(1, nSub), nonSubstitutedPerplexity: Math.exp(nllNon / Math.max(1, nNon)), perplexity: Math.exp(nll / n), nll: nll / n };
}

function paramCount(g: Graph): number {
  let n = 0;
  for (const v of g.parameters()) if (v.name !== 'causal_mask') n += v.initializer!.size;
  return n;
}

export async function runDomainShift(options: z.input<typeof domainShiftOptionsSchema>, log: (line: string) => void = () => {}): Promise<DomainShiftResult> {
  const o = domainShiftOptionsSchema.parse(options);
  const T = o.plm.context;
  const corpus = grammarCorpus({ seed: o.seed, trainChars: o.pretrainChars, searchChars: o.memoryChars, testChars: o.testChars });
  const tok = Tokenizer.words(`${corpus.train} ${corpus.search} ${corpus.test}`);
  const V = tok.size;
  const pre = tok.encode(corpus.train);
  const memText = tok.encode(corpus.search);
  const testText = tok.encode(corpus.test);

  // --- PLM owner: pretrain the tiny GPT on unshifted text.
  const plm = buildGpt({ vocab: V, context: T, dim: o.plm.dim, depth: o.plm.depth, heads: o.plm.heads, mlpDim: o.plm.mlpDim, exposeBlockOutput: true }, { seed: o.seed });
  const lm = languageModelDataset(pre, { context: T, stride: T / 2, vocab: tok.vocab, source: corpus.source });
  const t0 = performance.now();
  const pretrainer = await Trainer.create({
    forward: plm, optimizer: adamw({ lr: o.plm.lr, weightDecay: 0.01 }), batchSize: o.plm.batchSize, seed: o.seed,
    params: [...plm.parameters()].map((v) => v.name).filter((n) => n !== 'causal_mask'),
  });
  await pretrainer.fit(lm, { epochs: o.plm.epochs, progress: false });
  const pretrained = pretrainer.currentGraph();
  await pretrainer.executor.dispose();
  const pretrainMs = performance.now() - t0;
  log(`PLM pretrained: ${paramCount(pretrained)} parameters, ${pre.length} tokens x ${o.plm.epochs} epochs in ${(pretrainMs / 1000).toFixed(1)} s`);

  // --- The data owner's domain: K frequent words -> K rare words.
  const specials = new Set<number>(SPECIAL_TOKENS.map((s) => tok.id(s)));
  const counts = wordCounts(pre, V);
  const words = Array.from({ length: V }, (_, i) => i).filter((i) => !specials.has(i) && /^[a-z]+$/.test(tok.vocab[i]!) && counts[i]! > 0);
  const byFreq = [...words].sort((a, b) => counts[b]! - counts[a]! || a - b);
  const K = Math.min(o.substitutions, Math.floor((byFreq.length - o.skipTop) / 2));
  const sources = byFreq.slice(o.skipTop, o.skipTop + K);
  const targets = new Rng(o.seed).fork(11).shuffle([...byFreq.slice(-K)]);
  const map = new Int32Array(V).map((_, i) => i);
  sources.forEach((s, k) => (map[s] = targets[k]!));
  const shift = (ids: Int32Array) => {
    const out = ids.map((t) => map[t]!);
    const sub = Uint8Array.from(ids, (t) => (map[t] !== t ? 1 : 0));
    return { ids: out, sub };
  };
  const memShift = shift(memText);
  const testShift = shift(testText);

  // --- Memory (teacher-forced windows of the shifted text); dev = the last windows.
  const owner = await ModelOwner.create(pretrained);
  const head = owner.outputHead();
  const all = windows(memShift.ids, T);
  const nDev = Math.max(1, Math.round(all.length * o.devFraction));
  const trainEx = all.slice(0, all.length - nDev);
  const devEx = all.slice(all.length - nDev);
  const b0 = performance.now();
  const runs0 = owner.runs;
  const memory = await buildExternalMemory(owner, trainEx, { mode: o.memoryMode });
  const buildMs = performance.now() - b0;
  const buildRuns = owner.runs - runs0;
  const dev = await buildExternalMemory(owner, devEx, { mode: o.memoryMode });
  log(`memory: ${memory.n} entries (${(memory.bytes / 1e6).toFixed(1)} MB) in ${(buildMs / 1000).toFixed(2)} s; dev ${dev.n}`);

  // --- Test representations (the data owner's test inputs, teacher-forced).
  const testWin = windows(testShift.ids, T);
  const testMem = await buildExternalMemory(owner, testWin, { mode: 'teacherForced' });
  const testSub = new Uint8Array(testMem.n);
  testWin.forEach((_, w) => { for (let k = 0; k < T; k++) testSub[w * T + k] = testShift.sub[w * T + 1 + k]!; });
  const devSub = new Uint8Array(dev.n);
  const nTest = testMem.n;
  const plmTest = headLogProbs(head, testMem.keys, nTest);
  const plmDev = headLogProbs(head, dev.keys, dev.n);
  const arms: ArmResult[] = [];
  const rowOf = (a: Float32Array) => (i: number) => a.subarray(i * V, (i + 1) * V);
  arms.push({ arm: 'PLM', ...strip(score(nTest, V, rowOf(plmTest), testMem.values, testSub)) });
  const unshifted = await buildExternalMemory(owner, windows(testText, T), { mode: 'teacherForced' });
  const unshiftedScore = score(unshifted.n, V, rowOf(headLogProbs(head, unshifted.keys, unshifted.n)), unshifted.values, testSub);
  const testPerplexityUnshifted = unshiftedScore.perplexity;

  const choose = (rowsFor: (lambda: number) => (i: number) => ArrayLike<number>) => {
    let best = { lambda: o.lambdaGrid[0]!, nll: Infinity };
    for (const lambda of o.lambdaGrid) {
      const s = score(dev.n, V, rowsFor(lambda), dev.values, devSub);
      if (s.nll < best.nll) best = { lambda, nll: s.nll };
    }
    return best.lambda;
  };

  // --- kNN-LM on the same memory.
  const nbDev = await nearestKeys(memory, dev.keys, o.knn.k);
  const nbTest = await nearestKeys(memory, testMem.keys, o.knn.k);
  let knnBest = { lambda: 0, temperature: 0, nll: Infinity };
  for (const temperature of o.knn.temperatureGrid) for (const lambda of o.lambdaGrid) {
    const s = score(dev.n, V, (i) => mixLogProbs(plmDev.subarray(i * V, (i + 1) * V), knnLogProbs(memory, nbDev, i, temperature, V), lambda), dev.values, devSub);
    if (s.nll < knnBest.nll) knnBest = { lambda, temperature, nll: s.nll };
  }
  arms.push({
    arm: 'kNN-LM', lambda: knnBest.lambda, temperature: knnBest.temperature,
    ...strip(score(nTest, V, (i) => mixLogProbs(plmTest.subarray(i * V, (i + 1) * V), knnLogProbs(memory, nbTest, i, knnBest.temperature, V), knnBest.lambda), testMem.values, testSub)),
  });
  log(`kNN-LM: temperature ${knnBest.temperature}, lambda ${knnBest.lambda}`);

  // --- PEMA, κ = 0 and κ = 0.2 (the adapter sees only memory + head; the PLM must not run).
  const pemaPhases: Record<string, unknown> = {};
  const runsBeforeAdapters = owner.runs;
  let pemaMain: PemaAdapter | undefined;
  for (const kappa of [0, o.adapter.kappa === 0 ? 0.2 : o.adapter.kappa]) {
    const cfg = trainConfig(o.adapter, head.d, { kappa });
    const res = await trainPema(memory, dev, head, cfg);
    const lpDev = pemaLogProbs(res.adapter, head, dev.keys, dev.n);
    const lpTest = pemaLogProbs(res.adapter, head, testMem.keys, nTest);
    const lambda = choose((l) => (i) => mixLogProbs(plmDev.subarray(i * V, (i + 1) * V), lpDev.subarray(i * V, (i + 1) * V), l));
    const p2 = res.phases.find((p) => p.phase === 2)!;
    const epochMs = res.phases.flatMap((p) => p.msPerEpoch);
    arms.push({
      arm: `PEMA kappa=${kappa}`, lambda, epochs: epochMs.length,
      msPerEpoch: epochMs.reduce((s, x) => s + x, 0) / epochMs.length,
      savedActivationBytes: Math.max(...res.phases.map((p) => p.savedActivationBytes)),
      optimizerStateBytes: Math.max(...res.phases.map((p) => p.optimizerStateBytes)),
      trainableScalars: p2.trainableScalars,
      ...strip(score(nTest, V, (i) => mixLogProbs(plmTest.subarray(i * V, (i + 1) * V), lpTest.subarray(i * V, (i + 1) * V), lambda), testMem.values, testSub)),
    });
    pemaPhases[`kappa=${kappa}`] = { rank: cfg.rank, phases: res.phases, log: res.log };
    log(`PEMA kappa=${kappa}: lambda ${lambda}, ${res.phases.map((p) => `phase ${p.phase} ${p.epochs} epochs`).join(', ')}`);
    if (kappa === o.adapter.kappa || (o.adapter.kappa === 0 && kappa === 0)) pemaMain ??= res.adapter;
  }
  const plmRunsDuringAdapterTraining = owner.runs - runsBeforeAdapters;

  // --- LoRA on the full model (needs every weight: the non-offsite reference).
  if (o.lora.enabled) {
    const rank = trainConfig(o.adapter, head.d).rank;
    const { graph, params } = addLora(pretrained, { rank, alpha: 1, seed: o.seed });
    const memIds = memShift.ids.subarray(0, (trainEx.length) * T + 1);
    const ds = languageModelDataset(memIds, { context: T, vocab: tok.vocab, source: corpus.source });
    const trainer = await Trainer.create({ forward: graph, optimizer: adamw({ lr: o.lora.lr, weightDecay: 0 }), batchSize: o.lora.batchSize, seed: o.seed, params });
    const epochMs: number[] = [];
    for (let e = 0; e < o.lora.epochs; e++) {
      const e0 = performance.now();
      await trainer.fit(ds, { epochs: e + 1, progress: false });
      epochMs.push(performance.now() - e0);
    }
    const tuned = trainer.currentGraph();
    const acc = trainer.accounting;
    await trainer.executor.dispose();
    const ex = createExecutor('ort-node');
    const session = await ex.session(tuned);
    const logits = new Float32Array(nTest * V);
    for (let s = 0; s < testWin.length; s += 64) {
      const part = testWin.slice(s, s + 64);
      const ids = new BigInt64Array(part.length * T);
      part.forEach((w, i) => { ids[i * T] = BigInt(w.prompt[0]!); for (let k = 0; k < T - 1; k++) ids[i * T + 1 + k] = BigInt(w.target[k]!); });
      const out = (await session.run({ x: new Tensor('int64', [part.length, T], ids) }, ['logits'])).logits!.data as Float32Array;
      logits.set(out, s * T * V);
    }
    await ex.dispose();
    arms.push({
      arm: 'LoRA (full model)', epochs: o.lora.epochs, msPerEpoch: epochMs.reduce((s, x) => s + x, 0) / epochMs.length,
      savedActivationBytes: acc.savedActivationBytes, optimizerStateBytes: acc.optimizerStateBytes, trainableScalars: acc.trainableScalars,
      ...strip(score(nTest, V, (i) => logSoftmaxRow(logits, i, V), testMem.values, testSub)),
    });
    log(`LoRA: ${o.lora.epochs} epochs`);
  }

  // --- Generation: constant λ vs Gradual Unrolling (budget = maxNewTokens, never a reference).
  let generation: DomainShiftResult['generation'];
  if (o.generation.prompts > 0 && pemaMain) {
    const g = o.generation;
    const sourceSet = new Set(sources);
    const targetSet = new Set(targets);
    const stats = async (gu: boolean, lambdas: number[]): Promise<GenStats> => {
      let mapped = 0, source = 0, ll = 0, nll = 0;
      for (let p = 0; p < g.prompts && p < testWin.length; p++) {
        const w = testWin[p]!;
        const prompt: number[] = [w.prompt[0]!, ...Array.from(w.target).slice(0, g.promptTokens - 1)];
        const out = await pemaGenerate(owner, pemaMain!, head, prompt, { maxNewTokens: g.maxNewTokens, lambdaMax: g.lambdaMax, gradualUnrolling: gu, floorPct: g.floorPct }, (t, l) => { if (p === 0) lambdas.push(l); });
        out.slice(0, 8).forEach((t) => { if (targetSet.has(t)) mapped++; else if (sourceSet.has(t)) source++; });
        // The PLM's own log-likelihood of tokens 9.. of the continuation.
        const seq: number[] = [...prompt, ...out];
        const win = seq.slice(-(T + 1));
        const tgt = win.slice(1);
        const reps = await owner.contextRepresentations([{ mode: 'teacherForced', prompt: win.slice(0, 1), target: tgt }]);
        const lp = headLogProbs(head, reps[0]!.reps, reps[0]!.steps);
        for (let k = 0; k < tgt.length; k++) {
          const pos = seq.length - tgt.length + k - prompt.length; // index within the continuation
          if (pos >= 8) { ll += lp[k * V + tgt[k]!]!; nll++; }
        }
      }
      return { substitutionRateFirst8: mapped / Math.max(1, mapped + source), plmLogLikelihoodLater: ll / Math.max(1, nll), mappedFirst8: mapped, sourceFirst8: source };
    };
    const lambdas: number[] = [];
    const constant = await stats(false, []);
    const guStats = await stats(true, lambdas);
    generation = { lengthBudget: g.maxNewTokens, constant, gradualUnrolling: guStats, lambdas };
  }
  await owner.dispose();
  const substitutionMap: Record<string, string> = {};
  sources.forEach((s, k) => (substitutionMap[tok.vocab[s]!] = tok.vocab[targets[k]!]!));
  return {
    vocab: V, substitutionMap,
    tokens: { pretrain: pre.length, memory: memory.n, dev: dev.n, test: nTest, testSubstituted: testSub.reduce((s, x) => s + x, 0) },
    plm: { parameters: paramCount(pretrained), pretrainMs, testPerplexityUnshifted, unshiftedAccuracyAtSubstituted: unshiftedScore.substitutedAccuracy, unshiftedPerplexityAtOthers: unshiftedScore.nonSubstitutedPerplexity },
    memoryBuild: { ms: buildMs, entries: memory.n, bytes: memory.bytes, plmRuns: buildRuns },
    arms, pemaPhases, generation, plmRunsDuringAdapterTraining,
  };
}

function strip(s: Scored): Omit<Scored, 'nll'> {
  return { substitutedAccuracy: s.substitutedAccuracy, nonSubstitutedPerplexity: s.nonSubstitutedPerplexity, perplexity: s.perplexity };
}

function logSoftmaxRow(a: Float32Array, i: number, V: number): Float64Array {
  let max = -Infinity;
  for (let v = 0; v < V; v++) max = Math.max(max, a[i * V + v]!);
  let sum = 0;
  for (let v = 0; v < V; v++) sum += Math.exp(a[i * V + v]! - max);
  const lse = max + Math.log(sum);
  return Float64Array.from({ length: V }, (_, v) => a[i * V + v]! - lse);
}

export type { ExternalMemory, OutputHead };
