import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { affinePlugin } from './__fixtures__/affine-plugin.js';
import { createRunContainer } from './container.js';
import { runPipeline, type RunEvent } from './runner.js';
import { TOKENS } from './tokens.js';

const dirs: string[] = [];
async function tmp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'tessera-run-'));
  dirs.push(d);
  return d;
}
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

const config = (overrides: Record<string, unknown> = {}) => ({
  name: 'affine',
  seed: 7,
  model: { builder: 'scaler', config: { width: 6 } },
  data: { dataset: 'ramp', n: 10 },
  steps: [
    { use: 'scale-weights', options: { factor: 3 } },
    { id: 'm1', use: 'measure', options: { label: 'after-scale' } },
  ],
  ...overrides,
});

describe('runPipeline', () => {
  it('runs steps in order, then serves every step from the cache with identical numbers', async () => {
    const dir = await tmp();
    const { plugin, runs } = affinePlugin();
    const first = await runPipeline(config(), { configDir: dir, plugins: [plugin] });
    expect(first.status).toBe('complete');
    expect(runs).toMatchObject({ scale: 1, measure: 1 });
    const m1 = first.report.steps[1]!;
    expect(m1.artefacts).toMatchObject({ label: 'after-scale', dataSum: 45 });
    expect(first.report.steps.map((s) => s.cached)).toEqual([false, false]);

    const events: RunEvent[] = [];
    const second = await runPipeline(config(), { configDir: dir, plugins: [plugin], onEvent: (e) => events.push(e) });
    expect(runs).toMatchObject({ scale: 1, measure: 1 });
    expect(second.report.steps.map((s) => s.cached)).toEqual([true, true]);
    expect(second.report.steps.map((s) => s.artefacts)).toEqual(first.report.steps.map((s) => s.artefacts));
    expect(second.report.steps.map((s) => s.graphHash)).toEqual(first.report.steps.map((s) => s.graphHash));
    expect(events.filter((e) => e.type === 'step-done').map((e) => (e as { cached: boolean }).cached)).toEqual([true, true]);
    // The step's files come back from the cache too.
    expect(await readFile(join(dir, 'runs/affine/steps/m1/note.txt'), 'utf8')).toBe('after-scale');
    expect(await readFile(join(dir, 'runs/affine/steps/m1/plots/weights.svg'), 'utf8')).toContain('<text>6</text>');
    expect((await stat(join(dir, 'runs/affine/affine.onnx'))).size).toBeGreaterThan(0);
  });

  it('reruns only what changed: a new option misses for that step and everything after it', async () => {
    const dir = await tmp();
    const { plugin, runs } = affinePlugin();
    await runPipeline(config(), { configDir: dir, plugins: [plugin] });
    const changed = config({ steps: [{ use: 'scale-weights', options: { factor: 3 } }, { id: 'm1', use: 'measure', options: { label: 'other' } }] });
    const r = await runPipeline(changed, { configDir: dir, plugins: [plugin] });
    expect(r.report.steps.map((s) => s.cached)).toEqual([true, false]);
    expect(runs).toMatchObject({ scale: 1, measure: 2 });
    const scaled = config({ steps: [{ use: 'scale-weights', options: { factor: 4 } }, { id: 'm1', use: 'measure', options: { label: 'other' } }] });
    const r2 = await runPipeline(scaled, { configDir: dir, plugins: [plugin] });
    expect(r2.report.steps.map((s) => s.cached)).toEqual([false, false]);
    // factor 4 vs 3: the weights' sum scales by 4/3.
    expect((r2.report.steps[1]!.artefacts.weightSum as number) / (r.report.steps[1]!.artefacts.weightSum as number)).toBeCloseTo(4 / 3, 5);
  });

  it('a new plugin version or seed misses the cache', async () => {
    const dir = await tmp();
    const a = affinePlugin();
    await runPipeline(config(), { configDir: dir, plugins: [a.plugin] });
    const b = affinePlugin({ version: '1.0.1' });
    const r = await runPipeline(config(), { configDir: dir, plugins: [b.plugin] });
    expect(r.report.steps.map((s) => s.cached)).toEqual([false, false]);
    const r2 = await runPipeline(config({ seed: 8 }), { configDir: dir, plugins: [b.plugin] });
    expect(r2.report.steps.map((s) => s.cached)).toEqual([false, false]);
  });

  it('cancellation keeps the finished steps cached and leaves no partial entry', async () => {
    const dir = await tmp();
    const { plugin, runs } = affinePlugin();
    const ac = new AbortController();
    const cfg = config({ steps: [{ use: 'scale-weights' }, { use: 'slow', options: { ticks: 50 } }, { use: 'measure' }] });
    const r = await runPipeline(cfg, {
      configDir: dir,
      plugins: [plugin],
      signal: ac.signal,
      onEvent: (e) => {
        if (e.type === 'step-progress' && e.done === 3) ac.abort();
      },
    });
    expect(r.status).toBe('cancelled');
    expect(r.report.steps.map((s) => s.id)).toEqual(['scale-weights']);
    const entries = await readdir(join(dir, 'runs/affine/.cache'));
    expect(entries.filter((e) => e.startsWith('.tmp'))).toEqual([]);
    expect(entries).toHaveLength(1);
    const again = await runPipeline(cfg, { configDir: dir, plugins: [plugin] });
    expect(again.report.steps.map((s) => s.cached)).toEqual([true, false, false]);
    expect(runs).toMatchObject({ scale: 1, slow: 2, measure: 1 });
    const report = JSON.parse(await readFile(join(dir, 'runs/affine/report.json'), 'utf8'));
    expect(report.status).toBe('complete');
  });

  it('gives each run its own container: plugins of one run are invisible to another', () => {
    const a = createRunContainer({ plugins: [affinePlugin().plugin], seed: 1, logger: console, progress: { update() {} } });
    const b = createRunContainer({ plugins: [], seed: 1, logger: console, progress: { update() {} } });
    expect([...a.container.resolve<Map<string, unknown>>(TOKENS.Steps).keys()].sort()).toEqual(['make-model', 'measure', 'scale-weights', 'slow']);
    expect(b.container.resolve<Map<string, unknown>>(TOKENS.Steps).size).toBe(0);
    expect(a.registry.has('Scale', 'tessera.test')).toBe(true);
    // Every service of a run is reachable by its explicit token.
    for (const t of [TOKENS.Executor, TOKENS.Trainer, TOKENS.Datasets, TOKENS.Targets, TOKENS.Models, TOKENS.Formats, TOKENS.OpRegistry, TOKENS.Rng, TOKENS.Logger, TOKENS.Progress, TOKENS.Plugins]) {
      expect(a.container.isRegistered(t)).toBe(true);
    }
    expect(a.container.resolve(TOKENS.OpRegistry)).toBe(a.registry);
    expect(b.registry.has('Scale', 'tessera.test')).toBe(false);
  });

  it('model: { from } takes the graph a procedure builds; a pass before it has no graph and says so', async () => {
    const dir = await tmp();
    const { plugin } = affinePlugin();
    const r = await runPipeline(config({ model: { from: 'build' }, steps: [{ id: 'build', use: 'make-model', options: { width: 3 } }, { use: 'scale-weights', options: { factor: 2 } }, { use: 'measure' }] }), { configDir: dir, plugins: [plugin] });
    expect(r.report.model.source).toBe("from step 'build'");
    expect(r.report.steps[2]!.artefacts.weightSum).toBe(12);
    await expect(runPipeline(config({ model: { from: 'build' }, steps: [{ use: 'scale-weights' }, { id: 'build', use: 'make-model' }] }), { configDir: dir, plugins: [plugin] })).rejects.toThrow(
      "steps[0] 'scale-weights' (scale-weights from @tessera/plugin-affine-fixture): this pass needs a graph, but the model comes from step 'build' and no earlier step produced one",
    );
  });

  it('a failing step names the step and its plugin, and the report says failed', async () => {
    const dir = await tmp();
    const { plugin } = affinePlugin();
    const cfg = config({ data: undefined });
    await expect(runPipeline(cfg, { configDir: dir, plugins: [plugin] })).rejects.toThrow(
      "steps[1] 'm1' (measure from @tessera/plugin-affine-fixture): step 'm1' needs data, but the pipeline has no 'data' block",
    );
    const report = JSON.parse(await readFile(join(dir, 'runs/affine/report.json'), 'utf8'));
    expect(report.status).toBe('failed');
  });
});

