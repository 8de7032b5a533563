// Model zoo on real data: each model is trained through @tessera/train's Trainer on @tessera/data,
// evaluated once on the held-out test split (configs are fixed here; no selection uses test), and
// compared with a trivial baseline. Prints one line per model and writes results/zoo.json.
// Run: cd packages/train && pnpm zoo [--only lenet,vit,gpt,seg] [--seed 0] [--threads 1]
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Tensor, type Graph } from '@tessera/core';
import {
  grammarCorpus, languageModelDataset, loadFashionMnist, ngramPerplexity, segmentationScenes, Tokenizer, type Dataset,
} from '@tessera/data';
import { buildDeepLabV3Plus, buildGpt, buildLeNet5, buildViT } from '@tessera/models';
import { createExecutor } from '@tessera/runtime';
import { adamw, cosine, denseArgmax, linearWarmup, meanIoU, perplexity, Trainer, trainableCandidates } from '../src/index.js';

const MODELS = ['lenet', 'vit', 'gpt', 'seg'] as const;
type ModelKey = (typeof MODELS)[number];

interface ZooResult {
  model: ModelKey;
  architecture: string;
  data: string;
  metric: string;
  value: number;
  baseline: { name: string; value: number }[];
  target: string;
  pass: boolean;
  epochs: number;
  steps: number;
  batchSize: number;
  trainExamples: number;
  testExamples: number;
  /** Wall seconds from data generation/loading to the end of the test evaluation. */
  wallSeconds: number;
  trainSeconds: number;
  /** Median wall time of one training step (feeds, run, fetches). */
  msPerStep: number;
  compileMs: number;
  config: Record<string, unknown>;
}

function parseArgs(argv: string[]): { only: ModelKey[]; seed: number; threads: number } {
  let only: ModelKey[] = [...MODELS];
  let seed = 0;
  let threads = 1;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = () => inline ?? argv[++i] ?? '';
    if (flag === '--only') {
      const names = value().split(',').map((s) => s.trim()).filter(Boolean);
      const bad = names.filter((n) => !(MODELS as readonly string[]).includes(n));
      if (bad.length || !names.length) throw new Error(`zoo: --only '${names.join(',')}' names unknown models ${bad.join(', ')}: expected a comma list of ${MODELS.join(', ')}`);
      only = names as ModelKey[];
    } else if (flag === '--seed') {
      seed = Number(value());
      if (!Number.isInteger(seed) || seed < 0) throw new Error(`zoo: --seed must be a non-negative integer, got '${argv[i]}'`);
    } else if (flag === '--threads') {
      threads = Number(value());
      if (!Number.isInteger(threads) || threads < 1) throw new Error(`zoo: --threads must be a positive integer, got '${argv[i]}'`);
    } else throw new Error(`zoo: unknown option '${a}': expected --only lenet,vit,gpt,seg, --seed N or --threads N`);
  }
  return { only, seed, threads };
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : NaN;
}

const seconds = (t0: number) => (performance.now() - t0) / 1000;

interface Run {
  trainer: Trainer;
  epochs: number;
  steps: number;
  trainSeconds: number;
}

/** AdamW with linear warm-up then cosine decay over the whole run, `epochs` epochs of `train`. */
async function train(forward: Graph, trainSet: { x: Tensor; y: Tensor }, o: {
  epochs: number; batchSize: number; lr: number; weightDecay: number; warmup: number; seed: number; threads: number; params?: string[];
}): Promise<Run> {
  const steps = o.epochs * Math.floor(trainSet.x.shape[0]! / o.batchSize);
  const trainer = await Trainer.create({
    forward, batchSize: o.batchSize, seed: o.seed, threads: o.threads, params: o.params,
    optimizer: adamw({ lr: o.lr, weightDecay: o.weightDecay }),
    schedule: linearWarmup(o.warmup, cosine({ total: steps - o.warmup, floor: 0.02 })),
  });
  const t0 = performance.now();
  await trainer.fit(trainSet, { epochs: o.epochs, progress: false });
  return { trainer, epochs: o.epochs, steps, trainSeconds: seconds(t0) };
}

function timing(run: Run, t0: number): Pick<ZooResult, 'epochs' | 'steps' | 'batchSize' | 'wallSeconds' | 'trainSeconds' | 'msPerStep' | 'compileMs'> {
  const acc = run.trainer.accounting;
  return {
    epochs: run.epochs, steps: run.steps, batchSize: run.trainer.batchSize, wallSeconds: seconds(t0), trainSeconds: run.trainSeconds,
    msPerStep: median(acc.msPerStep), compileMs: acc.compileMs,
  };
}

