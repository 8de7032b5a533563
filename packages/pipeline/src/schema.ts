/**
 * JSON Schema of a pipeline config for editors: the config's own fields, and for `steps[]` one
 * alternative per step name with that step's option schema (defaults and ranges included), built
 * from the plugins a run would load. `tessera schema` writes it; point `$schema` at the file.
 */
import { z } from 'zod';
import { PipelineConfigSchema } from './config.js';
import type { Contributions } from './container.js';
import { optionsJsonSchema } from './plugin.js';

export function pipelineJsonSchema(c: Contributions): Record<string, unknown> {
  const base = z.toJSONSchema(PipelineConfigSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown> & { properties: Record<string, Record<string, unknown>> };
  const stepAlternatives = [...c.steps.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, { definition, plugin }]) => {
      const { $schema: _s, ...options } = optionsJsonSchema(definition.options);
      return {
        type: 'object',
        description: `${definition.description} (${definition.kind} from ${plugin.name}@${plugin.version})`,
        properties: { id: { type: 'string' }, use: { const: name }, options },
        required: ['use'],
        additionalProperties: false,
      };
    });
  base.properties.steps = { type: 'array', minItems: 1, items: { anyOf: stepAlternatives } };
  base.properties.targets = { type: 'array', items: { enum: [...c.targets.keys()].sort() } };
  const data = base.properties.data as Record<string, unknown> & { properties?: Record<string, unknown> };
  if (data?.properties) data.properties.dataset = { enum: [...c.datasets.keys()].sort() };
  const model = base.properties.model as Record<string, unknown> & { properties?: Record<string, unknown> };
  if (model?.properties) model.properties.builder = { enum: [...c.models.keys()].sort() };
  return { ...base, title: 'Tessera pipeline' };
}
