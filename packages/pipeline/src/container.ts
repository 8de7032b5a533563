/**
 * The dependency-injection container of one pipeline run. Every run gets a fresh tsyringe child
 * container; the plugins' contributions, the op registry, the RNG, logger, progress, cache and the
 * executors are registered into it under explicit tokens. Nothing is ever registered on the
 * root container, so two runs in one process never see each other's plugins.
 */
// The one import of the metadata polyfill tsyringe needs; every tsyringe use goes through this module.
import 'reflect-metadata';
import { Rng, standardOps, type NumberFormatRef, type OpRegistry } from '@tessera/core';
import { createExecutor, type BackendName, type Executor } from '@tessera/runtime';
import { Trainer, type TrainerOptions } from '@tessera/train';
import { container as rootContainer, inject, injectable, type DependencyContainer } from 'tsyringe';
import type { PluginContributions } from './config.js';
import type { DatasetDefinition, Logger, ModelDefinition, Plugin, Progress, StepDefinition, TargetContribution } from './plugin.js';
import { TOKENS } from './tokens.js';

/**
 * `@injectable()` plus `@inject(tokens[i])` on constructor parameter i, applied as functions.
 * Decorator syntax needs `experimentalDecorators` in whatever tsconfig the transpiler picks (tsx
 * run from the repository root picks none); the decorators themselves work anywhere.
 */
export function injectParams(cls: new (...args: never[]) => unknown, tokens: readonly symbol[]): void {
  // Parameter decorators run before the class decorator, which reads what they recorded.
  tokens.forEach((t, i) => inject(t)(cls, undefined, i));
  injectable()(cls as never);
}

/** Executors of a run, one per backend, created on first use and disposed when the run ends. */
export class RunExecutors {
  private readonly made = new Map<BackendName, Executor>();

  constructor(private readonly registry: OpRegistry) {}

  get(backend: BackendName = 'ort-node'): Executor {
    let e = this.made.get(backend);
    if (!e) {
      e = createExecutor(backend, { registry: this.registry });
      this.made.set(backend, e);
    }
    return e;
  }

  async dispose(): Promise<void> {
    for (const e of this.made.values()) await e.dispose();
    this.made.clear();
  }
}

/** What `TOKENS.Trainer` resolves to: trainers on this run's executors and op registry. */
export interface TrainerFactory {
  create(opts: Omit<TrainerOptions, 'executor' | 'registry' | 'backend'> & { backend?: BackendName }): Promise<Trainer>;
}

export interface Contributions {
  steps: Map<string, { definition: StepDefinition; plugin: Plugin }>;
  targets: Map<string, { target: TargetContribution; plugin: Plugin }>;
  datasets: Map<string, { definition: DatasetDefinition; plugin: Plugin }>;
  models: Map<string, { definition: ModelDefinition; plugin: Plugin }>;
  formats: Map<string, { format: NumberFormatRef; plugin: Plugin }>;
}

/**
 * Merges the plugins' contributions; a name contributed twice is an error naming both plugins
 * (no silent override: which one would win would depend on load order).
 */
export function collectContributions(plugins: readonly Plugin[]): Contributions {
  const c: Contributions = { steps: new Map(), targets: new Map(), datasets: new Map(), models: new Map(), formats: new Map() };
  const put = <V extends { plugin: Plugin }>(map: Map<string, V>, what: string, key: string, v: V) => {
    const prev = map.get(key);
    if (prev) throw new Error(`${what} '${key}' is contributed by both '${prev.plugin.name}' and '${v.plugin.name}'; remove one of the plugins from the pipeline`);
    map.set(key, v);
  };
  for (const plugin of plugins) {
    for (const d of [...plugin.passes, ...plugin.procedures]) put(c.steps, 'step', d.name, { definition: d, plugin });
    for (const t of plugin.targets) put(c.targets, 'target', t.id, { target: t, plugin });
    for (const d of plugin.datasets) put(c.datasets, 'dataset', d.name, { definition: d, plugin });
    for (const d of plugin.models) put(c.models, 'model', d.name, { definition: d, plugin });
    for (const f of plugin.formats) put(c.formats, 'number format', f.id, { format: f, plugin });
  }
  return c;
}

export function contributionNames(c: Contributions): PluginContributions {
  return { steps: c.steps, targets: new Set(c.targets.keys()), datasets: new Set(c.datasets.keys()), models: new Set(c.models.keys()) };
}

/** The run's op registry: the standard ops extended by every plugin's own ops. */
export function runRegistry(plugins: readonly Plugin[]): OpRegistry {
  const r = standardOps().extend();
  for (const p of plugins) {
    for (const op of p.ops) {
      try {
        r.register(op);
      } catch (e) {
        throw new Error(`plugin '${p.name}': ${(e as Error).message}`);
      }
    }
  }
  return r;
}

export interface RunContainerOptions {
  plugins: readonly Plugin[];
  seed: number;
  /** The run's op registry (default: runRegistry(plugins)). */
  registry?: OpRegistry;
  logger: Logger;
  progress: Progress;
  /** Extra registrations (the runner's config and cache). */
  values?: Record<symbol, unknown>;
}

export function createRunContainer(o: RunContainerOptions): { container: DependencyContainer; contributions: Contributions; registry: OpRegistry; executors: RunExecutors } {
  const contributions = collectContributions(o.plugins);
  const registry = o.registry ?? runRegistry(o.plugins);
  const executors = new RunExecutors(registry);
  const c = rootContainer.createChildContainer();
  const value = <T>(token: symbol, v: T) => c.register(token, { useValue: v });
  value(TOKENS.Plugins, o.plugins);
  value(TOKENS.Steps, new Map([...contributions.steps].map(([k, v]) => [k, v.definition])));
  value(TOKENS.Targets, new Map([...contributions.targets].map(([k, v]) => [k, v.target])));
  value(TOKENS.Datasets, new Map([...contributions.datasets].map(([k, v]) => [k, v.definition])));
  value(TOKENS.Models, new Map([...contributions.models].map(([k, v]) => [k, v.definition])));
  value(TOKENS.Formats, new Map([...contributions.formats].map(([k, v]) => [k, v.format])));
  value(TOKENS.OpRegistry, registry);
  value(TOKENS.Rng, new Rng(o.seed));
  value(TOKENS.Logger, o.logger);
  value(TOKENS.Progress, o.progress);
  value(TOKENS.Executor, executors);
  const trainers: TrainerFactory = {
    create: ({ backend, ...opts }) => Trainer.create({ ...opts, executor: executors.get(backend ?? 'ort-node'), registry }),
  };
  value(TOKENS.Trainer, trainers);
  for (const k of Object.getOwnPropertySymbols(o.values ?? {})) value(k, (o.values as Record<symbol, unknown>)[k]);
  return { container: c, contributions, registry, executors };
}
