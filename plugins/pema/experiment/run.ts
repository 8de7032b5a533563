/**
 * Spec 1.8: lexical-substitution domain shift on the tiny GPT. Arms PLM, kNN-LM on the same
 * memory, PEMA κ = 0, PEMA κ = 0.2, LoRA on the full model; accuracy at substituted positions,
 * perplexity at the others, per-epoch training time and peak saved activations from the engine,
 * memory-build time separately; constant λ vs Gradual Unrolling generation.
 * Writes results/experiment.json and results/*.svg.
 * Run: pnpm --filter @tessera/plugin-pema experiment   (TESSERA_PEMA_QUICK=1 for a smoke run)
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { barChart, lineChart } from '@tessera/pipeline';
import { runDomainShift, type DomainShiftOptions } from '../src/index.js';

const quick = process.env.TESSERA_PEMA_QUICK === '1';
// Shrunk from the spec (~50k memory / ~10k test tokens, d 128) to fit a few minutes on 2 shared cores.
const options = {
  seed: 0,
  pretrainChars: quick ? 20_000 : 150_000,
  memoryChars: quick ? 12_000 : 110_000,
  testChars: quick ? 4_000 : 25_000,
  plm: { context: 32, dim: 64, depth: 4, heads: 4, mlpDim: 256, epochs: quick ? 1 : 4, batchSize: 32, lr: 3e-3 },
  memoryMode: 'teacherForced' as const,
  adapter: { rank: 16, maxEpochs: quick ? 2 : 30, evalEvery: quick ? 10 : 40, batchRct: 1024, batchJoint: 256 },
  lora: { enabled: true, epochs: quick ? 1 : 3, batchSize: 16, lr: 3e-3 },
  generation: { prompts: quick ? 4 : 40, promptTokens: 8, maxNewTokens: 32, lambdaMax: 0.9, floorPct: 0 },
} satisfies Partial<Record<keyof DomainShiftOptions, unknown>>;

const t0 = performance.now();
const result = await runDomainShift(options, (line) => console.log(line));
const wallS = (performance.now() - t0) / 1000;

const dir = new URL(quick ? '../results/quick/' : '../results/', import.meta.url);
await mkdir(dir, { recursive: true });
await writeFile(new URL('experiment.json', dir), `${JSON.stringify({
  command: `${quick ? 'TESSERA_PEMA_QUICK=1 ' : ''}pnpm --filter @tessera/plugin-pema experiment`, wallSeconds: wallS, options, ...result,
}, null, 2)}\n`);
const arms = result.arms;
await writeFile(new URL('accuracy.svg', dir), await barChart(arms.map((a) => ({ arm: a.arm, accuracy: a.substitutedAccuracy })), { x: 'arm', y: 'accuracy', title: 'Top-1 accuracy at substituted positions' }));
await writeFile(new URL('perplexity.svg', dir), await barChart(arms.map((a) => ({ arm: a.arm, perplexity: a.nonSubstitutedPerplexity })), { x: 'arm', y: 'perplexity', title: 'Perplexity at non-substituted positions' }));
const trained = arms.filter((a) => a.msPerEpoch !== undefined);
await writeFile(new URL('efficiency.svg', dir), await barChart(trained.map((a) => ({ arm: a.arm, msPerEpoch: a.msPerEpoch! })), { x: 'arm', y: 'msPerEpoch', title: 'Training wall time per epoch (ms)' }));
if (result.generation) {
  await writeFile(new URL('gu-schedule.svg', dir), await lineChart(result.generation.lambdas.map((lambda, t) => ({ t, lambda })), { x: 't', y: 'lambda', title: `Gradual Unrolling λ_t (λmax 0.9, L = ${result.generation.lengthBudget})` }));
}

console.log(`\nPLM on unshifted test: ppl ${result.plm.testPerplexityUnshifted.toFixed(3)}, acc@substituted (original words) ${(100 * result.plm.unshiftedAccuracyAtSubstituted).toFixed(1)}%, ppl@other ${result.plm.unshiftedPerplexityAtOthers.toFixed(3)}`);
console.log(`memory build: ${result.memoryBuild.entries} entries in ${result.memoryBuild.ms.toFixed(0)} ms`);
console.log('arm | acc@substituted | ppl@other | ppl | ms/epoch | saved-act bytes');
for (const a of arms) {
  console.log(`${a.arm} | ${(100 * a.substitutedAccuracy).toFixed(1)}% | ${a.nonSubstitutedPerplexity.toFixed(3)} | ${a.perplexity.toFixed(3)} | ${a.msPerEpoch?.toFixed(0) ?? '-'} | ${a.savedActivationBytes ?? '-'}`);
}
if (result.generation) console.log(`GU: ${JSON.stringify(result.generation.gradualUnrolling)}; constant: ${JSON.stringify(result.generation.constant)}`);
console.log(`wall ${wallS.toFixed(1)} s`);
