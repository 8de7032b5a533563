// Experiments 2 and 3 of the spec, plus long exactness checks (Fast-SSC = SC, Fast-SCL = SCL).
// Writes results/experiments.json; experiment/plot.ts turns it into SVG charts.
//   pnpm --filter @tessera/plugin-polar-decoders experiment            (all, a few minutes on 2 cores)
//   pnpm --filter @tessera/plugin-polar-decoders experiment -- --only exp3
import { parseArgs } from 'node:util';
import {
  AwgnFrameSource, createDecoder, PolarCode, simulate, type DecoderSpec, type PointResult, type StepGrandDecoder, type SweepConfig,
  type TrainableDecoder,
} from '../src/lib.js';
import { pct, snrAtFer, writeJson } from './common.js';

const { values } = parseArgs({ options: { only: { type: 'string' }, workers: { type: 'string' }, quick: { type: 'boolean' } } });
const workers = Number(values.workers ?? 2);
const quick = values.quick ?? false;
const want = (name: string): boolean => values.only === undefined || values.only.split(',').includes(name);
const out: Record<string, unknown> = { command: `pnpm --filter @tessera/plugin-polar-decoders experiment${values.only ? ` -- --only ${values.only}` : ''}`, started: new Date().toISOString() };

async function sweep(label: string, config: SweepConfig): Promise<{ label: string; decoder: DecoderSpec; points: PointResult[] }> {
  const t0 = performance.now();
  const r = await simulate(config, { workers });
  const s = ((performance.now() - t0) / 1000).toFixed(1);
  for (const p of r.points) {
    console.log(`  ${label.padEnd(28)} ${p.ebn0Db.toFixed(2)} dB FER ${p.fer.toExponential(2)} (${p.frameErrors}/${p.frames}) lat ${p.avgLatency.toFixed(1)} max ${p.maxLatency} cx ${p.avgComplexity.toFixed(0)} q ${p.avgQueries.toFixed(1)}/${p.maxQueries} att ${p.avgAttempts.toFixed(3)}`);
  }
  console.log(`  (${s} s)`);
  return { label, decoder: config.decoder, points: r.points };
}

// ---------------------------------------------------------------------------------------------
// Exactness checks on many frames (N = 1024 for Fast-SSC, N = 256 for Fast-SCL).
if (want('exactness')) {
  console.log('exactness: Fast-SSC vs SC (N=1024, K=512), Fast-SCL-exact vs SCL (N=256, K=128)');
  const res: Record<string, unknown> = {};
  {
    const code = new PolarCode({ n: 1024, k: 512, systematic: true });
    const sc = createDecoder(code, { type: 'sc' });
    const fast = createDecoder(code, { type: 'fast-ssc' });
    const src = new AwgnFrameSource(code, 99);
    const msg = new Uint8Array(code.kInfo);
    let frames = 0;
    let differing = 0;
    const perSnr = quick ? 5000 : 40_000;
    for (const [j, ebn0] of [1, 1.5, 2, 2.5, 3].entries()) {
      for (let f = 0; f < perSnr; f++) {
        src.generate(j, f, ebn0);
        sc.decode(src.llr, msg);
        fast.decode(src.llr, msg);
        frames++;
        for (let i = 0; i < code.n; i++) if (sc.codeword[i] !== fast.codeword[i]) { differing++; break; }
      }
    }
    res.fastSscVsSc = { code: code.label, ebn0: [1, 1.5, 2, 2.5, 3], frames, differing };
    console.log(`  Fast-SSC vs SC: ${differing} differing of ${frames}`);
  }
  {
    const code = new PolarCode({ n: 256, k: 128, systematic: true });
    const rows = [];
    for (const L of [2, 4, 8, 16]) {
      const scl = createDecoder(code, { type: 'scl', L });
      const fast = createDecoder(code, { type: 'fast-scl', L, nodes: 'exact', crcSelect: false });
      const src = new AwgnFrameSource(code, 98);
      const msg = new Uint8Array(code.kInfo);
      let frames = 0;
      let differing = 0;
      const perSnr = quick ? 300 : 2000;
      for (const [j, ebn0] of [1, 2, 3].entries()) {
        for (let f = 0; f < perSnr; f++) {
          src.generate(j, f, ebn0);
          scl.decode(src.llr, msg);
          fast.decode(src.llr, msg);
          frames++;
          for (let i = 0; i < code.n; i++) if (scl.codeword[i] !== fast.codeword[i]) { differing++; break; }
        }
      }
      rows.push({ L, frames, differing });
      console.log(`  Fast-SCL-${L} (exact) vs SCL-${L}: ${differing} differing of ${frames}`);
    }
    res.fastSclVsScl = { code: code.label, ebn0: [1, 2, 3], rows };
  }
  out.exactness = res;
}

