import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { quantizeWeights as fakeQuantWeights } from '@tessera/compress';
import { buildLeNet5 } from '@tessera/models';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkPluginApi } from '../plugin.js';
import { runPipeline, type RunResult } from '../runner.js';
import { corePlugin, quantizeWeights } from './index.js';

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

describe('built-in core plugin: compression steps from @tessera/compress', () => {
  it('contributes prune-magnitude and quantize-weights with defaults', () => {
    expect(() => checkPluginApi(corePlugin)).not.toThrow();
    expect(corePlugin.passes.map((p) => p.name)).toEqual(['quantize-uniform', 'prune-magnitude', 'quantize-weights']);
    const pass = (name: string) => corePlugin.passes.find((p) => p.name === name)!;
    expect(pass('prune-magnitude').options.parse({})).toEqual({ sparsity: 0.5, scope: 'global', layers: [] });
    expect(pass('quantize-weights').options.parse({})).toEqual({ bits: 8, perChannel: true, layers: [] });
  });

  it("quantize-uniform's numbers are compress's: 'fake' equals quantize-weights bit for bit, 'qdq' codes times scales give the same values to float32 scale rounding", () => {
    for (const [bits, perChannel] of [[8, true], [4, true], [4, false]] as const) {
      const ref = buildLeNet5({}, { seed: 2 });
      const refReport = fakeQuantWeights(ref, { bits, perChannel });
      const fake = buildLeNet5({}, { seed: 2 });
      const { weights } = quantizeWeights(fake, { bits, perChannel, mode: 'fake' });
      expect(weights.map((w) => w.name)).toEqual(refReport.layers.map((l) => l.name));
      expect(weights.map((w) => w.maxError)).toEqual(refReport.layers.map((l) => l.maxError));
      expect(weights.map((w) => w.formats.map((f) => f.scale))).toEqual(refReport.layers.map((l) => l.scales));
      for (const w of weights) {
        expect(fake.initializers.get(w.name)!.initializer!.data).toEqual(ref.initializers.get(w.name)!.initializer!.data);
        expect(fake.initializers.get(w.name)!.format).toEqual(ref.initializers.get(w.name)!.format);
      }
      const qdq = buildLeNet5({}, { seed: 2 });
      quantizeWeights(qdq, { bits, perChannel, mode: 'qdq' });
      for (const w of weights) {
        const dq = qdq.nodes.find((n) => n.op === 'DequantizeLinear' && n.name === `${w.name}.dequantize`)!;
        const [codes, scales] = [dq.inputs[0]!.initializer!, dq.inputs[1]!.initializer!];
        const want = ref.initializers.get(w.name)!.initializer!.data as Float32Array;
        const inner = w.axis === null ? codes.size : codes.shape.slice(w.axis + 1).reduce((x, y) => x * y, 1);
        const got = Float32Array.from(codes.data as Int8Array, (c, i) => c * (scales.data as Float32Array)[w.axis === null ? 0 : Math.floor(i / inner) % scales.size]!);
        // Same integer grid; the only difference is the scale rounded to float32 for DequantizeLinear.
        const top = Math.max(...Array.from(want, Math.abs));
        expect(Math.max(...Array.from(got, (g, i) => Math.abs(g - want[i]!)))).toBeLessThanOrEqual(top * 1e-6);
      }
    }
  });
});
