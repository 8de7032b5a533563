import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildDeepLabV3Plus } from '@tessera/models';
import { checkPluginApi, corePlugin, readPipelineFile, runPipeline, validatePipeline } from '@tessera/pipeline';
import { genomeKey, nsga2, toyObjectives, toySpace, type Genome } from '@tessera/search';
import { afterAll, describe, expect, it } from 'vitest';
import { segmentationSplits } from './data.js';
import { fmasSearch, parseFmasOptions, type FmasResult } from './fmas.js';
import plugin from './index.js';
import { readSearchLog, resumableNsga2, type EvaluateBatch } from './search.js';
import { deeplabSubnetSpace } from './space.js';
import { kendallTau } from './stats.js';

const dir = mkdtempSync(join(tmpdir(), 'fmas-test-'));
const example = new URL('../../../examples/nas-fmas/pipeline.json', import.meta.url).pathname;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const toyEval: EvaluateBatch<{ n: number }> = async (genomes, onResult) => genomes.map((g, i) => {
  const o = { objectives: [...toyObjectives(g)], wallMs: 0, extra: { n: g.reduce((a, b) => a + b, 0) } };
  onResult(i, o);
  return o;
});

describe('resumableNsga2', () => {
  it('returns exactly the trials of @tessera/search nsga2 (same seed, population, budget), with each evaluation\'s extra fields', async () => {
    const ref = await nsga2(toySpace, (g) => toyObjectives(g), { evaluations: 120, population: 16, seed: 3 });
    const got = await resumableNsga2(toySpace, toyEval, { evaluations: 120, population: 16, seed: 3 });
    expect(got.trials.map((t) => [t.genome, t.value, t.round])).toEqual(ref.trials.map((t) => [t.genome, t.value, t.round]));
    expect(got.front.map((t) => t.id)).toEqual(ref.front.map((t) => t.id));
    expect(got.trials.every((t) => t.extra.n === t.genome.reduce((x, y) => x + y, 0))).toBe(true);
  });

  it('logs every evaluation and resumes after a kill without evaluating anything twice', async () => {
    const whole = await resumableNsga2(toySpace, toyEval, { evaluations: 96, population: 16, seed: 5, log: join(dir, 'toy-whole.jsonl') });
    const log = join(dir, 'toy-resume.jsonl');
    const ac = new AbortController();
    const stopped = await resumableNsga2(toySpace, async (g, on) => { const r = await toyEval(g, on); ac.abort(); return r; }, { evaluations: 96, population: 16, seed: 5, log, signal: ac.signal });
    expect(stopped.interrupted).toBe(true);
    expect(stopped.evaluatedNow).toBe(16);
    // A kill in the middle of the next batch: 7 more results were written, the 8th line torn.
    const resumeOnce = await resumableNsga2(toySpace, async (g, on) => toyEval(g.slice(0, 7), on).then(() => { throw new Error('killed'); }), { evaluations: 96, population: 16, seed: 5, log })
      .catch((e: Error) => e.message);
    expect(resumeOnce).toBe('killed');
    writeFileSync(log, `${readFileSync(log, 'utf8')}{"id":23,"genome":[1,`);
    const evaluatedInResume: string[] = [];
    const resumed = await resumableNsga2(toySpace, async (g, on) => { evaluatedInResume.push(...g.map(genomeKey)); return toyEval(g, on); }, { evaluations: 96, population: 16, seed: 5, log });
    expect(resumed.evaluatedNow).toBe(96 - 23);
    expect(evaluatedInResume).toHaveLength(73);
    expect(resumed.trials.map((t) => [t.genome, t.value])).toEqual(whole.trials.map((t) => [t.genome, t.value]));
    const records = readSearchLog<{ n: number }>(log);
    expect(records).toHaveLength(96);
    expect(new Set(records.map((r) => genomeKey(r.genome))).size).toBe(96);
    expect(records[0]).toMatchObject({ id: 0, round: 0, genome: expect.any(Array), objectives: expect.any(Array), wallMs: expect.any(Number), extra: { n: expect.any(Number) } });
    await expect(resumableNsga2(toySpace, toyEval, { evaluations: 96, population: 16, seed: 6, log })).rejects.toThrow(/written by a different search/);
  });
});

