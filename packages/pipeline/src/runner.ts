/**
 * The pipeline runner: builds or loads the model, runs the steps in order inside the run's
 * container, caches each step's output under a content hash, emits progress events, stops
 * cleanly on an AbortSignal (what finished stays cached), and writes the outputs and the report.
 */
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { bytesPerElement, Rng, type Graph, type OpRegistry } from '@tessera/core';
import { loadModel, saveModel } from '@tessera/onnx';
import type { DependencyContainer } from 'tsyringe';
import { StepCache } from './cache.js';
import { parsePipelineConfig, resolveSteps, type PipelineConfig, type PipelineConfigInput, type ResolvedStep } from './config.js';
import { contributionNames, createRunContainer, injectParams, runRegistry, type Contributions } from './container.js';
import { canonicalJson, graphHash, sha256 } from './hash.js';
import { loadPlugin, discoverPlugins, findWorkspaceRoot } from './loader.js';
import { CORE_API_VERSION, type DataSpec, type DatasetDefinition, type Logger, type ModelDefinition, type Plugin, type Progress, type StepContext, type TargetContribution } from './plugin.js';
import { writeReport, type GraphSummary, type RunReport, type StepReport } from './report.js';
import { TOKENS } from './tokens.js';

export type RunEvent =
  | { type: 'run-start'; name: string; outDir: string; steps: { id: string; use: string }[] }
  | { type: 'model'; source: string; seconds: number; summary: GraphSummary }
  | { type: 'step-start'; stepId: string; use: string; index: number; total: number }
  | { type: 'step-progress'; stepId: string; done: number; total: number; label?: string }
  | { type: 'step-done'; stepId: string; use: string; cached: boolean; seconds: number; artefacts: Record<string, unknown> }
  | { type: 'log'; level: 'info' | 'warn' | 'debug'; message: string; stepId?: string }
  | { type: 'run-done'; status: RunReport['status']; seconds: number; outDir: string };

export interface RunOptions {
  /** Relative paths in the config (model.onnx, plugins, outputs.dir) resolve against this (default: cwd). */
  configDir?: string;
  /** Plugins to load besides the config's `plugins` (the CLI passes the built-in core plugin). */
  plugins?: readonly Plugin[];
  /** Overrides `outputs.dir`. */
  outDir?: string;
  signal?: AbortSignal;
  onEvent?: (e: RunEvent) => void;
  /** Set false to ignore existing cache entries (they are still written). */
  useCache?: boolean;
}

export interface RunResult {
  status: RunReport['status'];
  outDir: string;
  report: RunReport;
  graph?: Graph;
}

export class RunCancelledError extends Error {
  override name = 'RunCancelledError';
}

/** What a graph costs to store and how big it is, for reports and events. */
export function summarizeGraph(g: Graph): GraphSummary {
  let params = 0;
  let bits = 0;
  for (const v of g.initializers.values()) {
    const t = v.initializer!;
    // int64 / bool initializers are shapes, axes and masks: graph metadata, not weights.
    if (t.dtype === 'int64' || t.dtype === 'bool' || t.dtype === 'string') continue;
    params += t.size;
    bits += t.size * (v.format?.bits ?? bytesPerElement(t.dtype) * 8);
  }
  const ops: Record<string, number> = {};
  for (const n of g.nodes) ops[n.opId] = (ops[n.opId] ?? 0) + 1;
  return { nodes: g.nodeCount, params, sizeBytes: Math.ceil(bits / 8), ops };
}

function seedOf(id: string): number {
  let h = 2166136261;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 16777619) >>> 0;
  return h;
}

/** Loads the config's plugins (names or paths) relative to the config's folder. */
export async function loadConfigPlugins(config: PipelineConfig, configDir: string): Promise<Plugin[]> {
  if (config.plugins.length === 0) return [];
  const discovered = discoverPlugins(findWorkspaceRoot(configDir));
  const out: Plugin[] = [];
  for (const spec of config.plugins) {
    try {
      out.push(await loadPlugin(spec, configDir, discovered));
    } catch (e) {
      throw new Error(`plugins[${config.plugins.indexOf(spec)}]: ${(e as Error).message}`);
    }
  }
  return out;
}