function majorityClassAccuracy(ds: Dataset): number {
  const counts = new Map<number, number>();
  for (let i = 0; i < ds.y.size; i++) counts.set(ds.y.getFlat(i), (counts.get(ds.y.getFlat(i)) ?? 0) + 1);
  return Math.max(...counts.values()) / ds.y.size;
}

async function fashion(model: 'lenet' | 'vit', seed: number, threads: number): Promise<ZooResult> {
  const t0 = performance.now();
  const trainSet = loadFashionMnist('train');
  const testSet = loadFashionMnist('test');
  const isLenet = model === 'lenet';
  const config = isLenet
    ? { channels: [6, 16], hidden: [120, 84], activation: 'relu' }
    : { patch: 7, dim: 64, depth: 4, heads: 4, mlpDim: 128 };
  const forward = isLenet ? buildLeNet5(config as Parameters<typeof buildLeNet5>[0], { seed }) : buildViT(config, { seed });
  const hyper = isLenet
    ? { epochs: 3, batchSize: 64, lr: 3e-3, weightDecay: 1e-4, warmup: 100 }
    : { epochs: 5, batchSize: 128, lr: 2e-3, weightDecay: 0.05, warmup: 100 };
  const run = await train(forward, trainSet, { ...hyper, seed, threads });
  const { accuracy } = await run.trainer.evaluate(testSet);
  await run.trainer.executor.dispose();
  const target = isLenet ? 0.89 : 0.85;
  return {
    model, architecture: isLenet ? 'LeNet-5' : `ViT (patch ${config.patch}, dim ${config.dim}, depth ${config.depth})`,
    data: 'Fashion-MNIST (60k train / official 10k test)', metric: 'test accuracy', value: accuracy,
    baseline: [{ name: 'majority class', value: majorityClassAccuracy(testSet) }], target: `>= ${target}`, pass: accuracy >= target,
    trainExamples: trainSet.x.shape[0]!, testExamples: testSet.x.shape[0]!, config: { ...config, ...hyper, optimizer: 'adamw', schedule: 'warmup+cosine' },
    ...timing(run, t0),
  };
}

async function gpt(seed: number, threads: number): Promise<ZooResult> {
  const t0 = performance.now();
  const corpus = grammarCorpus({ seed: seed + 1 });
  const tok = Tokenizer.chars(corpus.train);
  const trainIds = tok.encode(corpus.train);
  const testIds = tok.encode(corpus.test);
  const context = 64;
  const config = { vocab: tok.size, context, dim: 64, depth: 2, heads: 4, mlpDim: 256 };
  const src = corpus.source;
  const trainSet = languageModelDataset(trainIds, { context, stride: 32, vocab: tok.vocab, source: src });
  const testSet = languageModelDataset(testIds, { context, vocab: tok.vocab, source: src });
  const forward = buildGpt(config, { seed });
  const hyper = { epochs: 2, batchSize: 32, lr: 3e-3, weightDecay: 0.01, warmup: 50 };
  const run = await train(forward, trainSet, { ...hyper, seed, threads, params: trainableCandidates(forward).filter((p) => p !== 'causal_mask') });
  const { logits } = await run.trainer.evaluate(testSet);
  await run.trainer.executor.dispose();
  const V = tok.size;
  const ppl = perplexity(new Tensor('float32', [logits.size / V, V], logits.data), new Tensor('int64', [testSet.y.size], testSet.y.data));
  const unigram = ngramPerplexity(trainIds, testIds, { order: 1, vocabSize: V });
  const trigram = ngramPerplexity(trainIds, testIds, { order: 3, vocabSize: V });
  return {
    model: 'gpt', architecture: `GPT (dim ${config.dim}, depth ${config.depth}, context ${context})`,
    data: `grammar corpus seed ${seed + 1}: ${corpus.train.length} train chars / ${corpus.test.length} test chars (independent stream), vocabulary ${V}`,
    metric: 'test char perplexity', value: ppl,
    baseline: [{ name: 'unigram', value: unigram }, { name: 'trigram', value: trigram }],
    target: '< unigram / 4', pass: ppl < unigram / 4,
    trainExamples: trainSet.x.shape[0]!, testExamples: testSet.x.shape[0]!, config: { ...config, ...hyper, stride: 32, optimizer: 'adamw', schedule: 'warmup+cosine' },
    ...timing(run, t0),
  };
}

