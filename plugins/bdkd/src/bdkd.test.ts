import { loadFashionMnist, sampleSubset, type Dataset } from '@tessera/data';
import { buildLeNet5, buildMlp } from '@tessera/models';
import { checkPluginApi, corePlugin, runPipeline, validatePipeline } from '@tessera/pipeline';
import { createExecutor } from '@tessera/runtime';
import { takeAlong } from '@tessera/train';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import plugin, { bdkd, classification, createJointTrainer, fitTemperature, jointGraph, parseBdkdOptions, predictLogits, reliabilityBins, scaleLogits } from './index.js';

let train: Dataset;
let val: Dataset;
const teacher = () => buildMlp({ hidden: [64] }, { seed: 1 });
const student = () => buildMlp({ hidden: [16] }, { seed: 2 });

beforeAll(() => {
  train = sampleSubset(loadFashionMnist('train'), 1024, 7);
  val = sampleSubset(loadFashionMnist('test'), 500, 8);
});

describe('joint online training', () => {
  it('one training graph holds both networks; one step changes every weight of both', async () => {
    const { trainer, joint } = await createJointTrainer(teacher(), student(), { batchSize: 64, weighting: 'hard' });
    const slots = trainer.trainingGraph.slots.map((s) => s.param);
    expect(slots.filter((p) => p.startsWith('teacher.')).length).toBe(teacher().parameters().length);
    expect(slots.filter((p) => p.startsWith('student.')).length).toBe(student().parameters().length);
    expect(joint!.graph.outputs.map((o) => o.shape)).toEqual([['N', 2, 10], ['N', 10], ['N', 10]]);
    const before = trainer.parameters();
    const ids = Array.from({ length: 64 }, (_, i) => i);
    await trainer.step({ x: takeAlong(train.x, ids, 0), y: takeAlong(train.y, ids, 0), ids: Int32Array.from(ids) });
    const after = trainer.parameters();
    expect(trainer.stepCount).toBe(1);
    expect(trainer.accounting.compiles).toBe(1);
    for (const [name, t] of before) {
      const a = after.get(name)!.toFloat64();
      const b = t.toFloat64();
      let changed = 0;
      for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) changed++;
      expect(changed / a.length, name).toBeGreaterThan(0.5);
    }
  });

  it('trains, logs the divergence balance per epoch and scores held-out data', async () => {
    const r = await bdkd(teacher(), student(), { train, val }, { epochs: 2, batchSize: 64, lr: 3e-3, weighting: 'hard' });
    expect(r.log.map((e) => e.epoch)).toEqual([1, 2]);
    for (const e of r.log) {
      expect(e.fracRklDominant).toBeGreaterThanOrEqual(0);
      expect(e.fracRklDominant).toBeLessThanOrEqual(1);
      // 'hard' with wMajor > wMinor: reverse KL dominates exactly where the gap is positive.
      expect(e.fracRklDominant).toBe(e.fracGapPositive);
    }
    expect(r.log[1]!.student!.accuracy).toBeGreaterThan(0.6);
    expect(r.log[1]!.teacher!.accuracy).toBeGreaterThan(0.6);
    // The logged ECE is the held-out one, at τ = 1, 15 bins: recompute it from the returned student.
    const exec = createExecutor('ort-node');
    const [zv] = await predictLogits(r.student, val.x, exec);
    const [zt] = await predictLogits(r.student, train.x, exec);
    const held = classification(zv!, val.y);
    expect(r.log[1]!.student!.ece).toBeCloseTo(held.ece, 6);
    expect(r.log[1]!.student!.accuracy).toBeCloseTo(held.accuracy, 6);
    expect(Math.abs(classification(zt!, train.y).ece - held.ece)).toBeGreaterThan(1e-4);
    // Reliability bins are the 15 ECE bins: their weighted gap is the ECE.
    const bins = reliabilityBins(zv!, val.y, 15);
    expect(bins.reduce((a, b) => a + (b.count / 500) * Math.abs(b.accuracy - b.confidence), 0)).toBeCloseTo(held.ece, 9);
    // Post-hoc temperature scaling fitted on held-out logits does not raise their NLL.
    const T = fitTemperature(zv!, val.y);
    expect(classification(scaleLogits(zv!, T), val.y).nll).toBeLessThanOrEqual(held.nll + 1e-9);
    await exec.dispose();
  });

  it('a batch-statistics BatchNorm teacher keeps running statistics and is scored and returned in its inference form', async () => {
    const t = buildLeNet5({ batchNorm: true }, { seed: 3, batchNorm: 'batch-stats' });
    const tInference = buildLeNet5({ batchNorm: true }, { seed: 3 });
    const stats = jointGraph(t, student()).graph.meta.get('batchNormStats') as { runningMean: string }[];
    expect(stats.length).toBe((t.meta.get('batchNormStats') as unknown[]).length);
    expect(stats.length).toBeGreaterThan(0);
    expect(stats.every((s) => s.runningMean.startsWith('teacher.'))).toBe(true);
    const r = await bdkd(t, student(), { train: sampleSubset(train, 256, 2), val }, { epochs: 1, batchSize: 64, lr: 3e-3 }, { inference: { teacher: tInference } });
    expect(r.teacher!.nodes.some((n) => n.op === 'BatchNormalization')).toBe(true);
    const running = r.teacher!.initializers.get(stats[0]!.runningMean.slice('teacher.'.length))!.initializer!.toFloat64();
    expect(running.some((v) => v !== 0)).toBe(true);
    const exec = createExecutor('ort-node');
    const [z] = await predictLogits(r.teacher!, val.x, exec);
    expect(classification(z!, val.y).accuracy).toBeCloseTo(r.log[0]!.teacher!.accuracy, 9);
    await exec.dispose();
  });

  it('constant rules log constant balances; the student-alone arm has no teacher', async () => {
    const small = { train: sampleSubset(train, 256, 1) };
    const rkl = await bdkd(teacher(), student(), small, { epochs: 1, batchSize: 64, weighting: 'rkl-only' });
    const fkl = await bdkd(teacher(), student(), small, { epochs: 1, batchSize: 64, weighting: 'fkl-only', teacherReg: 'forward-kl' });
    const alone = await bdkd(teacher(), student(), small, { epochs: 1, batchSize: 64, weighting: 'none' });
    expect(rkl.log[0]!.fracRklDominant).toBe(1);
    expect(fkl.log[0]!.fracRklDominant).toBe(0);
    expect(alone.teacher).toBeNull();
    expect(alone.log[0]!.fracRklDominant).toBeNull();
    expect(alone.accounting.trainableScalars).toBe(784 * 16 + 16 + 16 * 10 + 10);
  });
});