/**
 * Runs the resolved steps of one run. Resolved from the run's container with explicit tokens
 * (interfaces have no runtime type, and vitest/tsx emit no decorator metadata); see the
 * injectParams call below the class.
 */
export class StepRunner {
  private readonly dataMemo = new Map<string, Promise<unknown>>();

  constructor(
    private readonly config: PipelineConfig,
    readonly cache: StepCache,
    private readonly logger: Logger,
    private readonly progress: Progress,
    private readonly datasets: Map<string, DatasetDefinition>,
    private readonly models: Map<string, ModelDefinition>,
    private readonly targets: Map<string, TargetContribution>,
    private readonly registry: OpRegistry,
  ) {}

  context(container: DependencyContainer, stepId: string, workDir: string, outDir: string, signal: AbortSignal, recorded: Record<string, unknown> = {}): StepContext {
    const data = this.config.data as DataSpec | undefined;
    return {
      record: (values) => void Object.assign(recorded, values),
      stepId,
      seed: this.config.seed,
      container,
      resolve: (token) => container.resolve(token),
      rng: new Rng(this.config.seed).fork(seedOf(stepId)),
      registry: this.registry,
      logger: this.logger,
      progress: this.progress,
      signal,
      data,
      loadData: <T>() => this.loadData(container, stepId, workDir, outDir, signal) as Promise<T>,
      targets: this.config.targets.map((t) => this.targets.get(t)!),
      workDir,
      outDir,
    };
  }

