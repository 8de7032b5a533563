/**
 * The `tessera` command. `main(argv, io)` returns the exit code instead of exiting, so tests run
 * it in-process: 0 success, 1 a run or check that failed, 2 bad input (one line naming the
 * argument, file or config field), 130 cancelled with Ctrl-C.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Diagnostic } from '@tessera/core';
import { loadModel } from '@tessera/onnx';
import {
  collectContributions, corePlugin, discoverPlugins, findWorkspaceRoot, loadPlugin, loadPluginFrom, PipelineConfigError,
  readPipelineFile, readReport, runPipeline, runRegistry, PluginLoadError, renderReportHtml, CORE_API_VERSION, pipelineJsonSchema, type Plugin,
} from '@tessera/pipeline';
import { artefactSummary, progressPrinter, type Io } from './progress.js';

/** Bad input: printed as one line, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

const HELP: Record<string, string> = {
  main: `tessera — efficient, hardware-aware deep learning pipelines (core API ${CORE_API_VERSION})

Usage: tessera <command> [options]

Commands:
  run <pipeline.json>                run a pipeline (steps are cached; reruns are incremental)
  check <model.onnx> --target <id>   check a model against a hardware target and cost it
  plugins                            list installed plugins and what they contribute
  report <run-dir>                   redraw a run's report.html and print its numbers
  new plugin <name>                  scaffold a plugin package under plugins/<name>
  schema                             print the JSON Schema of pipeline configs (for editors)

Run 'tessera <command> --help' for a command's options.`,
  run: `Usage: tessera run <pipeline.json> [options]

Runs the pipeline's steps in order. Each step's output is cached under a content hash in
<outputs.dir>/.cache, so a second run only recomputes what changed. Ctrl-C stops after the
running step is abandoned; finished steps stay cached.

Options:
  --out <dir>     output directory (default: the config's outputs.dir, else runs/<name> next to the config)
  --no-cache      recompute every step (entries are still written)
  --validate      only validate the config against the plugins, then exit
  --quiet         print only warnings and the final line
  -h, --help      show this help`,
  check: `Usage: tessera check <model.onnx> --target <id> [options]

Lists every op and number format of the model the target does not support (one line each,
naming the node), then prints the target's cost totals.

Options:
  --target <id>     target id (repeatable), e.g. asic-45nm, cpu-ort
  --plugin <spec>   load a plugin for its targets or ops (package name or path; repeatable)
  --no-cost         only check, do not cost
  -h, --help        show this help`,
  plugins: `Usage: tessera plugins [options]

Lists the built-in core plugin and every plugin discovered in the workspace (plugins/*, packages
named @tessera/plugin-* or with the keyword 'tessera-plugin') and in node_modules, with their
passes, procedures, targets, datasets, models and formats.

Options:
  --path <dir>    also load the plugin at this path (repeatable)
  --json          print JSON
  -h, --help      show this help`,
  report: `Usage: tessera report <run-dir>

Redraws <run-dir>/report.html from report.json and prints each step's numbers.

Options:
  -h, --help      show this help`,
  schema: `Usage: tessera schema [options]

Prints the JSON Schema of pipeline configs: every step of the built-in and the given plugins with
its options (types, defaults, ranges), and the known targets, datasets and models. Save it and
point a pipeline's "$schema" at it for completion and checking in editors.

Options:
  --plugin <spec>   include a plugin's steps (package name or path; repeatable)
  --out <file>      write to a file instead of stdout
  -h, --help        show this help`,
  new: `Usage: tessera new plugin <name> [options]

Scaffolds plugins/<name> (package @tessera/plugin-<name>): src/index.ts with definePlugin, a test,
README with Usage/Fidelity/Results, an experiment script, CHANGELOG, and examples/<name>/pipeline.json.

Options:
  --description <text>   one-line description
  --root <dir>           workspace root (default: the nearest folder with pnpm-workspace.yaml)
  -h, --help             show this help`,
};

type OptionSpecs = NonNullable<NonNullable<Parameters<typeof parseArgs>[0]>['options']>;
interface Parsed {
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  positionals: string[];
}

function parse(command: string, args: string[], options: OptionSpecs): Parsed {
  try {
    return parseArgs({ args, options: { help: { type: 'boolean', short: 'h' }, ...options }, allowPositionals: true, allowNegative: true, strict: true });
  } catch (e) {
    throw new UsageError(`${command}: ${(e as Error).message.split('\n')[0]!.replace(/\. To specify a positional argument.*$/, '')}`);
  }
}

async function cmdRun(args: string[], io: Io, signal: AbortSignal): Promise<number> {
  const { values, positionals } = parse('run', args, { out: { type: 'string' }, cache: { type: 'boolean', default: true }, validate: { type: 'boolean' }, quiet: { type: 'boolean' } });
  if (values.help) return help(io, 'run');
  if (positionals.length !== 1) throw new UsageError(`run: expected one pipeline file, got ${positionals.length} (usage: tessera run <pipeline.json>)`);
  const file = resolve(positionals[0]!);
  if (!existsSync(file)) throw new UsageError(`${positionals[0]}: no such file`);
  const raw = await readPipelineFile(file).catch((e: Error) => Promise.reject(new UsageError(e.message)));
  const printer = progressPrinter(io, { quiet: Boolean(values.quiet) });
  const shown = relative(process.cwd(), file) || file;
  try {
    if (values.validate) {
      const { validatePipeline } = await import('@tessera/pipeline');
      const { steps } = await validatePipeline(raw, { configDir: dirname(file), plugins: [corePlugin], source: shown });
      io.out(`${shown}: valid (${steps.length} steps: ${steps.map((s) => s.id).join(', ')})\n`);
      return 0;
    }
    const result = await runPipeline(raw, {
      configDir: dirname(file),
      plugins: [corePlugin],
      outDir: values.out as string | undefined,
      useCache: values.cache as boolean,
      signal,
      onEvent: printer,
    });
    if (result.status === 'cancelled') {
      io.err(`tessera: cancelled; finished steps are cached in ${result.outDir}/.cache\n`);
      return 130;
    }
    return 0;
  } catch (e) {
    if (e instanceof PipelineConfigError) {
      // Prefix each problem with the file so editors can jump to it.
      for (const p of e.problems) io.err(`${shown}: ${p}\n`);
      return 2;
    }
    if (/^plugins\[\d+\]: /.test((e as Error).message)) throw new UsageError(`${shown}: ${(e as Error).message}`);
    throw e;
  }
}

async function cmdCheck(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse('check', args, { target: { type: 'string', multiple: true }, plugin: { type: 'string', multiple: true }, cost: { type: 'boolean', default: true } });
  if (values.help) return help(io, 'check');
  if (positionals.length !== 1) throw new UsageError(`check: expected one model file, got ${positionals.length} (usage: tessera check <model.onnx> --target <id>)`);
  const targetsWanted = (values.target as string[] | undefined) ?? [];
  const plugins: Plugin[] = [corePlugin];
  for (const spec of (values.plugin as string[] | undefined) ?? []) plugins.push(await loadPlugin(spec, process.cwd()).catch((e: Error) => Promise.reject(new UsageError(`--plugin ${spec}: ${e.message}`))));
  const contributions = collectContributions(plugins);
  const valid = [...contributions.targets.keys()].sort().join(', ');
  if (targetsWanted.length === 0) throw new UsageError(`check: --target is required; valid: ${valid}`);
  for (const t of targetsWanted) if (!contributions.targets.has(t)) throw new UsageError(`--target: unknown target '${t}'; valid: ${valid}`);
  const path = resolve(positionals[0]!);
  if (!existsSync(path)) throw new UsageError(`${positionals[0]}: no such file`);
  let graph;
  try {
    graph = await loadModel(path, { registry: runRegistry(plugins), source: positionals[0] });
  } catch (e) {
    throw new UsageError((e as Error).message.split('\n')[0]!);
  }
  let failed = false;
  for (const id of targetsWanted) {
    const target = contributions.targets.get(id)!.target;
    const diags: Diagnostic[] = target.check(graph);
    const errors = diags.filter((d) => d.severity === 'error');
    for (const d of diags) io.out(`${positionals[0]}: ${id}: ${d.severity}: ${d.message}\n`);
    if (errors.length) {
      failed = true;
      io.out(`${id}: ${errors.length} problem(s); the model does not run on this target\n`);
      continue;
    }
    io.out(`${id}: ok (${graph.nodeCount} nodes supported)\n`);
    if (values.cost) {
      const report = await target.cost(graph, { bindings: bindingsOf(graph) });
      const totals = Object.entries(report.total).map(([k, v]) => `${k}=${Number.isInteger(v) ? v : v.toPrecision(4)}${report.units[k] ? ` ${report.units[k]}` : ''}`);
      io.out(`${id}: ${totals.join('  ')}${report.estimated ? '  (estimated)' : '  (measured)'}\n`);
    }
  }
  return failed ? 1 : 0;
}

/** Symbolic dims (batch 'N' ...) are costed at 1. */
function bindingsOf(graph: { inputs: { type?: { shape?: (number | string | null)[] } }[] }): Record<string, number> {
  const b: Record<string, number> = {};
  for (const v of graph.inputs) for (const d of v.type?.shape ?? []) if (typeof d === 'string') b[d] = 1;
  return b;
}

