import { describe, expect, it } from 'vitest';
import { affinePlugin } from './__fixtures__/affine-plugin.js';
import { collectContributions } from './container.js';
import { pipelineJsonSchema } from './schema.js';

describe('pipelineJsonSchema', () => {
  it('describes every step with its own options, and the known targets, datasets and models', () => {
    const s = pipelineJsonSchema(collectContributions([affinePlugin().plugin])) as {
      properties: Record<string, { items?: { anyOf?: { properties: { use: unknown; options: unknown } }[] } }>;
      required: string[];
    };
    const steps = s.properties.steps!.items!.anyOf!;
    expect(steps.map((a) => a.properties.use)).toEqual([{ const: 'make-model' }, { const: 'measure' }, { const: 'scale-weights' }, { const: 'slow' }]);
    expect(steps[2]!.properties.options).toMatchObject({ type: 'object', properties: { factor: { type: 'number', default: 2 } }, additionalProperties: false });
    expect(s.properties.targets).toEqual({ type: 'array', items: { enum: [] } });
    expect(s.properties.data).toMatchObject({ properties: { dataset: { enum: ['ramp'] } } });
    expect(s.required).toEqual(expect.arrayContaining(['name', 'steps']));
    expect(s.required).not.toContain('model');
  });
});