describe('fmasSearch', () => {
  const supernet = buildDeepLabV3Plus({ imageSize: 16 }, { seed: 1 });
  const space = deeplabSubnetSpace(supernet);
  const data = segmentationSplits({ size: 16, train: 64, val: 40, test: 24, seed: 1 });
  const otherTest = segmentationSplits({ size: 16, train: 8, val: 8, test: 24, seed: 2 }).test;
  const base = { population: 6, generations: 2, valSubsetFraction: 0.25, finetuneEpochs: 0, maxFinetune: 3, seed: 4 };
  const searchPart = (r: FmasResult) => r.evaluated.map((c) => [c.genome, c.objectives, c.subsetMIoU, c.costs]);
  let inline: FmasResult;

  it('scores candidates on the search subset only: the test split changes nothing in the search', async () => {
    inline = await fmasSearch(supernet, space, data, { ...base, workers: 0 });
    const other = await fmasSearch(supernet, space, { ...data, test: otherTest }, { ...base, workers: 0 });
    expect(searchPart(other)).toEqual(searchPart(inline));
    expect(other.finalFront.map((c) => c.testMIoU)).not.toEqual(inline.finalFront.map((c) => c.testMIoU));
    expect(inline.searchSubset.size).toBe(10);
    expect(inline.searchSubset.indices.every((i) => i >= 0 && i < 40)).toBe(true);
    expect(inline.searchSubset.name).toContain(data.val.name);
    expect(inline.evaluated).toHaveLength(12);
    expect(inline.searchFront.length).toBeGreaterThanOrEqual(1);
    // Every candidate is smaller than or equal to the supernet, and mIoU is a fraction.
    for (const c of inline.evaluated) {
      expect(c.costs.flops).toBeLessThanOrEqual(inline.supernet.costs.flops);
      expect(c.subsetMIoU).toBeGreaterThanOrEqual(0);
      expect(c.subsetMIoU).toBeLessThanOrEqual(1);
    }
  });

  it('gives identical results on 2 worker threads, also when interrupted and resumed from its log', async () => {
    const log = join(dir, 'fmas.jsonl');
    const ac = new AbortController();
    await expect(fmasSearch(supernet, space, data, { ...base, workers: 2, log }, { signal: ac.signal, onProgress: () => ac.abort() })).rejects.toThrow(/interrupted after 6 evaluations; rerun with the same log/);
    expect(readSearchLog(log)).toHaveLength(6);
    const resumed = await fmasSearch(supernet, space, data, { ...base, workers: 2, log });
    expect(resumed.time.evaluatedNow).toBe(6);
    expect(searchPart(resumed)).toEqual(searchPart(inline));
    expect(resumed.finalFront.map((c) => c.testMIoU)).toEqual(inline.finalFront.map((c) => c.testMIoU));
    const records = readSearchLog(log);
    expect(records).toHaveLength(12);
    expect(new Set(records.map((r) => genomeKey(r.genome as Genome))).size).toBe(12);
  });

  it('fine-tunes only the final front and reports hypervolume, Kendall tau and the time saved', async () => {
    const r = await fmasSearch(supernet, space, data, { ...base, finetuneEpochs: 1, maxFinetune: 2, batchSize: 16, workers: 0 });
    expect(r.finalFront.length).toBe(Math.min(2, r.searchFront.length));
    for (const f of r.finalFront) {
      expect(r.searchFront.map((c) => c.id)).toContain(f.id);
      expect(f.finetuneMs).toBeGreaterThan(0);
    }
    expect(r.finalFront.some((f) => f.nonDominated)).toBe(true);
    expect(r.hypervolume.search).toBeGreaterThan(0);
    expect(r.time.ablationEstimateMs).toBeGreaterThan(r.time.fmasMs);
    expect(r.time.savedMs).toBeCloseTo(r.time.ablationEstimateMs - r.time.fmasMs, 6);
    expect(Number.isNaN(r.rankCorrelation) || Math.abs(r.rankCorrelation) <= 1).toBe(true);
  });

  it('searches with the gap8-latency objective: every candidate costed on gap8-like, logged and labelled as an estimate', async () => {
    const log = join(dir, 'fmas-gap8.jsonl');
    const r = await fmasSearch(supernet, space, data, { ...base, costObjective: 'gap8-latency', workers: 0, log });
    expect(r.costObjective).toEqual({ name: 'gap8-like latency (estimate)', unit: 'us', estimated: true });
    expect(r.evaluated).toHaveLength(12);
    expect(r.supernet.costs.gap8LatencyUs).toBeGreaterThan(0);
    for (const c of r.evaluated) {
      // The second objective IS the gap8-like latency; FLOPs and parameters are still recorded.
      expect(c.costs.gap8LatencyUs).toBeGreaterThan(0);
      expect(c.objectives[1]).toBe(c.costs.gap8LatencyUs);
      expect(c.costs.gap8LatencyUs!).toBeLessThanOrEqual(r.supernet.costs.gap8LatencyUs!);
      expect(c.costs.flops).toBeGreaterThan(0);
    }
    // Same search as the FLOPs one would explore, different ranking: the subset mIoUs of a genome agree.
    const byKey = new Map(inline.evaluated.map((c) => [genomeKey(c.genome), c.subsetMIoU]));
    const shared = r.evaluated.filter((c) => byKey.has(genomeKey(c.genome)));
    expect(shared.length).toBeGreaterThanOrEqual(6); // same seed: the same random first generation
    for (const c of shared) expect(c.subsetMIoU).toBe(byKey.get(genomeKey(c.genome)));
    const lines = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const header = JSON.parse(lines[0].fingerprint);
    expect(header.fingerprint.costObjective).toBe('gap8-latency');
    expect(header.fingerprint.objective).toEqual({ name: 'gap8-like latency (estimate)', unit: 'us', estimated: true });
    const records = readSearchLog<{ costs: { gap8LatencyUs: number } }>(log);
    expect(records).toHaveLength(12);
    for (const rec of records) expect(rec.objectives[1]).toBe(rec.extra.costs.gap8LatencyUs);
  });

  it('rejects bad options in one line naming each field', async () => {
    const msg = (() => {
      try {
        parseFmasOptions({ population: 1, costObjective: 'energy', colour: 'red' });
      } catch (e) {
        return (e as Error).message;
      }
      return '';
    })();
    expect(msg).not.toContain('\n');
    expect(msg).toMatch(/^fmas-search: /);
    expect(msg).toContain('population');
    expect(msg).toContain('costObjective: expected one of "flops", "params", "gap8-latency", "cpu-latency"');
    expect(msg).toContain('colour: unknown key');
    await expect(fmasSearch(supernet, space, data, { valSubsetFraction: 2 })).rejects.toThrow(/^fmas-search: valSubsetFraction/);
  });
});

