/**
 * The pipeline config: the same object from JSON or TypeScript. Validation reports one line per
 * problem, each naming the field path (`steps[1].use: unknown step 'quantise'; valid: ...`),
 * never a cascade of union errors.
 */
import { z } from 'zod';
import type { Plugin, StepDefinition } from './plugin.js';

const ModelSource = z
  .object({
    builder: z.string().min(1).optional(),
    config: z.record(z.string(), z.unknown()).optional(),
    onnx: z.string().min(1).optional(),
    from: z.string().min(1).optional(),
  })
  .strict()
  .superRefine((m, ctx) => {
    const given = (['builder', 'onnx', 'from'] as const).filter((k) => m[k] !== undefined);
    if (given.length !== 1) {
      ctx.addIssue({ code: 'custom', message: `give exactly one of builder, onnx, from (got ${given.length ? given.join(', ') : 'none'})` });
    }
    if (m.config !== undefined && m.builder === undefined) ctx.addIssue({ code: 'custom', path: ['config'], message: 'only a builder model takes a config' });
  });

const DataBlock = z.object({ dataset: z.string().min(1) }).catchall(z.unknown());

const Step = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . - only').optional(),
    use: z.string().min(1),
    options: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

const Outputs = z
  .object({
    dir: z.string().min(1).optional(),
    onnx: z.boolean().default(true),
    report: z.boolean().default(true),
  })
  .strict();

export const PipelineConfigSchema = z
  .object({
    $schema: z.string().optional(),
    name: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . - only (it names the output directory)'),
    description: z.string().optional(),
    seed: z.number().int().nonnegative().default(0),
    /** Absent for pipelines whose steps need no graph (e.g. a decoder sweep). */
    model: ModelSource.optional(),
    data: DataBlock.optional(),
    plugins: z.array(z.string().min(1)).default([]),
    steps: z.array(Step).min(1),
    targets: z.array(z.string().min(1)).default([]),
    outputs: Outputs.default({ onnx: true, report: true }),
  })
  .strict();

/** What a user writes (defaults optional). */
export type PipelineConfigInput = z.input<typeof PipelineConfigSchema>;
/** After validation (defaults filled in). */
export type PipelineConfig = z.output<typeof PipelineConfigSchema>;
export type StepConfig = PipelineConfig['steps'][number];

/** Identity with types, for pipelines written in TypeScript. */
export function definePipeline(config: PipelineConfigInput): PipelineConfigInput {
  return config;
}

export class PipelineConfigError extends Error {
  constructor(
    readonly problems: string[],
    readonly source = 'pipeline',
  ) {
    super(problems.map((p) => `${source}: ${p}`).join('\n'));
    this.name = 'PipelineConfigError';
  }
}

/** `['steps', 1, 'use']` -> `steps[1].use`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out || '(root)';
}

function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v)}`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

/** The object schema at a path, to list the valid keys next to an unknown one. */
function objectKeysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] | undefined {
  let s: z.ZodType | undefined = schema;
  const unwrap = (x: z.ZodType): z.ZodType => {
    let cur = x;
    for (let i = 0; i < 8; i++) {
      const def = (cur as unknown as { def: { type: string; innerType?: z.ZodType; in?: z.ZodType } }).def;
      if (def.innerType) cur = def.innerType;
      else if (def.type === 'pipe' && def.in) cur = def.in;
      else break;
    }
    return cur;
  };
  for (const p of path) {
    if (!s) return undefined;
    s = unwrap(s);
    if (s instanceof z.ZodObject) s = s.shape[String(p)] as z.ZodType | undefined;
    else if (s instanceof z.ZodArray) s = s.element as z.ZodType;
    else return undefined;
  }
  if (!s) return undefined;
  s = unwrap(s);
  return s instanceof z.ZodObject ? Object.keys(s.shape) : undefined;
}

/** One line per zod issue, prefixed with the field path under `prefix`. */
export function formatIssues(error: z.ZodError, schema: z.ZodType, prefix: readonly PropertyKey[] = []): string[] {
  const lines: string[] = [];
  for (const issue of error.issues) {
    const path = [...prefix, ...issue.path];
    const input = (issue as { input?: unknown }).input;
    switch (issue.code) {
      case 'unrecognized_keys': {
        const valid = objectKeysAt(schema, issue.path);
        for (const k of issue.keys) lines.push(`${formatPath([...path, k])}: unknown key${valid ? `; valid: ${valid.join(', ')}` : ''}`);
        break;
      }
      case 'invalid_type':
        lines.push(input === undefined ? `${formatPath(path)}: required (${issue.expected})` : `${formatPath(path)}: expected ${issue.expected}, got ${describeValue(input)}`);
        break;
      case 'invalid_value':
        lines.push(`${formatPath(path)}: expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${describeValue(input)}`);
        break;
      case 'invalid_union':
        lines.push(`${formatPath(path)}: ${issue.message}`);
        break;
      default:
        lines.push(`${formatPath(path)}: ${issue.message.replace(/^Invalid input: /, '')}`);
    }
  }
  return lines;
}

