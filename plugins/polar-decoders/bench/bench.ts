// Decoder-only throughput (information bits per second, one thread) on N = 1024, K = 512,
// Eb/N0 = 2.5 dB, next to AFF3CT's single-core figures from the shared reference README.
// The decoders are the ones the simulator runs (createDecoder); frames are generated beforehand.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AwgnFrameSource, createDecoder, PolarCode, type DecoderSpec } from '../src/lib.js';

const here = dirname(fileURLToPath(import.meta.url));
const seconds = Number(process.env.BENCH_SECONDS ?? 2);

interface Case {
  label: string;
  spec: DecoderSpec;
  crc: string;
  aff3ctMbps: number;
  aff3ctLabel: string;
}

const cases: Case[] = [
  { label: 'SC', spec: { type: 'sc' }, crc: 'none', aff3ctMbps: 23.9, aff3ctLabel: 'SC plain recursive' },
  { label: 'Fast-SSC', spec: { type: 'fast-ssc' }, crc: 'none', aff3ctMbps: 108.7, aff3ctLabel: 'Fast-SSC scalar' },
  { label: 'Fast-SCL-8 (chase nodes)', spec: { type: 'fast-scl', L: 8, nodes: 'chase' }, crc: 'none', aff3ctMbps: 5.3, aff3ctLabel: 'Fast-SCL-8' },
  { label: 'Fast-SCL-8 (exact nodes)', spec: { type: 'fast-scl', L: 8, nodes: 'exact' }, crc: 'none', aff3ctMbps: 5.3, aff3ctLabel: 'Fast-SCL-8' },
  { label: 'SCL-8 (plain tree)', spec: { type: 'scl', L: 8 }, crc: 'none', aff3ctMbps: 0.5, aff3ctLabel: 'SCL-8 plain' },
  { label: 'CA-SCL-32 (fast tree, chase nodes, CRC-16)', spec: { type: 'fast-scl', L: 32, nodes: 'chase' }, crc: '16-CCITT', aff3ctMbps: 1.1, aff3ctLabel: 'CA-SCL-32 (CRC-16)' },
  { label: 'CA-SCL-32 (plain tree, CRC-16)', spec: { type: 'ca-scl', L: 32 }, crc: '16-CCITT', aff3ctMbps: 1.1, aff3ctLabel: 'CA-SCL-32 (CRC-16)' },
];

// BENCH_ONLY=substring runs only the matching cases (results/bench.json is then not rewritten).
const only = process.env.BENCH_ONLY;
const selected = only ? cases.filter((c) => c.label.toLowerCase().includes(only.toLowerCase())) : cases;

// Each case runs in its own process (as a simulator worker holds one decoder), so that JIT feedback
// from other decoders (e.g. other instances' WebAssembly kernels at the same call sites) does not
// carry over; BENCH_SINGLE_PROCESS=1 runs every case in this process instead.
const singleProcess = process.env.BENCH_SINGLE_PROCESS === '1';
const caseIndex = process.env.BENCH_CASE;

const FRAMES = 256;
const loadAverageAtStart = os.loadavg();
const results = [];
if (caseIndex === undefined && !singleProcess) {
  for (const c of selected) {
    const child = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], {
      env: { ...process.env, BENCH_CASE: String(cases.indexOf(c)) },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const lines = child.stdout.trim().split('\n');
    const row = JSON.parse(lines[lines.length - 1]!);
    results.push(row);
    console.log(lines.slice(0, -1).join('\n'));
  }
}
for (const c of caseIndex !== undefined ? [cases[Number(caseIndex)]!] : singleProcess ? selected : []) {
  const crcLen = c.crc === 'none' ? 0 : 16;
  const code = new PolarCode({ n: 1024, k: 512 - crcLen, crc: c.crc, systematic: true });
  const src = new AwgnFrameSource(code, 2024);
  const llrs: Float32Array[] = [];
  const msgs: Uint8Array[] = [];
  for (let f = 0; f < FRAMES; f++) {
    src.generate(0, f, 2.5);
    llrs.push(src.llr.slice());
    msgs.push(src.message.slice());
  }
  const d = createDecoder(code, c.spec);
  const out = new Uint8Array(code.kInfo);
  // Warm-up (JIT), then timed loop of whole passes over the frame set.
  for (let f = 0; f < FRAMES; f++) d.decode(llrs[f]!, out);
  let decoded = 0;
  let errors = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < seconds * 1000) {
    for (let f = 0; f < FRAMES; f++) {
      d.decode(llrs[f]!, out);
      const m = msgs[f]!;
      for (let i = 0; i < out.length; i++) if (out[i] !== m[i]) { errors++; break; }
    }
    decoded += FRAMES;
    t = performance.now();
  }
  const cpu = process.cpuUsage(cpu0);
  const sec = (t - t0) / 1000;
  const cpuSec = (cpu.user + cpu.system) / 1e6;
  const mbps = (decoded * code.kInfo) / sec / 1e6;
  const cpuMbps = (decoded * code.kInfo) / cpuSec / 1e6;
  const row = {
    decoder: c.label, name: d.name, code: code.label, frames: decoded, wallSeconds: +sec.toFixed(3), cpuSeconds: +cpuSec.toFixed(3),
    wallInfoMbps: +mbps.toFixed(3), cpuInfoMbps: +cpuMbps.toFixed(3), cpuUsPerFrame: +((cpuSec / decoded) * 1e6).toFixed(2),
    fer: +(errors / decoded).toExponential(3),
    aff3ct: c.aff3ctLabel, aff3ctMbps: c.aff3ctMbps, ratioWall: +(mbps / c.aff3ctMbps).toFixed(3), ratioCpu: +(cpuMbps / c.aff3ctMbps).toFixed(3),
    goalMetCpu: cpuMbps >= c.aff3ctMbps / 2,
  };
  results.push(row);
  if (caseIndex !== undefined) {
    console.log(`${c.label.padEnd(44)} wall ${mbps.toFixed(2).padStart(7)} Mb/s  cpu ${cpuMbps.toFixed(2).padStart(7)} Mb/s (${row.cpuUsPerFrame} us/frame)  AFF3CT ${c.aff3ctMbps}  ratio(cpu) ${row.ratioCpu}`);
    console.log(JSON.stringify(row));
    process.exit(0);
  }
  console.log(`${c.label.padEnd(44)} wall ${mbps.toFixed(2).padStart(7)} Mb/s  cpu ${cpuMbps.toFixed(2).padStart(7)} Mb/s (${row.cpuUsPerFrame} us/frame)  AFF3CT ${c.aff3ctMbps}  ratio(cpu) ${row.ratioCpu}`);
}
if (only) process.exit(0);
mkdirSync(join(here, '..', 'results'), { recursive: true });
writeFileSync(
  join(here, '..', 'results', 'bench.json'),
  JSON.stringify({
    command: 'pnpm --filter @tessera/plugin-polar-decoders bench', node: process.version, ebn0Db: 2.5, secondsPerCase: seconds,
    processPerCase: !singleProcess,
    note: 'wall = elapsed time; cpu = this process\'s CPU time (user+system), less sensitive to other load on a shared machine',
    loadAverageAtStart, loadAverageAtEnd: os.loadavg(), results,
  }, null, 2) + '\n',
);