async function seg(seed: number, threads: number): Promise<ZooResult> {
  const t0 = performance.now();
  const classes = 5;
  const trainSet = segmentationScenes({ n: 2048, classes, seed: 1000 + seed });
  const testSet = segmentationScenes({ n: 512, classes, seed: 2000 + seed });
  const forward = buildDeepLabV3Plus({ classes }, { seed, batchNorm: 'batch-stats' });
  const hyper = { epochs: 6, batchSize: 32, lr: 3e-3, weightDecay: 1e-4, warmup: 30 };
  const run = await train(forward, trainSet, { ...hyper, seed, threads });
  // Evaluate the inference form (BatchNormalization with the running statistics), as deployed.
  const inference = buildDeepLabV3Plus({ classes }, { seed, batchNorm: 'inference' });
  const names = new Set(inference.parameters().map((v) => v.name));
  for (const [name, value] of run.trainer.parameters()) if (names.has(name)) inference.setInitializer(name, value);
  await run.trainer.executor.dispose();
  const ex = createExecutor('ort-node', { threads });
  const session = await ex.session(inference);
  const pred = new Int32Array(testSet.y.size);
  const per = testSet.y.size / testSet.y.shape[0]!;
  const n = testSet.x.shape[0]!;
  const rowSize = testSet.x.size / n;
  for (let s = 0; s < n; s += 64) {
    const k = Math.min(64, n - s);
    const x = new Tensor('float32', [k, ...testSet.x.shape.slice(1)], (testSet.x.data as Float32Array).slice(s * rowSize, (s + k) * rowSize));
    const out = (await session.run({ x }, ['logits'])).logits!;
    pred.set(denseArgmax(out), s * per);
  }
  await ex.dispose();
  const labels = Int32Array.from(testSet.y.data as BigInt64Array, Number);
  const miou = meanIoU(pred, labels, classes);
  const majority = meanIoU(new Int32Array(labels.length), labels, classes);
  return {
    model: 'seg', architecture: 'DeepLabV3+ (small, MobileNetV2-style backbone, ASPP, decoder)',
    data: `segmentation scenes 32x32, ${classes} classes (background + 4 shapes), train seed ${1000 + seed}, test seed ${2000 + seed}`,
    metric: 'test mIoU', value: miou, baseline: [{ name: 'majority class (all background)', value: majority }],
    target: '> 3 x majority', pass: miou > 3 * majority,
    trainExamples: trainSet.x.shape[0]!, testExamples: n, config: { classes, ...hyper, batchNorm: 'batch-stats (train) / inference (eval)', optimizer: 'adamw', schedule: 'warmup+cosine' },
    ...timing(run, t0),
  };
}

function line(r: ZooResult): string {
  const f = (v: number) => (r.metric.includes('perplexity') ? v.toFixed(2) : v.toFixed(4));
  const base = r.baseline.map((b) => `${b.name} ${f(b.value)}`).join(', ');
  return `${r.model.padEnd(5)} ${r.metric} ${f(r.value)} (${r.pass ? 'pass' : 'FAIL'} ${r.target}) | baseline ${base} | ${r.epochs} epochs, ${r.steps} steps x ${r.batchSize} | wall ${r.wallSeconds.toFixed(1)} s (train ${r.trainSeconds.toFixed(1)} s) | ${r.msPerStep.toFixed(1)} ms/step`;
}

async function main(): Promise<void> {
  const { only, seed, threads } = parseArgs(process.argv.slice(2));
  const results: ZooResult[] = [];
  for (const m of only) {
    const r = m === 'lenet' || m === 'vit' ? await fashion(m, seed, threads) : m === 'gpt' ? await gpt(seed, threads) : await seg(seed, threads);
    console.log(line(r));
    results.push(r);
  }
  const dir = fileURLToPath(new URL('../results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}zoo.json`, `${JSON.stringify({
    command: `cd packages/train && pnpm zoo${process.argv.length > 2 ? ` ${process.argv.slice(2).join(' ')}` : ''}`,
    seed, threads, node: process.version, cpus: 2, date: new Date().toISOString(),
    note: 'one run per model on a 2-core machine shared with other jobs: wall times and ms/step are noisy',
    results,
  }, null, 2)}\n`);
  console.log(`wrote ${dir}zoo.json`);
}

await main();