// ---------------------------------------------------------------------------------------------
// Experiment 2: (512,256+16) SCLF vs Fast-SCLF (same L, T_max), FSCL-32 as the reference.
if (want('exp2')) {
  console.log('exp2: (512,256+CRC-16) 5G nonsys: CA-SCL-4, FSCL-4, SCLF-4, Fast-SCLF-4, FSCL-32');
  const code = { n: 512, k: 256, crc: '16-CCITT' };
  const L = 4;
  const tMax = 50;
  // Online training of α (supervised by the CRC) at 2.0 dB, where CRC failures are frequent enough.
  const trainCode = new PolarCode(code);
  const train = (type: 'fast-sclf' | 'scl-flip'): { alpha: number; trajectory: number[]; frames: number } => {
    const d = createDecoder(trainCode, { type, L, tMax, alpha: 1, learn: true, learningRate: 0.5, window: 8 }) as TrainableDecoder;
    const src = new AwgnFrameSource(trainCode, 4242);
    const msg = new Uint8Array(trainCode.kInfo);
    const trajectory: number[] = [];
    const frames = quick ? 500 : 3000;
    for (let f = 0; f < frames; f++) {
      src.generate(0, f, 2.0);
      d.decode(src.llr, msg);
      if (f % 250 === 249) trajectory.push(+d.parameter.toFixed(4));
    }
    return { alpha: d.parameter, trajectory, frames };
  };
  const tFast = train('fast-sclf');
  const tPlain = train('scl-flip');
  console.log(`  trained α: Fast-SCLF ${tFast.alpha.toFixed(3)}, SCLF ${tPlain.alpha.toFixed(3)} (from 1)`);
  const ebn0 = [2.0, 2.5];
  const base = { code, ebn0, frameErrors: quick ? 20 : 60, maxFrames: quick ? 4000 : 40_000, batchSize: 64, seed: 5 };
  const runs = [];
  runs.push(await sweep('CA-SCL-4 (plain tree)', { ...base, decoder: { type: 'ca-scl', L } }));
  runs.push(await sweep('FSCL-4 (exact nodes)', { ...base, decoder: { type: 'fast-scl', L } }));
  runs.push(await sweep('SCLF-4 trained α', { ...base, decoder: { type: 'scl-flip', L, tMax, alpha: tPlain.alpha, learn: false } }));
  runs.push(await sweep('Fast-SCLF-4 trained α', { ...base, decoder: { type: 'fast-sclf', L, tMax, alpha: tFast.alpha, learn: false } }));
  runs.push(await sweep('Fast-SCLF-4 α=1 (untrained)', { ...base, decoder: { type: 'fast-sclf', L, tMax, alpha: 1, learn: false } }));
  runs.push(await sweep('FSCL-32 (exact nodes, CRC)', { ...base, decoder: { type: 'fast-scl', L: 32 } }));
  const by = (label: string) => runs.find((r) => r.label === label)!;
  const at = (label: string, e: number) => by(label).points.find((p) => p.ebn0Db === e)!;
  const compare = ebn0.map((e) => {
    const sclf = at('SCLF-4 trained α', e);
    const fsclf = at('Fast-SCLF-4 trained α', e);
    const untrained = at('Fast-SCLF-4 α=1 (untrained)', e);
    const fscl4 = at('FSCL-4 (exact nodes)', e);
    const fscl32 = at('FSCL-32 (exact nodes, CRC)', e);
    return {
      ebn0Db: e,
      fer: { sclf: sclf.fer, fastSclf: fsclf.fer, fscl4: fscl4.fer, fscl32: fscl32.fer },
      frameErrors: { sclf: sclf.frameErrors, fastSclf: fsclf.frameErrors, fscl4: fscl4.frameErrors, fscl32: fscl32.frameErrors },
      fastSclfLatencyReductionVsSclfPct: pct(1 - fsclf.avgLatency / sclf.avgLatency),
      fastSclfComplexityOverheadVsFscl4Pct: pct(fsclf.avgComplexity / fscl4.avgComplexity - 1),
      fastSclfComplexityReductionVsFscl32Pct: pct(1 - fsclf.avgComplexity / fscl32.avgComplexity),
      fastSclfLatencyReductionVsFscl32Pct: pct(1 - fsclf.avgLatency / fscl32.avgLatency),
      avgAttempts: { trained: fsclf.avgAttempts, untrained: untrained.avgAttempts, sclf: sclf.avgAttempts },
      worstLatency: { sclf: sclf.maxLatency, fastSclf: fsclf.maxLatency, fscl32: fscl32.maxLatency },
    };
  });
  const target = 1e-3;
  const gap = (() => {
    const a = snrAtFer(by('Fast-SCLF-4 trained α').points, target);
    const b = snrAtFer(by('FSCL-32 (exact nodes, CRC)').points, target);
    return a !== null && b !== null ? +(a - b).toFixed(3) : null;
  })();
  out.exp2 = {
    code: '(512,256+16) CRC-16 0x1021, 5G, non-systematic, R = 256/512 in Eb/N0',
    L, tMax, training: { fastSclf: tFast, sclf: tPlain, ebn0Db: 2.0, learningRate: 0.5, window: 8 },
    runs, compare, snrGapVsFscl32AtFer1e3Db: gap,
    paper: {
      fastSclfLatencyReductionVsSclfPct: 73.4, atFer: 1e-4, maxComplexityOverheadPct: 36.2,
      fastSclf4VsFscl32: { complexityReductionPct: 89.1, latencyReductionPct: 43.7, snrLossDb: 0.07 },
    },
  };
  console.log(JSON.stringify(compare, null, 1));
  console.log(`  SNR gap Fast-SCLF-4 vs FSCL-32 at FER 1e-3: ${gap} dB`);
}