describe('options', () => {
  it('bad options fail with one line naming the field', async () => {
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ tau: -1 }, /^bdkd: tau: .*>0/],
      [{ weighting: 'balanced' }, /^bdkd: weighting: expected one of "hard", "soft", "fkl-only", "rkl-only", "fixed-mix", "none", got string "balanced"$/],
      [{ wMajor: 0.2, wMinor: 0.8 }, /^bdkd: wMinor: 0.8 exceeds wMajor 0.2/],
      [{ temperature: 3 }, /^bdkd: temperature: unknown key; valid: tau, /],
      [{ fixedMix: 1.5 }, /^bdkd: fixedMix: /],
    ];
    for (const [o, re] of bad) {
      let msg = '';
      try { parseBdkdOptions(o); } catch (e) { msg = (e as Error).message; }
      expect(msg).toMatch(re);
      expect(msg).not.toContain('\n');
    }
    await expect(bdkd(teacher(), student(), { train }, { epochs: 0 })).rejects.toThrow(/^bdkd: epochs: /);
    await expect(bdkd(teacher(), student(), { train: sampleSubset(train, 10, 1) }, { batchSize: 64 })).rejects.toThrow('bdkd: data.train has 10 examples, fewer than one batch of 64 (option batchSize)');
  });

  it('networks that cannot share an input or classes are refused by name', () => {
    expect(() => jointGraph(buildMlp({ inputShape: [784] }), student())).toThrow(/^bdkd: teacher input 'x' is float32\[N, 784\] but student input 'x' is float32\[N, 1, 28, 28\]; both networks must read the same input$/);
    expect(() => jointGraph(buildMlp({ classes: 5 }), student())).toThrow(/^bdkd: teacher logits .* student logits .* must have the same classes$/);
  });
});

