/**
 * The plugin API: what a plugin package exports (one `definePlugin({...})` object) and the shapes
 * of what it contributes. Everything here is a plain object factory, Vite-style: no classes to
 * extend, falsy entries in arrays are dropped so `cond && myPass` works, and nothing is
 * registered anywhere until a pipeline run loads the plugin into its own container.
 */
import type { Graph, NumberFormatRef, OpRegistry, OpSchema, Rng, Target } from '@tessera/core';
import semver from 'semver';
import type { DependencyContainer, InjectionToken } from 'tsyringe';
import { z } from 'zod';

/** The version of the core API that plugins declare a semver range against (`api: '^0.1.0'`). */
export const CORE_API_VERSION = '0.1.0';

type Falsy = false | null | undefined | 0 | '';

// ---------------------------------------------------------------------------------------------
// Search spaces: a step's options may say which values a search is allowed to try.

export type SearchDimension =
  | { kind: 'choice'; values: readonly (string | number | boolean)[] }
  | { kind: 'int'; min: number; max: number; step?: number }
  | { kind: 'float'; min: number; max: number; log?: boolean };

/** Option name -> the values a search may try for it; options not listed stay at their value. */
export type SearchSpace<O> = { [K in keyof O]?: SearchDimension };

// ---------------------------------------------------------------------------------------------
// What a step sees while it runs.

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  debug(message: string): void;
}

/** Progress of the running step; the CLI draws it as a bar on a TTY and as lines elsewhere. */
export interface Progress {
  /** `done` out of `total` units of work (epochs, batches, candidates), with an optional label. */
  update(done: number, total: number, label?: string): void;
}

/** The data the pipeline config declares (`data: { dataset: 'fashion-mnist', ... }`). */
export interface DataSpec {
  dataset: string;
  [option: string]: unknown;
}

export interface StepContext {
  /** The step's id in the pipeline (its `id`, or its `use` name). */
  readonly stepId: string;
  readonly seed: number;
  /** The run's child container: resolve the executor, trainer, datasets, targets... by token. */
  readonly container: DependencyContainer;
  resolve<T>(token: InjectionToken<T>): T;
  /** A generator forked for this step from the run's seed (independent of other steps). */
  readonly rng: Rng;
  /** The run's op registry (the standard ops extended by every loaded plugin's ops). */
  readonly registry: OpRegistry;
  readonly logger: Logger;
  readonly progress: Progress;
  /** Aborted when the run is cancelled (Ctrl-C in the CLI); long loops should check it. */
  readonly signal: AbortSignal;
  /** The pipeline's data spec, if it declares one. */
  readonly data?: DataSpec;
  /**
   * Loads the pipeline's dataset through the dataset definition that a plugin contributed
   * (memoised per run, so every step shares one copy). Throws one line when the config has no data.
   */
  loadData<T = unknown>(): Promise<T>;
  /** The run's targets (the config's `targets`), resolved to their definitions. */
  readonly targets: readonly TargetContribution[];
  /** A directory this step may write files to; kept as `<outDir>/steps/<stepId>/` and cached with the step. */
  readonly workDir: string;
  /** The run's output directory (files of earlier steps are under `steps/<stepId>/`). */
  readonly outDir: string;
  /** Adds JSON values to the step's artefacts (how a pass, which returns only a graph, reports numbers). */
  record(values: Record<string, unknown>): void;
}

// ---------------------------------------------------------------------------------------------
// Contributions.

export interface PassSpec<S extends z.ZodType> {
  name: string;
  description: string;
  /** Options schema; give every option a default so `{ use: 'my-pass' }` alone is valid. */
  options: S;
  searchSpace?: SearchSpace<z.output<S>>;
  /** Returns the rewritten graph (it may mutate `graph` in place and return it). */
  run(graph: Graph, options: z.output<S>, ctx: StepContext): Graph | Promise<Graph>;
}

export interface PassDefinition<S extends z.ZodType = z.ZodType> extends PassSpec<S> {
  readonly kind: 'pass';
}

export interface ProcedureInput {
  graph?: Graph;
  data?: DataSpec;
  /** Artefacts of the steps that ran before, keyed by step id. */
  artefacts: Record<string, Record<string, unknown>>;
}

export interface ProcedureResult {
  /** The new graph, when the procedure changes the model (training, pruning...). */
  graph?: Graph;
  /** JSON-serialisable results (metrics, per-layer costs, search fronts) that go into the report. */
  artefacts: Record<string, unknown>;
  /** SVG strings by name, drawn with this package's `lineChart` / `scatterChart` / `barChart`. */
  plots?: Record<string, string>;
}

export interface ProcedureSpec<S extends z.ZodType> {
  name: string;
  description: string;
  options: S;
  searchSpace?: SearchSpace<z.output<S>>;
  run(ctx: StepContext, input: ProcedureInput, options: z.output<S>): ProcedureResult | Promise<ProcedureResult>;
}

export interface ProcedureDefinition<S extends z.ZodType = z.ZodType> extends ProcedureSpec<S> {
  readonly kind: 'procedure';
}

export type StepDefinition = PassDefinition | ProcedureDefinition;

/** A hardware target: core's `Target` (check lists unsupported ops and formats, cost gives per-node and total figures). */
export type TargetContribution = Target;