interface PluginRow {
  name: string;
  version?: string;
  api?: string;
  source: string;
  dir?: string;
  error?: string;
  passes?: string[];
  procedures?: string[];
  targets?: string[];
  datasets?: string[];
  models?: string[];
  formats?: string[];
}

function describePlugin(p: Plugin, source: string, dir?: string): PluginRow {
  return {
    name: p.name,
    version: p.version,
    api: p.api,
    source,
    ...(dir ? { dir } : {}),
    passes: p.passes.map((x) => x.name),
    procedures: p.procedures.map((x) => x.name),
    targets: p.targets.map((x) => x.id),
    datasets: p.datasets.map((x) => x.name),
    models: p.models.map((x) => x.name),
    formats: p.formats.map((x) => x.id),
  };
}

async function cmdPlugins(args: string[], io: Io): Promise<number> {
  const { values } = parse('plugins', args, { json: { type: 'boolean' }, path: { type: 'string', multiple: true } });
  if (values.help) return help(io, 'plugins');
  const root = findWorkspaceRoot();
  const rows: PluginRow[] = [describePlugin(corePlugin, 'built-in')];
  for (const d of discoverPlugins(root, (values.path as string[] | undefined) ?? [])) {
    try {
      rows.push(describePlugin(await loadPluginFrom(d.dir), d.source, relative(root, d.dir) || '.'));
    } catch (e) {
      rows.push({ name: d.name, source: d.source, dir: relative(root, d.dir), error: (e as Error).message.split('\n')[0] });
    }
  }
  if (values.json) {
    io.out(`${JSON.stringify(rows, null, 2)}\n`);
  } else {
    for (const r of rows) {
      io.out(`${r.name}${r.version ? `@${r.version}` : ''}  (${r.source}${r.dir ? `, ${r.dir}` : ''}${r.api ? `, api ${r.api}` : ''})\n`);
      if (r.error) {
        io.out(`  error: ${r.error}\n`);
        continue;
      }
      for (const k of ['passes', 'procedures', 'targets', 'datasets', 'models', 'formats'] as const) {
        const xs = r[k]!;
        if (xs.length) io.out(`  ${k.padEnd(11)} ${xs.join(', ')}\n`);
      }
    }
  }
  return rows.some((r) => r.error) ? 1 : 0;
}