describe('plugin', () => {
  const out = mkdtempSync(join(tmpdir(), 'bdkd-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('loads against this core API and runs as a pipeline step with a teacher from the model zoo', async () => {
    expect(() => checkPluginApi(plugin)).not.toThrow();
    expect(plugin.procedures.map((p) => p.name)).toEqual(['bdkd']);
    const r = await runPipeline({
      name: 'bdkd-test',
      seed: 3,
      model: { builder: 'mlp', config: { hidden: [16] } },
      data: { dataset: 'fashion-mnist', trainSize: 1200, testSize: 400 },
      steps: [{ use: 'bdkd', options: { teacher: { builder: 'mlp', config: { hidden: [64] } }, valSize: 200, epochs: 3, batchSize: 64, lr: 3e-3 } }],
      outputs: { onnx: false, report: true },
    }, { plugins: [corePlugin, plugin], outDir: out, useCache: false });
    expect(r.status).toBe('complete');
    const step = r.report.steps.find((s) => s.id === 'bdkd')!;
    const a = step.artefacts as { test: { student: { accuracy: number; ece: number }; teacher: { accuracy: number }; examples: number }; epochs: { fracRklDominant: number }[] };
    expect(a.test.examples).toBe(400);
    expect(a.test.student.accuracy).toBeGreaterThan(0.5);
    expect(a.test.teacher.accuracy).toBeGreaterThan(0.5);
    expect(a.epochs[0]!.fracRklDominant).toBeGreaterThan(0);
    // The pipeline's graph afterwards is the trained student, not the joint graph.
    expect(r.graph!.parameters().map((p) => p.name).sort()).toEqual(student().parameters().map((p) => p.name).sort());
  });

  it('the example pipeline (ResNet-20 teacher, LeNet-5 student) validates with the plugin loaded from the workspace', async () => {
    const dir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'examples', 'bdkd');
    const raw = JSON.parse(readFileSync(join(dir, 'pipeline.json'), 'utf8'));
    const { steps } = await validatePipeline(raw, { configDir: dir, plugins: [corePlugin] });
    expect(steps.map((s) => s.id)).toEqual(['bdkd', 'evaluate-student', 'export-onnx']);
    expect(steps[0]!.options).toMatchObject({ teacher: { builder: 'resnet20' }, weighting: 'hard', tau: 3, wMajor: 1, wMinor: 0 });
    expect(raw.model.builder).toBe('lenet5');
  });

  it('a bad step option is one line naming the step field', async () => {
    await expect(runPipeline({
      name: 'bdkd-bad', model: { builder: 'mlp' }, data: { dataset: 'fashion-mnist', trainSize: 300 },
      steps: [{ use: 'bdkd', options: { weighting: 'hard', wMajor: 0.1, wMinor: 0.5 } }],
    }, { plugins: [corePlugin, plugin], outDir: out })).rejects.toThrow(/steps\[0\]\.options\.wMinor: 0.5 exceeds wMajor 0.1/);
    await expect(runPipeline({
      name: 'bdkd-bad-teacher', model: { builder: 'mlp' }, data: { dataset: 'fashion-mnist', trainSize: 300 },
      steps: [{ use: 'bdkd', options: { teacher: { builder: 'resnet21', batchNorm: 'batch-stats' } } }],
    }, { plugins: [corePlugin, plugin], outDir: out, useCache: false })).rejects.toThrow(/bdkd: options\.teacher\.batchNorm needs a @tessera\/models zoo builder; 'resnet21' is not one \(valid: .*resnet20.*\)$/);
  });
});