export interface DatasetDefinition<S extends z.ZodType = z.ZodType> {
  name: string;
  description: string;
  /** Options read from the pipeline's `data` block (every key other than `dataset`). */
  options: S;
  load(options: z.output<S>, ctx: StepContext): unknown | Promise<unknown>;
}

export interface ModelDefinition<S extends z.ZodType = z.ZodType> {
  name: string;
  description: string;
  /** Options read from the pipeline's `model.config`. */
  config: S;
  build(config: z.output<S>, ctx: StepContext): Graph | Promise<Graph>;
}

export interface PluginSpec {
  /** The package name, e.g. '@tessera/plugin-polar-decoders'. */
  name: string;
  /** The plugin's own version (part of every cache key of its steps). */
  version: string;
  /** Semver range of the core API this plugin was written against, e.g. '^0.1.0'. */
  api: string;
  description?: string;
  passes?: (PassDefinition<any> | Falsy)[];
  procedures?: (ProcedureDefinition<any> | Falsy)[];
  targets?: (TargetContribution | Falsy)[];
  formats?: (NumberFormatRef | Falsy)[];
  datasets?: (DatasetDefinition<any> | Falsy)[];
  models?: (ModelDefinition<any> | Falsy)[];
  /** Extra op schemas, added to the run's op registry (never to the frozen standard set). */
  ops?: (OpSchema | Falsy)[];
}

export interface Plugin {
  readonly kind: 'plugin';
  readonly name: string;
  readonly version: string;
  readonly api: string;
  readonly description: string;
  readonly passes: readonly PassDefinition[];
  readonly procedures: readonly ProcedureDefinition[];
  readonly targets: readonly TargetContribution[];
  readonly formats: readonly NumberFormatRef[];
  readonly datasets: readonly DatasetDefinition[];
  readonly models: readonly ModelDefinition[];
  readonly ops: readonly OpSchema[];
}

// ---------------------------------------------------------------------------------------------
// Factories.

export function definePass<S extends z.ZodType>(spec: PassSpec<S>): PassDefinition<S> {
  assertName('pass', spec.name);
  return Object.freeze({ ...spec, kind: 'pass' as const });
}

export function defineProcedure<S extends z.ZodType>(spec: ProcedureSpec<S>): ProcedureDefinition<S> {
  assertName('procedure', spec.name);
  return Object.freeze({ ...spec, kind: 'procedure' as const });
}

export function defineDataset<S extends z.ZodType>(spec: DatasetDefinition<S>): DatasetDefinition<S> {
  assertName('dataset', spec.name);
  return Object.freeze({ ...spec });
}

export function defineModel<S extends z.ZodType>(spec: ModelDefinition<S>): ModelDefinition<S> {
  assertName('model', spec.name);
  return Object.freeze({ ...spec });
}

const compact = <T>(xs: readonly (T | Falsy)[] | undefined): T[] => (xs ?? []).filter(Boolean) as T[];

/** The one export of a plugin package. A plain, frozen object; falsy array entries are ignored. */
export function definePlugin(spec: PluginSpec): Plugin {
  if (!spec.name) throw new Error('definePlugin: `name` is required (the package name, e.g. @tessera/plugin-foo)');
  if (!semver.valid(spec.version)) throw new Error(`plugin '${spec.name}': version '${spec.version}' is not a semver version (e.g. 0.1.0)`);
  if (!semver.validRange(spec.api)) throw new Error(`plugin '${spec.name}': api '${spec.api}' is not a semver range (e.g. ^${CORE_API_VERSION})`);
  const plugin: Plugin = {
    kind: 'plugin',
    name: spec.name,
    version: spec.version,
    api: spec.api,
    description: spec.description ?? '',
    passes: compact(spec.passes),
    procedures: compact(spec.procedures),
    targets: compact(spec.targets),
    formats: compact(spec.formats),
    datasets: compact(spec.datasets),
    models: compact(spec.models),
    ops: compact(spec.ops),
  };
  const seen = new Map<string, string>();
  for (const s of [...plugin.passes, ...plugin.procedures]) {
    const prev = seen.get(s.name);
    if (prev) throw new Error(`plugin '${spec.name}': step name '${s.name}' is used by a ${prev} and a ${s.kind}; step names must be unique`);
    seen.set(s.name, s.kind);
  }
  return Object.freeze(plugin);
}

export function isPlugin(x: unknown): x is Plugin {
  return typeof x === 'object' && x !== null && (x as Plugin).kind === 'plugin' && typeof (x as Plugin).name === 'string';
}

/** Throws one line naming both versions when the plugin's api range excludes this core. */
export function checkPluginApi(plugin: Pick<Plugin, 'name' | 'version' | 'api'>, core = CORE_API_VERSION): void {
  if (!semver.satisfies(core, plugin.api, { includePrerelease: true })) {
    throw new Error(`plugin '${plugin.name}' ${plugin.version} requires core API ${plugin.api}, but this Tessera provides core API ${core}`);
  }
}

/** The JSON Schema of a step's (or dataset's, or model's) options, for editors and docs. */
export function optionsJsonSchema(schema: z.ZodType): Record<string, unknown> {
  return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}

function assertName(what: string, name: string): void {
  if (!/^[a-z][a-z0-9-]*$/.test(name)) throw new Error(`${what} name '${name}' must be kebab-case (lower-case letters, digits, '-')`);
}
