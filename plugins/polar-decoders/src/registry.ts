import type { PolarCode } from './code.js';
import type { PolarDecoder } from './decoder.js';
import { PolarParameterError } from './errors.js';
import { GrandDecoder, OrbGrandDecoder, StepGrandDecoder, type GrandOptions, type OrbGrandOptions, type StepGrandOptions } from './decoders/grand.js';
import { ListDecoder, ListFlipDecoder, type ListFlipOptions, type ListOptions } from './decoders/list.js';
import { ScDecoder, ScFlipDecoder, type ScFlipOptions } from './decoders/sc.js';

/** A decoder selected by name plus its options, e.g. { type: 'fast-scl', L: 8 }. */
export type DecoderSpec =
  | { type: 'sc' }
  | { type: 'fast-ssc' }
  | ({ type: 'scl' | 'ca-scl' | 'fast-scl' } & ListOptions)
  | ({ type: 'sc-flip' } & ScFlipOptions)
  | ({ type: 'scl-flip' | 'fast-sclf' } & ListFlipOptions)
  | ({ type: 'grand' } & GrandOptions)
  | ({ type: 'orbgrand' } & OrbGrandOptions)
  | ({ type: 'step-grand' } & StepGrandOptions);

export type DecoderType = DecoderSpec['type'];

export type DecoderFactory = (code: PolarCode, options: Record<string, unknown>) => PolarDecoder;

/** Decoder factories by name. An instance is a container: nothing here is process-wide state. */
export class DecoderRegistry {
  private readonly factories = new Map<string, DecoderFactory>();
  private frozen = false;

  register(name: string, factory: DecoderFactory): this {
    if (this.frozen) throw new Error(`DecoderRegistry: this registry is frozen; call .extend() to add '${name}'`);
    if (this.factories.has(name)) throw new Error(`DecoderRegistry: decoder '${name}' is already registered`);
    this.factories.set(name, factory);
    return this;
  }

  freeze(): this {
    this.frozen = true;
    return this;
  }

  /** A mutable copy holding the same factories. */
  extend(): DecoderRegistry {
    const r = new DecoderRegistry();
    for (const [k, f] of this.factories) r.register(k, f);
    return r;
  }

  names(): string[] {
    return [...this.factories.keys()];
  }

  create(code: PolarCode, spec: { type: string } & Record<string, unknown>): PolarDecoder {
    const f = this.factories.get(spec.type);
    if (!f) throw new PolarParameterError('decoder.type', `unknown decoder '${spec.type}', expected one of ${this.names().join(', ')}`);
    const { type: _type, ...options } = spec;
    return f(code, options);
  }
}

/** The built-in decoders (frozen; use .extend() for a registry with more). */
export const BUILTIN_DECODERS: DecoderRegistry = new DecoderRegistry()
  .register('sc', (c) => new ScDecoder(c, false))
  .register('fast-ssc', (c) => new ScDecoder(c, true))
  .register('scl', (c, o) => new ListDecoder(c, 'scl', o as ListOptions))
  .register('ca-scl', (c, o) => new ListDecoder(c, 'ca-scl', o as ListOptions))
  .register('fast-scl', (c, o) => new ListDecoder(c, 'fast-scl', o as ListOptions))
  .register('sc-flip', (c, o) => new ScFlipDecoder(c, o as ScFlipOptions))
  .register('scl-flip', (c, o) => new ListFlipDecoder(c, 'scl-flip', o as ListFlipOptions))
  .register('fast-sclf', (c, o) => new ListFlipDecoder(c, 'fast-sclf', o as ListFlipOptions))
  .register('grand', (c, o) => new GrandDecoder(c, o as GrandOptions))
  .register('orbgrand', (c, o) => new OrbGrandDecoder(c, o as OrbGrandOptions))
  .register('step-grand', (c, o) => new StepGrandDecoder(c, o as StepGrandOptions))
  .freeze();

/** createDecoder(code, { type: 'fast-scl', L: 8 }). */
export function createDecoder(code: PolarCode, spec: DecoderSpec, registry: DecoderRegistry = BUILTIN_DECODERS): PolarDecoder {
  if (spec === null || typeof spec !== 'object' || typeof (spec as { type?: unknown }).type !== 'string') {
    throw new PolarParameterError('decoder.type', `missing, expected one of ${registry.names().join(', ')}`);
  }
  return registry.create(code, spec as unknown as { type: string } & Record<string, unknown>);
}
