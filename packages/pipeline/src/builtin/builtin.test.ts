import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPipeline, type RunResult } from '../runner.js';
import { corePlugin } from './index.js';

/** The flagship pipeline (examples/flagship/pipeline.json), shrunk: one epoch on a small stratified subset. */
const flagship = JSON.parse(readFileSync(join(import.meta.dirname, '../../../../examples/flagship/pipeline.json'), 'utf8'));
const tinyFlagship = {
  ...flagship,
  name: 'tiny-flagship',
  seed: 3,
  data: { ...flagship.data, trainSize: 640, testSize: 300 },
  steps: flagship.steps.map((s: { use: string; options?: object }) => (s.use === 'train' ? { ...s, options: { ...s.options, epochs: 1, batchSize: 32 } } : s)),
  outputs: { onnx: true, report: true },
};

describe('built-in core plugin: the flagship pipeline on a tiny config', () => {
  let dir: string;
  let first: RunResult;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-flagship-'));
    first = await runPipeline(tinyFlagship, { configDir: dir, plugins: [corePlugin] });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('trains, quantises, checks, costs, exports and matches accuracy on onnxruntime-web', () => {
    const a = Object.fromEntries(first.report.steps.map((s) => [s.id, s.artefacts]));
    expect(first.status).toBe('complete');
    expect(a.train!.steps).toBe(20);
    // 20 Adam steps on 640 images already beat chance (10 %) clearly on 300 test images.
    expect(a['evaluate-float']!.accuracy).toBeGreaterThan(0.3);
    expect(a['quantize-uniform']).toMatchObject({ bits: 8, quantizedTensors: 5, format: 'int<8,sym>' });
    // int8 per-channel weights move accuracy by at most a few test images.
    expect(Math.abs((a['evaluate-int8']!.accuracy as number) - (a['evaluate-float']!.accuracy as number))).toBeLessThanOrEqual(0.02);
    expect(a['check-targets']).toMatchObject({ ok: true, targets: ['asic-45nm', 'cpu-ort'] });
    expect(a.cost!['asic-45nm.energy']).toBeGreaterThan(0);
    expect(a.cost!['cpu-ort.latency']).toBeGreaterThan(0);
    // onnxruntime-web runs the exported file; on 300 images it predicts exactly as onnxruntime-node.
    expect(a['evaluate-onnx-web']).toMatchObject({ matches: true, disagreements: 0, accuracy: a['evaluate-int8']!.accuracy, delta: 0 });
    // The int8 graph stores weights in a quarter of the float bytes (biases and scales stay float).
    const float = first.report.steps.find((s) => s.id === 'train')!.graph!;
    const int8 = first.report.steps.find((s) => s.id === 'quantize-uniform')!.graph!;
    expect(int8.sizeBytes / float.sizeBytes).toBeLessThan(0.3);
    expect(a['export-onnx']!.bytes).toBeLessThan(float.sizeBytes * 0.4);
  });

  it('a second run comes entirely from the cache with identical numbers', async () => {
    const second = await runPipeline(tinyFlagship, { configDir: dir, plugins: [corePlugin] });
    expect(second.report.steps.every((s) => s.cached)).toBe(true);
    expect(second.report.steps.map((s) => s.artefacts)).toEqual(first.report.steps.map((s) => s.artefacts));
    expect(second.report.steps.map((s) => s.graphHash)).toEqual(first.report.steps.map((s) => s.graphHash));
  });
});