describe('cache keys', () => {
  it('a pass does not depend on the artefacts before it: inserting a procedure earlier keeps the pass cached', async () => {
    const dir = await tmp();
    const { plugin, runs } = affinePlugin();
    await runPipeline(config({ steps: [{ use: 'scale-weights' }, { use: 'measure' }] }), { configDir: dir, plugins: [plugin] });
    const r = await runPipeline(config({ steps: [{ id: 'm0', use: 'measure', options: { label: 'first' } }, { use: 'scale-weights' }, { use: 'measure' }] }), { configDir: dir, plugins: [plugin] });
    // m0 is new; the pass still hits (same graph, same options); the last measure sees new artefacts, so it reruns.
    expect(r.report.steps.map((s) => [s.id, s.cached])).toEqual([['m0', false], ['scale-weights', true], ['measure', false]]);
    expect(runs).toMatchObject({ scale: 1, measure: 3 });
  });
});

describe('StepCache', () => {
  it('sweeps temporary entries of dead processes only', async () => {
    const dir = await tmp();
    const { StepCache } = await import('./cache.js');
    const { mkdir } = await import('node:fs/promises');
    const cache = new StepCache(dir);
    await mkdir(join(dir, '.tmp-abc-999999999-1'), { recursive: true });
    await mkdir(join(dir, `.tmp-abc-${process.pid}-2`), { recursive: true });
    await cache.sweep();
    expect((await readdir(dir)).sort()).toEqual([`.tmp-abc-${process.pid}-2`]);
  });
});
