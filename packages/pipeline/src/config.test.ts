import { describe, expect, it } from 'vitest';
import { affinePlugin } from './__fixtures__/affine-plugin.js';
import { parsePipelineConfig, PipelineConfigError } from './config.js';
import { validatePipeline } from './runner.js';

const good = {
  name: 'affine',
  model: { builder: 'scaler', config: { width: 3 } },
  data: { dataset: 'ramp' },
  steps: [{ use: 'scale-weights', options: { factor: 2 } }, { use: 'measure' }],
};

async function problems(raw: unknown): Promise<string[]> {
  try {
    await validatePipeline(raw, { plugins: [affinePlugin().plugin], source: 'p.json' });
  } catch (e) {
    expect(e).toBeInstanceOf(PipelineConfigError);
    return (e as PipelineConfigError).problems;
  }
  return [];
}

describe('pipeline config validation', () => {
  it('accepts a good config and fills in defaults (seed, outputs, step options)', async () => {
    const { config, steps } = await validatePipeline(good, { plugins: [affinePlugin().plugin] });
    expect(config.seed).toBe(0);
    expect(config.outputs).toEqual({ onnx: true, report: true });
    expect(steps.map((s) => [s.id, s.options])).toEqual([['scale-weights', { factor: 2 }], ['measure', { label: 'm' }]]);
  });

  it('names an unknown step and lists the valid ones', async () => {
    expect(await problems({ ...good, steps: [{ use: 'scale-weights' }, { use: 'quantise' }] })).toEqual([
      "steps[1].use: unknown step 'quantise'; valid: make-model, measure, scale-weights, slow",
    ]);
  });

  it('suggests the closest name for a typo', async () => {
    expect(await problems({ ...good, steps: [{ use: 'scale-weight' }] })).toEqual([
      "steps[0].use: unknown step 'scale-weight' (did you mean 'scale-weights'?); valid: make-model, measure, scale-weights, slow",
    ]);
  });

  it('checks step options against the step schema, naming the field path', async () => {
    expect(await problems({ ...good, steps: [{ use: 'scale-weights', options: { factor: 'two' } }, { use: 'measure', options: { lable: 'x' } }] })).toEqual([
      'steps[0].options.factor: expected number, got string "two"',
      'steps[1].options.lable: unknown key; valid: label',
    ]);
  });

  it('reports unknown targets, datasets and model builders, one line each', async () => {
    expect(await problems({ ...good, targets: ['asic-45nm'], data: { dataset: 'fashion' }, model: { builder: 'lenet' } })).toEqual([
      "targets[0]: unknown target 'asic-45nm'; valid: (none)",
      "data.dataset: unknown dataset 'fashion'; valid: ramp",
      "model.builder: unknown model 'lenet'; valid: scaler",
    ]);
  });

  it('reports structural problems without a cascade: unknown keys, wrong types, missing fields', () => {
    let err: PipelineConfigError | undefined;
    try {
      parsePipelineConfig({ name: 'x', seed: 'one', model: { builder: 'a', onnx: 'b.onnx' }, steps: [{ use: 'a', option: {} }], target: [] }, 'p.json');
    } catch (e) {
      err = e as PipelineConfigError;
    }
    expect(err!.problems).toEqual([
      'seed: expected number, got string "one"',
      'model: give exactly one of builder, onnx, from (got builder, onnx)',
      'steps[0].option: unknown key; valid: id, use, options',
      'target: unknown key; valid: $schema, name, description, seed, model, data, plugins, steps, targets, outputs',
    ]);
    expect(err!.message.split('\n')[0]).toBe('p.json: seed: expected number, got string "one"');
  });

  it('requires a name and at least one step; rejects duplicate step ids and a dangling model.from', () => {
    const lines = (raw: unknown) => {
      try {
        parsePipelineConfig(raw);
        return [];
      } catch (e) {
        return (e as PipelineConfigError).problems;
      }
    };
    expect(lines({ model: { onnx: 'm.onnx' }, steps: [] })).toEqual(['name: required (string)', 'steps: Too small: expected array to have >=1 items']);
    expect(lines({ name: 'a', model: { from: 'search' }, steps: [{ use: 'x' }, { use: 'x' }] })).toEqual([
      "steps[1].use: step id 'x' is already used by steps[0]; give one of them an 'id'",
      "model.from: no step with id 'search'; valid: x",
    ]);
  });

  it('accepts a pipeline without a model, for steps that need no graph', () => {
    const config = parsePipelineConfig({ name: 'sweep', steps: [{ use: 'polar-sweep' }] });
    expect(config.model).toBeUndefined();
    expect(config.steps).toHaveLength(1);
  });

  it('rejects a non-object config in one line', () => {
    expect(() => parsePipelineConfig([1, 2], 'p.json')).toThrow('p.json: expected a JSON object, got an array');
  });
});
