/**
 * Experiment (spec nlp-peft-kd.md 6.7): online KD on Fashion-MNIST, teacher MLP 784-256-256-10,
 * student MLP 784-32-10, trained together from scratch. Arms: student alone (CE), DML-style online
 * KD (forward KL both ways), BD-KD 'hard' and 'soft', reverse KL only, fixed 0.5/0.5 mix; plus
 * post-hoc temperature scaling (T fitted on a held-out validation split) of every arm, the
 * reference BD-KD wants to make unnecessary. Same initial weights and batch order per seed across arms.
 *
 * Writes results/experiment.json, results/reliability-<arm>.svg (test predictions pooled over seeds),
 * results/balance.svg and results/ece.svg.
 * Run: pnpm --filter @tessera/plugin-bdkd experiment   (flags: --seeds 3 --epochs 5 --train 10000 --test 5000 --val 1000 --tau 3 --name experiment)
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Tensor } from '@tessera/core';
import { loadFashionMnist, splitTrainSearchTest } from '@tessera/data';
import { buildMlp } from '@tessera/models';
import { barChart, lineChart, reliabilityDiagram } from '@tessera/pipeline';
import { createExecutor } from '@tessera/runtime';
import { bdkd, classification, fitTemperature, predictLogits, reliabilityBins, scaleLogits, type BdkdOptionsInput, type EpochLog } from '../src/index.js';

// `pnpm ... experiment -- --epochs 15` may hand the script a leading '--'.
const argv = process.argv.slice(2);
const { values: args } = parseArgs({
  args: argv[0] === '--' ? argv.slice(1) : argv,
  options: {
    seeds: { type: 'string', default: '3' }, epochs: { type: 'string', default: '5' },
    train: { type: 'string', default: '10000' }, test: { type: 'string', default: '5000' }, val: { type: 'string', default: '1000' },
    /** Names the output files: results/<name>.json; SVGs get '<name>-' in front unless it is 'experiment'. */
    name: { type: 'string', default: 'experiment' },
    /** Distillation temperature τ of every KD arm ([R] default 3). */
    tau: { type: 'string', default: '3' },
  },
});
const SEEDS = Number(args.seeds);
const EPOCHS = Number(args.epochs);
const here = dirname(fileURLToPath(import.meta.url));
const outDir = join(here, '..', 'results');
const NAME = args.name;
const svg = (file: string) => join(outDir, NAME === 'experiment' ? file : `${NAME}-${file}`);

const ARMS: { id: string; label: string; options: BdkdOptionsInput }[] = [
  { id: 'student-alone', label: '(1) student alone, CE', options: { weighting: 'none' } },
  { id: 'dml-fkl', label: '(2) online KD, forward KL (DML)', options: { weighting: 'fkl-only', teacherReg: 'forward-kl' } },
  { id: 'bdkd-hard', label: '(3) BD-KD hard [R]', options: { weighting: 'hard' } },
  { id: 'bdkd-soft', label: '(4) BD-KD soft [R]', options: { weighting: 'soft' } },
  { id: 'rkl-only', label: '(5) reverse KL only', options: { weighting: 'rkl-only' } },
  { id: 'fixed-mix', label: '(6) fixed 0.5/0.5 mix', options: { weighting: 'fixed-mix', fixedMix: 0.5 } },
];
const COMMON: BdkdOptionsInput = { tau: Number(args.tau), lambdaStudent: 1, lambdaTeacher: 1, epochs: EPOCHS, batchSize: 128, optimizer: 'adam', lr: 1e-3 };

interface SeedResult {
  seed: number;
  student: { accuracy: number; ece: number; nll: number };
  teacher: { accuracy: number; ece: number; nll: number } | null;
  temperature: number;
  studentScaled: { accuracy: number; ece: number; nll: number };
  epochs: EpochLog[];
  seconds: number;
  msPerStep: number;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const std = (xs: number[]) => (xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, b) => a + (b - mean(xs)) ** 2, 0) / (xs.length - 1)));
const stat = (xs: number[]) => ({ mean: mean(xs), std: std(xs), values: xs });