  private loadData(container: DependencyContainer, stepId: string, workDir: string, outDir: string, signal: AbortSignal): Promise<unknown> {
    const data = this.config.data;
    if (!data) return Promise.reject(new Error(`step '${stepId}' needs data, but the pipeline has no 'data' block (e.g. "data": { "dataset": "fashion-mnist" })`));
    const key = canonicalJson(data);
    let p = this.dataMemo.get(key);
    if (!p) {
      const def = this.datasets.get(data.dataset)!;
      const { dataset: _name, ...rest } = data;
      const parsed = def.options.safeParse(rest);
      if (!parsed.success) {
        return Promise.reject(new Error(`data: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(options)'}: ${i.message}`).join('; ')}`));
      }
      p = Promise.resolve(def.load(parsed.data, this.context(container, stepId, workDir, outDir, signal)));
      this.dataMemo.set(key, p);
    }
    return p;
  }

  async buildModel(container: DependencyContainer, configDir: string, outDir: string, signal: AbortSignal): Promise<{ graph?: Graph; source: string }> {
    const m = this.config.model;
    if (!m) return { source: 'none (no model in the config)' };
    if (m.builder !== undefined) {
      const def = this.models.get(m.builder)!;
      const parsed = def.config.safeParse(m.config ?? {});
      if (!parsed.success) throw new Error(`model.config: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(config)'}: ${i.message}`).join('; ')}`);
      const graph = await def.build(parsed.data, this.context(container, 'model', join(outDir, 'steps', 'model'), outDir, signal));
      return { graph, source: `builder ${m.builder}` };
    }
    if (m.onnx !== undefined) {
      const path = resolve(configDir, m.onnx);
      return { graph: await loadModel(path, { registry: this.registry, source: `model.onnx (${path})` }), source: `onnx ${m.onnx}` };
    }
    return { source: `from step '${m.from}'` };
  }
}

injectParams(StepRunner, [TOKENS.Config, TOKENS.Cache, TOKENS.Logger, TOKENS.Progress, TOKENS.Datasets, TOKENS.Models, TOKENS.Targets, TOKENS.OpRegistry]);

/** Validates a config against the plugins (structure, steps, options, targets) without running it. */
export async function validatePipeline(raw: unknown, opts: { configDir?: string; plugins?: readonly Plugin[]; source?: string } = {}): Promise<{ config: PipelineConfig; plugins: Plugin[]; steps: ResolvedStep[]; contributions: Contributions }> {
  const config = parsePipelineConfig(raw, opts.source);
  const plugins = [...(opts.plugins ?? []), ...(await loadConfigPlugins(config, opts.configDir ?? process.cwd()))];
  const { contributions } = createRunContainer({ plugins, seed: config.seed, logger: silentLogger, progress: { update() {} } });
  const steps = resolveSteps(config, contributionNames(contributions), opts.source);
  return { config, plugins, steps, contributions };
}

const silentLogger: Logger = { info() {}, warn() {}, debug() {} };

/** Runs a pipeline (a config object as written in JSON, or from TypeScript). */
export async function runPipeline(raw: PipelineConfigInput | unknown, opts: RunOptions = {}): Promise<RunResult> {
  const started = performance.now();
  const configDir = resolve(opts.configDir ?? process.cwd());
  const emit = opts.onEvent ?? (() => {});
  const signal = opts.signal ?? new AbortController().signal;
  const { config, plugins, steps } = await validatePipeline(raw, { configDir, plugins: opts.plugins });
  const outDir = resolve(configDir, opts.outDir ?? config.outputs.dir ?? join('runs', config.name));
  const registry = runRegistry(plugins);
  const cache = new StepCache(join(outDir, '.cache'), registry);

  let current: string | undefined;
  const logger: Logger = {
    info: (message) => emit({ type: 'log', level: 'info', message, stepId: current }),
    warn: (message) => emit({ type: 'log', level: 'warn', message, stepId: current }),
    debug: (message) => emit({ type: 'log', level: 'debug', message, stepId: current }),
  };
  const progress: Progress = { update: (done, total, label) => emit({ type: 'step-progress', stepId: current ?? 'model', done, total, label }) };
  const { container, executors } = createRunContainer({ plugins, registry, seed: config.seed, logger, progress, values: { [TOKENS.Config]: config, [TOKENS.Cache]: cache } });
  const runner = container.resolve(StepRunner);

  const report: RunReport = {
    tessera: { coreApi: CORE_API_VERSION },
    name: config.name,
    description: config.description ?? '',
    status: 'complete',
    seed: config.seed,
    config,
    plugins: plugins.map((p) => ({ name: p.name, version: p.version })),
    model: { source: '', summary: null },
    steps: [],
    outputs: {},
  };
  emit({ type: 'run-start', name: config.name, outDir, steps: steps.map((s) => ({ id: s.id, use: s.definition.name })) });
  await mkdir(outDir, { recursive: true });
  await cache.sweep();

  let graph: Graph | undefined;
  try {
    const t0 = performance.now();
    current = 'model';
    const built = await runner.buildModel(container, configDir, outDir, signal);
    graph = built.graph;
    let inputHash = graph ? graphHash(graph) : 'none';
    report.model = { source: built.source, summary: graph ? summarizeGraph(graph) : null };
    if (graph) emit({ type: 'model', source: built.source, seconds: (performance.now() - t0) / 1000, summary: summarizeGraph(graph) });

    const artefacts: Record<string, Record<string, unknown>> = {};
    for (const [i, step] of steps.entries()) {
      if (signal.aborted) throw new RunCancelledError('cancelled');
      current = step.id;
      const def = step.definition;
      const key = sha256(
        canonicalJson({
          step: def.name,
          kind: def.kind,
          plugin: `${step.plugin.name}@${step.plugin.version}`,
          options: step.options,
          input: inputHash,
          // A pass sees only the graph; a procedure also sees the artefacts of the steps before it.
          artefacts: def.kind === 'pass' ? null : sha256(canonicalJson(artefacts)),
          data: config.data ?? null,
          targets: config.targets,
          seed: config.seed,
        }),
      );
      const workDir = join(outDir, 'steps', step.id);
      emit({ type: 'step-start', stepId: step.id, use: def.name, index: i, total: steps.length });
      const ts = performance.now();
      const hit = opts.useCache === false ? undefined : await cache.load(key);
      let stepReport: StepReport;
      if (hit) {
        await rm(workDir, { recursive: true, force: true });
        if (hit.files.length) await cp(hit.filesDir, workDir, { recursive: true });
        if (hit.graph) graph = hit.graph;
        if (hit.graphHash) inputHash = hit.graphHash;
        stepReport = await finishStep(step, key, true, (performance.now() - ts) / 1000, hit.seconds, hit.graph ? hit.graphHash : null, hit.artefacts, hit.plotSvgs, workDir);
      } else {
        await rm(workDir, { recursive: true, force: true });
        await mkdir(workDir, { recursive: true });
        const recorded: Record<string, unknown> = {};
        const ctx = runner.context(container, step.id, workDir, outDir, signal, recorded);
        let out: { graph?: Graph; artefacts: Record<string, unknown>; plots?: Record<string, string> };
        try {
          if (def.kind === 'pass') {
            if (!graph) throw new Error(`this pass needs a graph, but the model comes ${report.model.source} and no earlier step produced one`);
            out = { graph: await def.run(graph, step.options, ctx), artefacts: {} };
          } else {
            out = await def.run(ctx, { graph, data: config.data as DataSpec | undefined, artefacts: structuredClone(artefacts) }, step.options);
          }
          out = { ...out, artefacts: { ...recorded, ...out.artefacts } };
        } catch (e) {
          if (signal.aborted) throw new RunCancelledError('cancelled');
          throw new Error(`steps[${step.index}] '${step.id}' (${def.name} from ${step.plugin.name}): ${(e as Error).message}`, { cause: e });
        }
        if (signal.aborted) throw new RunCancelledError('cancelled'); // a step cut short is not cached
        const seconds = (performance.now() - ts) / 1000;
        // Artefacts go through canonical JSON so that a fresh result and a cached one are the same values, keys in the same order.
        const arts = JSON.parse(canonicalJson(out.artefacts ?? {})) as Record<string, unknown>;
        const outHash = out.graph ? graphHash(out.graph) : null;
        await cache.store(
          { key, step: def.name, plugin: step.plugin.name, pluginVersion: step.plugin.version, options: step.options, graphHash: outHash, artefacts: arts, plots: [], seconds },
          out.graph,
          out.plots ?? {},
          workDir,
        );
        if (out.graph) {
          graph = out.graph;
          inputHash = outHash!;
        }
        stepReport = await finishStep(step, key, false, seconds, seconds, outHash, arts, out.plots ?? {}, workDir);
      }
      stepReport.graph = graph && stepReport.graphHash ? summarizeGraph(graph) : null;
      artefacts[step.id] = stepReport.artefacts;
      report.steps.push(stepReport);
      emit({ type: 'step-done', stepId: step.id, use: def.name, cached: stepReport.cached, seconds: stepReport.seconds, artefacts: stepReport.artefacts });
    }
    current = undefined;
    if (config.outputs.onnx && graph) {
      const file = `${config.name}.onnx`;
      await saveModel(graph, join(outDir, file));
      report.outputs.onnx = file;
    }
  } catch (e) {
    if (e instanceof RunCancelledError || signal.aborted) report.status = 'cancelled';
    else {
      report.status = 'failed';
      report.error = (e as Error).message;
      if (config.outputs.report) await writeReport(outDir, report);
      throw e;
    }
  } finally {
    await executors.dispose();
  }
  if (config.outputs.report) {
    await writeReport(outDir, report);
  }
  emit({ type: 'run-done', status: report.status, seconds: (performance.now() - started) / 1000, outDir });
  return { status: report.status, outDir, report, graph };
}

async function finishStep(
  step: ResolvedStep,
  key: string,
  cached: boolean,
  seconds: number,
  ranSeconds: number,
  outHash: string | null,
  artefacts: Record<string, unknown>,
  plots: Record<string, string>,
  workDir: string,
): Promise<StepReport> {
  const plotFiles: string[] = [];
  if (Object.keys(plots).length) {
    await mkdir(join(workDir, 'plots'), { recursive: true });
    for (const [name, svg] of Object.entries(plots)) {
      await writeFile(join(workDir, 'plots', `${name}.svg`), svg);
      plotFiles.push(`steps/${step.id}/plots/${name}.svg`);
    }
  }
  return {
    id: step.id,
    use: step.definition.name,
    kind: step.definition.kind,
    plugin: `${step.plugin.name}@${step.plugin.version}`,
    options: step.options,
    cacheKey: key,
    cached,
    seconds,
    ranSeconds,
    graphHash: outHash,
    graph: null,
    artefacts,
    plots: plotFiles,
  };
}

/** Reads a pipeline JSON file; errors name the file. */
export async function readPipelineFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new Error(`${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${path}: not valid JSON (${(e as Error).message})`);
  }
}
