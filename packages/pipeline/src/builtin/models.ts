/** The model zoo of @tessera/models as pipeline model builders (`model: { builder: 'lenet5', config }`). */
import { modelZoo, type ModelEntry } from '@tessera/models';
import { z } from 'zod';
import { defineModel, type ModelDefinition } from '../plugin.js';

/** A config schema from a builder's defaults: every field optional, typed like its default, no unknown fields. */
export function schemaFromDefaults(defaults: object): z.ZodType<Record<string, unknown>> {
  const shape: Record<string, z.ZodType> = {};
  for (const [k, v] of Object.entries(defaults)) {
    const t = typeof v === 'number' ? z.number() : typeof v === 'string' ? z.string() : typeof v === 'boolean' ? z.boolean() : Array.isArray(v) ? z.array(z.unknown()) : z.unknown();
    shape[k] = t.optional();
  }
  return z.object(shape).strict() as unknown as z.ZodType<Record<string, unknown>>;
}

export const builtinModels: ModelDefinition[] = Object.values(modelZoo as unknown as Record<string, ModelEntry<Record<string, unknown>>>).map((entry) =>
  defineModel({
    name: entry.name,
    description: entry.description,
    config: schemaFromDefaults(entry.defaults),
    build: (config, ctx) => entry.build(config, { seed: ctx.seed, registry: ctx.registry }),
  }),
);