async function cmdReport(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse('report', args, {});
  if (values.help) return help(io, 'report');
  if (positionals.length !== 1) throw new UsageError(`report: expected one run directory, got ${positionals.length} (usage: tessera report <run-dir>)`);
  const dir = resolve(positionals[0]!);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`${positionals[0]}: no such directory`);
  let report;
  try {
    report = await readReport(dir);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const { writeFile } = await import('node:fs/promises');
  await writeFile(resolve(dir, 'report.html'), await renderReportHtml(report, dir));
  io.out(`${report.name}: ${report.status}, seed ${report.seed}, ${report.steps.length} steps\n`);
  for (const s of report.steps) io.out(`  ${s.id.padEnd(18)} ${s.use.padEnd(18)} ${artefactSummary(s.artefacts, 8)}\n`);
  io.out(`report: ${resolve(dir, 'report.html')}\n`);
  return 0;
}

async function cmdNew(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse('new', args, { description: { type: 'string' }, root: { type: 'string' } });
  if (values.help) return help(io, 'new');
  if (positionals[0] !== 'plugin' || positionals.length !== 2) throw new UsageError(`new: usage: tessera new plugin <name>`);
  const { createPlugin } = await import('@tessera/create-plugin');
  const root = values.root ? resolve(values.root as string) : findWorkspaceRoot();
  try {
    const r = await createPlugin({ name: positionals[1]!, root, description: values.description as string | undefined });
    io.out(`created ${r.packageName} in ${relative(process.cwd(), r.dir) || r.dir}:\n${r.files.map((f) => `  ${f}\n`).join('')}next: pnpm install && pnpm tessera run ${relative(process.cwd(), r.example)}\n`);
    return 0;
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

async function cmdSchema(args: string[], io: Io): Promise<number> {
  const { values } = parse('schema', args, { plugin: { type: 'string', multiple: true }, out: { type: 'string' } });
  if (values.help) return help(io, 'schema');
  const plugins: Plugin[] = [corePlugin];
  for (const spec of (values.plugin as string[] | undefined) ?? []) plugins.push(await loadPlugin(spec, process.cwd()).catch((e: Error) => Promise.reject(new UsageError(`--plugin ${spec}: ${e.message}`))));
  const text = `${JSON.stringify(pipelineJsonSchema(collectContributions(plugins)), null, 2)}\n`;
  if (values.out) {
    const { writeFile } = await import('node:fs/promises');
    await writeFile(resolve(values.out as string), text);
    io.out(`wrote ${values.out}\n`);
  } else io.out(text);
  return 0;
}

function help(io: Io, which: string): number {
  io.out(`${HELP[which]}\n`);
  return 0;
}

export async function main(argv: string[], io: Io, signal: AbortSignal = new AbortController().signal): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        return help(io, rest[0] && HELP[rest[0]] ? rest[0] : 'main');
      case '--version':
      case '-v':
        io.out(`tessera core API ${CORE_API_VERSION}\n`);
        return 0;
      case 'run':
        return await cmdRun(rest, io, signal);
      case 'check':
        return await cmdCheck(rest, io);
      case 'plugins':
        return await cmdPlugins(rest, io);
      case 'report':
        return await cmdReport(rest, io);
      case 'new':
        return await cmdNew(rest, io);
      case 'schema':
        return await cmdSchema(rest, io);
      default:
        throw new UsageError(`unknown command '${command}'; valid: run, check, plugins, report, new, schema (tessera --help)`);
    }
  } catch (e) {
    if (e instanceof UsageError || e instanceof PluginLoadError) {
      io.err(`tessera: ${e.message}\n`);
      return 2;
    }
    const msg = (e as Error).message ?? String(e);
    // Errors of the platform are one line per problem (check-targets lists each unsupported op).
    io.err(`tessera: ${msg}\n`);
    if (process.env.TESSERA_DEBUG) io.err(`${(e as Error).stack}\n`);
    return 1;
  }
}
