/**
 * Injection tokens of a pipeline run's container. Interfaces have no runtime type, so every
 * dependency is resolved through an explicit symbol (`@inject(TOKENS.Executor)`), never by class.
 */
export const TOKENS = {
  /** The run's executor factory: `(backend?) => Executor` over @tessera/runtime. */
  Executor: Symbol.for('tessera.Executor'),
  /** The trainer (@tessera/train), for procedures that train. */
  Trainer: Symbol.for('tessera.Trainer'),
  /** `Map<string, DatasetDefinition>`: every dataset the loaded plugins contribute. */
  Datasets: Symbol.for('tessera.Datasets'),
  /** `Map<string, TargetContribution>`: every hardware target the loaded plugins contribute. */
  Targets: Symbol.for('tessera.Targets'),
  /** `Map<string, ModelDefinition>`: model builders. */
  Models: Symbol.for('tessera.Models'),
  /** `Map<string, NumberFormatRef>`: number formats by id. */
  Formats: Symbol.for('tessera.Formats'),
  /** `Map<string, StepDefinition>`: passes and procedures by step name. */
  Steps: Symbol.for('tessera.Steps'),
  /** The run's OpRegistry (standard ops extended by the plugins' ops). */
  OpRegistry: Symbol.for('tessera.OpRegistry'),
  /** The run's root Rng (steps get forks of it). */
  Rng: Symbol.for('tessera.Rng'),
  Logger: Symbol.for('tessera.Logger'),
  Progress: Symbol.for('tessera.Progress'),
  /** The content-addressed step cache (StepCache). */
  Cache: Symbol.for('tessera.Cache'),
  /** The loaded plugins, in load order. */
  Plugins: Symbol.for('tessera.Plugins'),
  /** The validated pipeline config of the run. */
  Config: Symbol.for('tessera.Config'),
} as const;