function concatRows(ts: Tensor[]): Tensor {
  const n = ts.reduce((a, t) => a + t.shape[0]!, 0);
  const out = new Float32Array(n * ts[0]!.shape[1]!);
  let off = 0;
  for (const t of ts) { out.set(t.data as Float32Array, off); off += t.size; }
  return new Tensor(ts[0]!.dtype, [n, ts[0]!.shape[1]!], out);
}
function concatLabels(ts: Tensor[]): Tensor {
  const n = ts.reduce((a, t) => a + t.shape[0]!, 0);
  const out = new BigInt64Array(n);
  let off = 0;
  for (const t of ts) { out.set(t.data as BigInt64Array, off); off += t.size; }
  return new Tensor('int64', [n], out);
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const splits = splitTrainSearchTest({ train: loadFashionMnist('train'), test: loadFashionMnist('test') }, {
    search: Number(args.val), train: Number(args.train), test: Number(args.test), seed: 0,
  });
  const exec = createExecutor('ort-node');
  const results: Record<string, SeedResult[]> = {};
  const pooled: Record<string, Tensor[]> = {};
  for (const arm of ARMS) {
    results[arm.id] = [];
    pooled[arm.id] = [];
    for (let seed = 0; seed < SEEDS; seed++) {
      const teacher = buildMlp({ hidden: [256, 256] }, { seed: 1000 + seed });
      const student = buildMlp({ hidden: [32] }, { seed: 2000 + seed });
      const r = await bdkd(teacher, student, { train: splits.train }, { ...COMMON, ...arm.options, seed });
      const [zTest] = await predictLogits(r.student, splits.test.x, exec);
      const [zVal] = await predictLogits(r.student, splits.search.x, exec);
      const T = fitTemperature(zVal!, splits.search.y);
      const teacherTest = r.teacher ? classification((await predictLogits(r.teacher, splits.test.x, exec))[0]!, splits.test.y) : null;
      const res: SeedResult = {
        seed,
        student: classification(zTest!, splits.test.y),
        teacher: teacherTest,
        temperature: T,
        studentScaled: classification(scaleLogits(zTest!, T), splits.test.y),
        epochs: r.log,
        seconds: r.seconds,
        msPerStep: r.accounting.msPerStep,
      };
      results[arm.id]!.push(res);
      pooled[arm.id]!.push(zTest!);
      const bal = r.log.map((e) => (e.fracRklDominant === null ? '-' : e.fracRklDominant.toFixed(2))).join(' ');
      console.log(`${arm.id.padEnd(14)} seed ${seed}: student acc ${(100 * res.student.accuracy).toFixed(2)}% ECE ${res.student.ece.toFixed(4)} NLL ${res.student.nll.toFixed(4)}`
        + ` | TS(T=${T.toFixed(2)}) ECE ${res.studentScaled.ece.toFixed(4)} | teacher ${teacherTest ? `${(100 * teacherTest.accuracy).toFixed(2)}%` : '-'} | RKL-dominant per epoch ${bal} | ${r.seconds.toFixed(1)} s`);
    }
  }
  await exec.dispose();

  const summary = ARMS.map((arm) => {
    const rs = results[arm.id]!;
    return {
      arm: arm.id,
      label: arm.label,
      options: { ...COMMON, ...arm.options },
      studentAccuracy: stat(rs.map((r) => r.student.accuracy)),
      studentEce: stat(rs.map((r) => r.student.ece)),
      studentNll: stat(rs.map((r) => r.student.nll)),
      teacherAccuracy: rs[0]!.teacher ? stat(rs.map((r) => r.teacher!.accuracy)) : null,
      temperature: stat(rs.map((r) => r.temperature)),
      scaledEce: stat(rs.map((r) => r.studentScaled.ece)),
      scaledNll: stat(rs.map((r) => r.studentScaled.nll)),
      fracRklDominantPerEpoch: rs[0]!.epochs[0]!.fracRklDominant === null ? null
        : rs[0]!.epochs.map((_, e) => mean(rs.map((r) => r.epochs[e]!.fracRklDominant!))),
    };
  });
  // Paired (same seed) differences the README's claims rest on.
  const paired = (a: string, b: string, f: (r: SeedResult) => number) => stat(results[a]!.map((r, i) => f(r) - f(results[b]![i]!)));
  const comparisons = {
    eceHardMinusDml: paired('bdkd-hard', 'dml-fkl', (r) => r.student.ece),
    eceSoftMinusDml: paired('bdkd-soft', 'dml-fkl', (r) => r.student.ece),
    eceHardMinusFixedMix: paired('bdkd-hard', 'fixed-mix', (r) => r.student.ece),
    eceSoftMinusFixedMix: paired('bdkd-soft', 'fixed-mix', (r) => r.student.ece),
    accHardMinusDml: paired('bdkd-hard', 'dml-fkl', (r) => r.student.accuracy),
    accHardMinusFixedMix: paired('bdkd-hard', 'fixed-mix', (r) => r.student.accuracy),
    accSoftMinusFixedMix: paired('bdkd-soft', 'fixed-mix', (r) => r.student.accuracy),
    nllHardMinusFixedMix: paired('bdkd-hard', 'fixed-mix', (r) => r.student.nll),
  };

  await mkdir(outDir, { recursive: true });
  const seconds = (performance.now() - t0) / 1000;
  await writeFile(join(outDir, `${NAME}.json`), `${JSON.stringify({
    experiment: 'BD-KD online distillation, spec nlp-peft-kd.md 6.7',
    command: `pnpm --filter @tessera/plugin-bdkd experiment${argv.length ? ` -- ${argv.filter((a) => a !== '--').join(' ')}` : ''}`,
    data: { dataset: 'fashion-mnist', train: splits.train.x.shape[0], validation: splits.search.x.shape[0], test: splits.test.x.shape[0], splitSeed: 0 },
    networks: { teacher: 'MLP 784-256-256-10', student: 'MLP 784-32-10' },
    seeds: SEEDS, epochs: EPOCHS,
    tau: Number(args.tau),
    reconstructed: 'tau = 3, lambdaStudent = lambdaTeacher = 1, hard rule wMajor = 1 / wMinor = 0, soft rule softTemp = 1 are [R] reconstructions, not the paper\'s values',
    metrics: 'student test accuracy, ECE (15 equal-width bins, softmax at T = 1), NLL; temperature scaling fitted on the validation split by NLL',
    seconds,
    summary,
    comparisons,
    perSeed: results,
  }, null, 1)}\n`);

  for (const arm of ARMS) {
    const z = concatRows(pooled[arm.id]!);
    const y = concatLabels(pooled[arm.id]!.map(() => splits.test.y));
    const s = summary.find((x) => x.arm === arm.id)!;
    await writeFile(svg(`reliability-${arm.id}.svg`), await reliabilityDiagram(reliabilityBins(z, y, 15), {
      title: `${arm.label}: ECE ${s.studentEce.mean.toFixed(4)} (test, ${SEEDS} seeds pooled, 15 bins)`, width: 300, height: 240,
    }));
  }
  const balanceRows = summary.filter((s) => s.fracRklDominantPerEpoch).flatMap((s) => s.fracRklDominantPerEpoch!.map((f, e) => ({ epoch: e + 1, fraction: f, arm: s.arm })));
  await writeFile(svg('balance.svg'), await lineChart(balanceRows, { x: 'epoch', y: 'fraction', series: 'arm', title: 'Training samples where reverse KL dominated (mean over seeds)', yTitle: 'fraction of samples' }));
  const eceRows = summary.flatMap((s) => [
    { arm: s.arm, ece: s.studentEce.mean, kind: 'as trained' },
    { arm: s.arm, ece: s.scaledEce.mean, kind: 'after temperature scaling' },
  ]);
  await writeFile(svg('ece.svg'), await barChart(eceRows, { x: 'arm', y: 'ece', color: 'kind', title: `Student test ECE (15 bins, mean of ${SEEDS} seeds)` }));

  const pct = (s: { mean: number; std: number }) => `${(100 * s.mean).toFixed(2)} ± ${(100 * s.std).toFixed(2)}`;
  const num = (s: { mean: number; std: number }) => `${s.mean.toFixed(4)} ± ${s.std.toFixed(4)}`;
  console.log('\n| arm | student acc % | student ECE | student NLL | teacher acc % | T (val) | ECE after TS |');
  console.log('|---|---|---|---|---|---|---|');
  for (const s of summary) {
    console.log(`| ${s.label} | ${pct(s.studentAccuracy)} | ${num(s.studentEce)} | ${num(s.studentNll)} | ${s.teacherAccuracy ? pct(s.teacherAccuracy) : '-'} | ${s.temperature.mean.toFixed(2)} | ${num(s.scaledEce)} |`);
  }
  console.log('\npaired differences (mean ± std over seeds):');
  for (const [k, v] of Object.entries(comparisons)) console.log(`  ${k}: ${v.mean.toFixed(4)} ± ${v.std.toFixed(4)}  [${v.values.map((x) => x.toFixed(4)).join(', ')}]`);
  console.log(`\nwrote ${outDir} in ${seconds.toFixed(0)} s`);
}

await main();
