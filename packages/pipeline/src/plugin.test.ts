import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { checkPluginApi, CORE_API_VERSION, definePass, definePlugin, defineProcedure, optionsJsonSchema } from './plugin.js';

const pass = definePass({
  name: 'halve',
  description: 'halves nothing',
  options: z.object({ bits: z.number().int().min(2).max(16).default(8), perChannel: z.boolean().default(true) }).strict(),
  searchSpace: { bits: { kind: 'int', min: 2, max: 8 } },
  run: (g) => g,
});

describe('definePlugin', () => {
  it('is a plain frozen object; falsy entries are dropped (cond && pass)', () => {
    const debug = false;
    const p = definePlugin({ name: 'x', version: '1.2.3', api: '^0.1.0', passes: [pass, debug && pass, null, undefined], procedures: [] });
    expect(p.passes).toEqual([pass]);
    expect(p.targets).toEqual([]);
    expect(Object.isFrozen(p)).toBe(true);
    expect(p.kind).toBe('plugin');
  });

  it('rejects bad versions, ranges, duplicate step names and non-kebab names, one line each', () => {
    expect(() => definePlugin({ name: 'x', version: 'one', api: '^0.1.0' })).toThrow("plugin 'x': version 'one' is not a semver version (e.g. 0.1.0)");
    expect(() => definePlugin({ name: 'x', version: '1.0.0', api: 'latest' })).toThrow("plugin 'x': api 'latest' is not a semver range (e.g. ^0.1.0)");
    const proc = defineProcedure({ name: 'halve', description: '', options: z.object({}), run: () => ({ artefacts: {} }) });
    expect(() => definePlugin({ name: 'x', version: '1.0.0', api: '*', passes: [pass], procedures: [proc] })).toThrow("plugin 'x': step name 'halve' is used by a pass and a procedure");
    expect(() => definePass({ name: 'Quantize_Int', description: '', options: z.object({}), run: (g) => g })).toThrow("pass name 'Quantize_Int' must be kebab-case");
  });

  it('checks the api range against the core API version', () => {
    expect(CORE_API_VERSION).toBe('0.1.0');
    expect(() => checkPluginApi({ name: 'ok', version: '1.0.0', api: '>=0.1.0 <1' })).not.toThrow();
    expect(() => checkPluginApi({ name: 'old', version: '3.0.0', api: '^0.0.9' })).toThrow("plugin 'old' 3.0.0 requires core API ^0.0.9, but this Tessera provides core API 0.1.0");
    expect(() => checkPluginApi({ name: 'next', version: '1.0.0', api: '^0.2.0' }, '0.2.5')).not.toThrow();
  });

  it('option schemas give defaults and JSON Schema for editors', () => {
    expect(pass.options.parse({})).toEqual({ bits: 8, perChannel: true });
    const js = optionsJsonSchema(pass.options);
    expect(js).toMatchObject({ type: 'object', additionalProperties: false, properties: { bits: { type: 'integer', default: 8, minimum: 2, maximum: 16 }, perChannel: { type: 'boolean', default: true } } });
    expect(pass.searchSpace).toEqual({ bits: { kind: 'int', min: 2, max: 8 } });
  });
});