describe('kendallTau', () => {
  it('is 1, -1 and the tau-b value on hand-made lists', () => {
    expect(kendallTau([1, 2, 3, 4], [10, 20, 30, 40])).toBe(1);
    expect(kendallTau([1, 2, 3, 4], [4, 3, 2, 1])).toBe(-1);
    // pairs: (1,2)+ (1,3)+ (1,4)+ (2,3)- (2,4)+ (3,4)+ -> (5 - 1) / 6
    expect(kendallTau([1, 2, 3, 4], [1, 3, 2, 4])).toBeCloseTo(4 / 6, 12);
  });
});

describe('plugin', () => {
  it('loads; examples/nas-fmas/pipeline.json validates and runs end to end when shrunk', async () => {
    checkPluginApi(plugin);
    expect(plugin.passes.map((p) => p.name)).toEqual(['slice-channels']);
    expect(plugin.procedures.map((p) => p.name)).toEqual(['fmas-search']);
    const raw = await readPipelineFile(example);
    const { steps } = await validatePipeline(raw, { configDir: join(example, '..'), plugins: [corePlugin] });
    expect(steps.map((s) => s.id)).toEqual(['fmas', 'slice']);
    // Same steps at 16x16 with a handful of candidates and no fine-tuning.
    const small = structuredClone(raw) as { model: { config: Record<string, unknown> }; data: Record<string, unknown>; steps: { options: Record<string, unknown> }[]; outputs: Record<string, unknown> };
    small.model.config.imageSize = 16;
    Object.assign(small.data, { size: 16, train: 64, val: 40, test: 24 });
    Object.assign(small.steps[0]!.options, { pretrainEpochs: 1, population: 4, generations: 1, finetuneEpochs: 0, batchSize: 16, maxFinetune: 2, workers: 0 });
    small.outputs = { onnx: false, report: true };
    const r = await runPipeline(small, { configDir: join(example, '..'), plugins: [corePlugin], outDir: join(dir, 'runs'), useCache: false });
    expect(r.status).toBe('complete');
    const step = r.report.steps[0]!;
    expect((step.artefacts as { evaluated: unknown[] }).evaluated).toHaveLength(4);
    expect((step.artefacts as { pretrain: { epochs: number } }).pretrain.epochs).toBe(1);
    expect(r.report.steps[1]!.artefacts).toHaveProperty('kept');
  }, 30_000);
});
