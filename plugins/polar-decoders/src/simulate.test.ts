import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readReferenceTable } from './reference.js';
import { simulate, sweepToCsv, type SweepConfig } from './simulate.js';

const dir = mkdtempSync(join(tmpdir(), 'polar-sim-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** 95% interval of a FER estimate from fe errors (normal approximation, as in the reference README). */
function interval(fer: number, fe: number): [number, number] {
  const w = 2 / Math.sqrt(Math.max(fe, 1));
  return [fer * (1 - w), fer * (1 + w)];
}

describe('FER agrees with the AFF3CT reference tables (95% intervals overlap)', () => {
  it.each([
    ['sc_n128_k64_5g_sys.csv', true],
    ['sc_n128_k64_5g_nonsys_naive.csv', false],
  ])('%s at its three highest-FER points, ~100 frame errors each', async (file, systematic) => {
    const ref = readReferenceTable(file).slice(0, 3);
    const res = await simulate({
      code: { n: 128, k: 64, systematic },
      decoder: { type: 'sc' },
      ebn0: ref.map((r) => r.ebn0Db),
      frameErrors: 100,
      batchSize: 64,
      seed: 42,
    });
    res.points.forEach((p, i) => {
      const r = ref[i]!;
      expect(p.frameErrors).toBeGreaterThanOrEqual(100);
      const [lo, hi] = interval(p.fer, p.frameErrors);
      const [rlo, rhi] = interval(r.fer, r.frameErrors);
      expect(lo <= rhi && rlo <= hi, `${file} @ ${r.ebn0Db} dB: ours ${p.fer} (${p.frameErrors} fe) vs ${r.fer}`).toBe(true);
    });
  });
});

describe('simulator', () => {
  const config: SweepConfig = {
    code: { n: 128, k: 64, crc: '11-5G' },
    decoder: { type: 'fast-sclf', L: 2, tMax: 6 },
    ebn0: [1, 2],
    frameErrors: 25,
    maxFrames: 2000,
    batchSize: 32,
    trainFrames: 60,
    seed: 7,
  };

  it('gives identical counts with 1 and 2 workers (and in-thread), trainable decoder included', async () => {
    const inline = await simulate(config, { workers: 0 });
    const one = await simulate(config, { workers: 1 });
    const two = await simulate(config, { workers: 2 });
    const strip = (r: typeof one) => r.points.map(({ seconds: _s, ...p }) => p);
    expect(strip(one)).toEqual(strip(two));
    expect(strip(inline)).toEqual(strip(one));
    expect(one.points[0]!.frameErrors).toBeGreaterThanOrEqual(25);
    expect(one.points[0]!.trainedParameter).not.toBeNull();
  });

  it('resumes an interrupted sweep from its state file with the same result', async () => {
    const stateFile = join(dir, 'state.json');
    const cfg: SweepConfig = { ...config, decoder: { type: 'ca-scl', L: 4 }, ebn0: [2.5, 3], frameErrors: 30, maxFrames: 1200 };
    const full = await simulate(cfg);
    const ctrl = new AbortController();
    let batches = 0;
    const first = await simulate(cfg, {
      stateFile,
      signal: ctrl.signal,
      onProgress: () => {
        if (++batches === 3) ctrl.abort();
      },
    });
    expect(first.interrupted).toBe(true);
    const saved = JSON.parse(readFileSync(stateFile, 'utf8')) as { current: { nextBatch: number } };
    expect(saved.current.nextBatch).toBe(3);
    const resumed = await simulate(cfg, { stateFile, workers: 2 });
    expect(resumed.interrupted).toBe(false);
    const strip = (r: typeof full) => r.points.map(({ seconds: _s, ...p }) => p);
    expect(strip(resumed)).toEqual(strip(full));
    await expect(simulate({ ...cfg, seed: 8 }, { stateFile })).rejects.toThrow(/^stateFile: .* belongs to a different sweep configuration/);
  });

  it('writes CSV in the reference columns plus model latency and queries', async () => {
    const res = await simulate({ code: { n: 128, k: 105, crc: '11-5G' }, decoder: { type: 'orbgrand', maxQueries: 2000 }, ebn0: [4], frameErrors: 5, maxFrames: 300, batchSize: 50 });
    const csv = sweepToCsv(res).trim().split('\n');
    expect(csv[0]).toBe('ebn0_db,fer,ber,frames,frame_errors,avg_latency,max_latency,avg_complexity,avg_queries,max_queries,avg_attempts,max_attempts');
    const cols = csv[1]!.split(',');
    expect(cols[0]).toBe('4.00');
    expect(Number(cols[8])).toBeGreaterThan(1);
    expect(Number(cols[9])).toBeLessThanOrEqual(2000);
  });

  it('rejects bad sweep parameters in one line', async () => {
    await expect(simulate({ ...config, ebn0: [] })).rejects.toThrow(/^ebn0: expected a non-empty list/);
    await expect(simulate({ ...config, code: { n: 96, k: 48 } })).rejects.toThrow(/^n: got 96, expected a power of two/);
    await expect(simulate(config, { workers: -1 })).rejects.toThrow(/^workers: got -1, expected an integer in \[0, 256\]/);
  });
});
