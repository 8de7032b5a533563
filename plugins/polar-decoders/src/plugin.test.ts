import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkPluginApi, isPlugin, optionsJsonSchema, pluginFromModule, type StepContext } from '@tessera/pipeline';
import { afterAll, describe, expect, it } from 'vitest';
import * as entry from './index.js';
import { polarDecodersPlugin, polarSweep } from './plugin.js';

const dir = mkdtempSync(join(tmpdir(), 'polar-plugin-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('plugin', () => {
  it('is the one plugin the package entry exports, with the polar-sweep procedure', () => {
    expect(isPlugin(polarDecodersPlugin)).toBe(true);
    expect(pluginFromModule(entry as unknown as Record<string, unknown>, 'index.ts')).toBe(polarDecodersPlugin);
    expect(() => checkPluginApi(polarDecodersPlugin)).not.toThrow();
    expect(polarDecodersPlugin.procedures.map((p) => p.name)).toEqual(['polar-sweep']);
    expect(JSON.stringify(optionsJsonSchema(polarSweep.options))).toContain('frameErrors');
  });

  it('validates options: defaults fill in, unknown keys and decoders are rejected', () => {
    const o = polarSweep.options.parse({});
    expect(o).toMatchObject({ n: 128, k: 64, decoder: { type: 'sc' }, frameErrors: 100 });
    expect(polarSweep.options.safeParse({ frameErorrs: 3 }).success).toBe(false);
    expect(polarSweep.options.safeParse({ decoder: { type: 'viterbi' } }).success).toBe(false);
  });

  it('runs a sweep, writes CSV and a plot, and resumes from its workDir', async () => {
    const updates: number[] = [];
    const ctx = {
      stepId: 'polar-sweep', seed: 42, workDir: dir, outDir: dir, signal: new AbortController().signal,
      progress: { update: (done: number) => updates.push(done) },
      logger: { info: () => {}, warn: () => {}, debug: () => {} },
    } as unknown as StepContext;
    const options = polarSweep.options.parse({ ebn0: [1, 2], frameErrors: 20, reference: 'sc_n128_k64_5g_nonsys_naive.csv' });
    const res = await polarSweep.run(ctx, { artefacts: {} }, options);
    const points = res.artefacts.points as { frameErrors: number }[];
    expect(points).toHaveLength(2);
    expect(points[0]!.frameErrors).toBeGreaterThanOrEqual(20);
    expect(readFileSync(join(dir, 'sweep.csv'), 'utf8')).toMatch(/^ebn0_db,fer,ber,frames,frame_errors/);
    expect(res.plots?.fer).toMatch(/^<svg/);
    expect(updates).toEqual([1, 2]);
    const again = await polarSweep.run(ctx, { artefacts: {} }, options);
    expect(again.artefacts.points).toEqual(res.artefacts.points);
  });
});