// ---------------------------------------------------------------------------------------------
// Experiment 3: CA-polar (128,105+11): GRAND (hard), ORBGRAND, 1-line ORBGRAND, step-GRAND, CA-SCL-8.
if (want('exp3')) {
  console.log('exp3: CA-polar (128,105+11) CRC-11 5G nonsys');
  const code = { n: 128, k: 105, crc: '11-5G' };
  const ebn0 = [4, 5, 6];
  const budget = 1 << 16;
  const P = 32;
  const base = { code, ebn0, frameErrors: quick ? 20 : 60, maxFrames: quick ? 3000 : 30_000, batchSize: 100, seed: 6 };
  const runs = [];
  runs.push(await sweep('CA-SCL-8', { ...base, decoder: { type: 'ca-scl', L: 8 } }));
  runs.push(await sweep('GRAND (hard, w<=3)', { ...base, decoder: { type: 'grand', maxWeight: 3, maxQueries: budget, checkers: P } }));
  runs.push(await sweep('ORBGRAND basic', { ...base, decoder: { type: 'orbgrand', maxQueries: budget, checkers: P } }));
  runs.push(await sweep('ORBGRAND 1-line', { ...base, decoder: { type: 'orbgrand', variant: '1-line', maxQueries: budget, checkers: P } }));
  const designs: { label: string; levels: number; maxSteps: number; worstQueries: number; worstCycles: number }[] = [];
  for (const [levels, maxSteps] of [[16, 8], [16, 12], [32, 16]] as const) {
    const label = `step-GRAND Q=${levels} S=${maxSteps}`;
    const d = createDecoder(new PolarCode(code), { type: 'step-grand', levels, maxSteps, maxQueries: budget, checkers: P }) as StepGrandDecoder;
    designs.push({ label, levels, maxSteps, worstQueries: d.worstCase().queries, worstCycles: d.worstCase().cycles });
    runs.push(await sweep(label, { ...base, decoder: { type: 'step-grand', levels, maxSteps, maxQueries: budget, checkers: P } }));
  }
  // ORBGRAND whose budget equals the first step-GRAND design's worst case: same worst-case cycles.
  const matched = designs[0]!.worstQueries;
  runs.push(await sweep(`ORBGRAND basic, budget ${matched}`, { ...base, decoder: { type: 'orbgrand', maxQueries: matched, checkers: P } }));
  const orb = runs.find((r) => r.label === 'ORBGRAND basic')!;
  const steps = runs.filter((r) => r.label.startsWith('step-GRAND'));
  const worstCase = steps.map((s) => ({
    label: s.label,
    perSnr: s.points.map((p, i) => ({
      ebn0Db: p.ebn0Db,
      fer: p.fer, orbFer: orb.points[i]!.fer,
      worstCycles: p.maxLatency, orbWorstCycles: orb.points[i]!.maxLatency,
      worstCycleRatioOrbOverStep: +(orb.points[i]!.maxLatency / Math.max(1, p.maxLatency)).toFixed(2),
      avgCycles: +p.avgLatency.toFixed(2), orbAvgCycles: +orb.points[i]!.avgLatency.toFixed(2),
      avgQueries: +p.avgQueries.toFixed(1), orbAvgQueries: +orb.points[i]!.avgQueries.toFixed(1),
    })),
  }));
  out.exp3 = {
    code: '(128,105+11) CRC-11 0x621, 5G, non-systematic, R = 105/128 in Eb/N0 (0.433 dB above the R = 116/128 convention)',
    budgetQueries: budget, checkers: P, orbgrandWorstCycles: Math.ceil(budget / P), stepGrandDesigns: designs, runs, worstCase,
    paper: { stepGrandWorstCaseLatencyFractionOfOrbgrand: 1 / 6.8, throughputGbps: 47.7, atFer: 1e-7 },
  };
  console.log(JSON.stringify(worstCase, null, 1));
}

out.finished = new Date().toISOString();
const name = values.only ? `experiments-${values.only.replace(/,/g, '-')}.json` : 'experiments.json';
console.log(`wrote ${writeJson(name, out)}`);
