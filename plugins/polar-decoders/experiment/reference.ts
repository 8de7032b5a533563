// Experiment 1: every point of the AFF3CT reference tables, ≥ 100 frame errors per point where the
// frame cap allows, with 95% intervals FER·(1 ± 2/√fe) (fe = 0: [0, 3/frames]) checked for overlap.
//   pnpm --filter @tessera/plugin-polar-decoders exec tsx experiment/reference.ts
// List decoders run on the fast tree with exact node enumeration, which makes the same decisions
// as plain SCL (checked in src/decoders.test.ts and experiment/run.ts 'exactness').
import { parseArgs } from 'node:util';
import { readReferenceTable, simulate, type DecoderSpec, type PolarCodeOptions } from '../src/lib.js';
import { ferInterval, writeJson } from './common.js';

const { values } = parseArgs({ options: { workers: { type: 'string' }, 'max-frames': { type: 'string' }, only: { type: 'string' } } });
const workers = Number(values.workers ?? 2);
const maxFrames = Number(values['max-frames'] ?? 400_000);

const tables: { file: string; code: PolarCodeOptions; decoder: DecoderSpec; note: string }[] = [
  { file: 'sc_n128_k64_5g_sys.csv', code: { n: 128, k: 64, systematic: true }, decoder: { type: 'fast-ssc' }, note: 'Fast-SSC (= SC decisions), systematic' },
  { file: 'sc_n128_k64_5g_nonsys_naive.csv', code: { n: 128, k: 64 }, decoder: { type: 'sc' }, note: 'SC, non-systematic' },
  { file: 'sc_n512_k256_5g_sys.csv', code: { n: 512, k: 256, systematic: true }, decoder: { type: 'fast-ssc' }, note: 'Fast-SSC (= SC decisions), systematic' },
  { file: 'sc_n512_k256_5g_nonsys_naive.csv', code: { n: 512, k: 256 }, decoder: { type: 'sc' }, note: 'SC, non-systematic' },
  { file: 'scl4_n512_k256_5g_sys_exactnodes.csv', code: { n: 512, k: 256, systematic: true }, decoder: { type: 'fast-scl', L: 4, nodes: 'exact', crcSelect: false }, note: 'SCL-4 via Fast-SCL exact nodes, no CRC, systematic' },
  { file: 'cascl4_n512_k256_crc16_5g_nonsys_naive.csv', code: { n: 512, k: 256, crc: '16-CCITT' }, decoder: { type: 'fast-scl', L: 4, nodes: 'exact' }, note: 'CA-SCL-4 via Fast-SCL exact nodes + CRC-16 selection, non-systematic' },
];

const out: Record<string, unknown>[] = [];
let overlapping = 0;
let total = 0;
for (const t of tables) {
  if (values.only && !t.file.includes(values.only)) continue;
  const ref = readReferenceTable(t.file);
  const t0 = performance.now();
  const res = await simulate({ code: t.code, decoder: t.decoder, ebn0: ref.map((r) => r.ebn0Db), frameErrors: 100, maxFrames, batchSize: 256, seed: 42 }, { workers });
  const points = res.points.map((p, i) => {
    const r = ref[i]!;
    const ours = ferInterval(p.fer, p.frameErrors, p.frames);
    const theirs = ferInterval(r.fer, r.frameErrors, r.frames);
    const overlap = ours[0] <= theirs[1] && theirs[0] <= ours[1];
    total++;
    if (overlap) overlapping++;
    return {
      ebn0Db: p.ebn0Db, fer: p.fer, frameErrors: p.frameErrors, frames: p.frames, ber: p.ber,
      refFer: r.fer, refFrameErrors: r.frameErrors, refBer: r.ber, ferRatio: +(p.fer / r.fer).toFixed(3), overlap,
    };
  });
  const s = ((performance.now() - t0) / 1000).toFixed(1);
  console.log(`${t.file} (${t.note}) ${s} s`);
  for (const p of points) {
    console.log(`  ${p.ebn0Db.toFixed(2)} dB  ours ${p.fer.toExponential(3)} (${p.frameErrors}/${p.frames})  ref ${p.refFer.toExponential(3)} (${p.refFrameErrors})  ratio ${p.ferRatio}  ${p.overlap ? 'overlap' : 'NO OVERLAP'}`);
  }
  out.push({ file: t.file, note: t.note, code: t.code, decoder: t.decoder, seconds: +s, points });
}
console.log(`${overlapping}/${total} points with overlapping 95% intervals`);
writeJson(values.only ? `reference-${values.only}.json` : 'reference.json', {
  command: 'pnpm --filter @tessera/plugin-polar-decoders exec tsx experiment/reference.ts',
  seed: 42, frameErrorTarget: 100, maxFramesPerPoint: maxFrames, overlapping, total, tables: out,
});