/** Structural validation only (no plugins needed): keys, types, defaults. */
export function parsePipelineConfig(raw: unknown, source = 'pipeline'): PipelineConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new PipelineConfigError([`expected a JSON object, got ${describeValue(raw)}`], source);
  const r = PipelineConfigSchema.safeParse(raw, { reportInput: true });
  if (!r.success) throw new PipelineConfigError(formatIssues(r.error, PipelineConfigSchema), source);
  const problems: string[] = [];
  const ids = new Map<string, number>();
  r.data.steps.forEach((s, i) => {
    const id = s.id ?? s.use;
    const prev = ids.get(id);
    if (prev !== undefined) problems.push(`steps[${i}]${s.id ? '.id' : '.use'}: step id '${id}' is already used by steps[${prev}]; give one of them an 'id'`);
    ids.set(id, i);
  });
  if (r.data.model?.from !== undefined && !ids.has(r.data.model.from)) {
    problems.push(`model.from: no step with id '${r.data.model.from}'; valid: ${[...ids.keys()].join(', ')}`);
  }
  if (problems.length) throw new PipelineConfigError(problems, source);
  return r.data;
}

export function stepId(step: StepConfig): string {
  return step.id ?? step.use;
}

export interface ResolvedStep {
  id: string;
  index: number;
  definition: StepDefinition;
  plugin: Plugin;
  /** Options after the step's schema filled in defaults. */
  options: Record<string, unknown>;
}

export interface PluginContributions {
  steps: Map<string, { definition: StepDefinition; plugin: Plugin }>;
  targets: Set<string>;
  datasets: Set<string>;
  models: Set<string>;
}

/**
 * Semantic validation against the loaded plugins: step names, step options (by each step's own
 * schema), targets, dataset, model builder. Collects every problem before throwing.
 */
export function resolveSteps(config: PipelineConfig, contributions: PluginContributions, source = 'pipeline'): ResolvedStep[] {
  const problems: string[] = [];
  const resolved: ResolvedStep[] = [];
  const list = (xs: Iterable<string>) => [...xs].sort().join(', ') || '(none)';
  config.steps.forEach((step, index) => {
    const found = contributions.steps.get(step.use);
    if (!found) {
      problems.push(`steps[${index}].use: unknown step '${step.use}'${suggest(step.use, contributions.steps.keys())}; valid: ${list(contributions.steps.keys())}`);
      return;
    }
    const schema = found.definition.options;
    const r = schema.safeParse(step.options ?? {}, { reportInput: true });
    if (!r.success) {
      problems.push(...formatIssues(r.error, schema, ['steps', index, 'options']));
      return;
    }
    resolved.push({ id: stepId(step), index, definition: found.definition, plugin: found.plugin, options: r.data as Record<string, unknown> });
  });
  config.targets.forEach((t, i) => {
    if (!contributions.targets.has(t)) problems.push(`targets[${i}]: unknown target '${t}'${suggest(t, contributions.targets)}; valid: ${list(contributions.targets)}`);
  });
  if (config.data && !contributions.datasets.has(config.data.dataset)) {
    problems.push(`data.dataset: unknown dataset '${config.data.dataset}'${suggest(config.data.dataset, contributions.datasets)}; valid: ${list(contributions.datasets)}`);
  }
  if (config.model?.builder !== undefined && !contributions.models.has(config.model.builder)) {
    problems.push(`model.builder: unknown model '${config.model.builder}'${suggest(config.model.builder, contributions.models)}; valid: ${list(contributions.models)}`);
  }
  if (problems.length) throw new PipelineConfigError(problems, source);
  return resolved;
}

/** ` (did you mean 'x'?)` when a known name is close to the given one. */
function suggest(name: string, known: Iterable<string>): string {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = editDistance(name.toLowerCase(), k.toLowerCase());
    if (d < bestD) [best, bestD] = [k, d];
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(name.length / 3)) ? ` (did you mean '${best}'?)` : '';
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}
