import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { definePlugin, defineProcedure, lineChart, type Row } from '@tessera/pipeline';
import { z } from 'zod';
import { readReferenceTable } from './reference.js';
import { BUILTIN_DECODERS, type DecoderSpec } from './registry.js';
import { simulate, sweepToCsv } from './simulate.js';

const VERSION = '0.1.0';

const PolarSweepOptions = z
  .object({
    n: z.number().int().default(128),
    k: z.number().int().default(64),
    crc: z.string().default('none'),
    systematic: z.boolean().default(false),
    construction: z.enum(['5g', 'ga']).default('5g'),
    designSnrDb: z.number().optional(),
    decoder: z
      .object({ type: z.enum(BUILTIN_DECODERS.names() as [string, ...string[]]) })
      .catchall(z.unknown())
      .default({ type: 'sc' }),
    ebn0: z.array(z.number()).min(1).default([1, 2, 3]),
    frameErrors: z.number().int().positive().default(100),
    maxFrames: z.number().int().positive().default(1_000_000),
    maxSeconds: z.number().positive().optional(),
    batchSize: z.number().int().positive().default(128),
    trainFrames: z.number().int().nonnegative().default(300),
    /** Worker threads (results do not depend on this). */
    workers: z.number().int().nonnegative().default(0),
    /** Seed of the frame generator (default: the run's seed). */
    seed: z.number().int().nonnegative().optional(),
    /** A table in the shared reference folder to draw next to the result, e.g. sc_n128_k64_5g_nonsys_naive.csv. */
    reference: z.string().optional(),
  })
  .strict();

/** FER/BER sweep of a polar code with any registered decoder; resumable from the step's workDir. */
export const polarSweep = defineProcedure({
  name: 'polar-sweep',
  description: 'Monte-Carlo FER/BER sweep over Eb/N0 of a (CA-)polar code with one decoder (SC ... Fast-SCLF, GRAND family)',
  options: PolarSweepOptions,
  async run(ctx, _input, o) {
    const result = await simulate(
      {
        code: { n: o.n, k: o.k, crc: o.crc, systematic: o.systematic, construction: o.construction, designSnrDb: o.designSnrDb },
        decoder: o.decoder as unknown as DecoderSpec,
        ebn0: o.ebn0,
        frameErrors: o.frameErrors,
        maxFrames: o.maxFrames,
        maxSeconds: o.maxSeconds,
        batchSize: o.batchSize,
        trainFrames: o.trainFrames,
        seed: o.seed ?? ctx.seed,
      },
      {
        workers: o.workers,
        stateFile: join(ctx.workDir, 'sweep-state.json'),
        signal: ctx.signal,
        onProgress: (p) => {
          if (p.pointDone) {
            ctx.progress.update(p.point + 1, o.ebn0.length, `${p.ebn0Db} dB`);
            ctx.logger.info(`${p.ebn0Db.toFixed(2)} dB: FER ${p.fer.toExponential(3)} (${p.frameErrors}/${p.frames})`);
          }
        },
      },
    );
    const csv = sweepToCsv(result);
    writeFileSync(join(ctx.workDir, 'sweep.csv'), csv);
    const rows: Row[] = result.points.map((p) => ({ ebn0_db: p.ebn0Db, fer: p.fer, series: String(o.decoder.type) }));
    if (o.reference) {
      for (const r of readReferenceTable(o.reference)) rows.push({ ebn0_db: r.ebn0Db, fer: r.fer, series: `AFF3CT ${o.reference}` });
    }
    const plot = await lineChart(rows.filter((r) => (r.fer as number) > 0), {
      x: 'ebn0_db', y: 'fer', series: 'series', yLog: true, xTitle: 'Eb/N0 (dB)', yTitle: 'FER',
      title: `(${o.n},${o.k}) ${o.decoder.type}`,
    });
    return {
      artefacts: { points: result.points, csv, interrupted: result.interrupted, config: result.config },
      plots: { fer: plot },
    };
  },
});

export const polarDecodersPlugin = definePlugin({
  name: '@tessera/plugin-polar-decoders',
  version: VERSION,
  api: '^0.1.0',
  description: 'Polar codes: construction, CRC, SC/SCL/Fast-SSC/Fast-SCL/flip decoders, GRAND family, FER simulator',
  procedures: [polarSweep],
});

export default polarDecodersPlugin;
