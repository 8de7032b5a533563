import type { Graph, Node, Value } from './graph.js';
import type { OpRegistry } from './registry.js';
import { nodeDiagnostic, type Diagnostic } from './verifier.js';
import { bindGraphDims, type DimBindings } from './analysis/dims.js';

/** One node's figures in a cost report. */
export interface NodeCostEntry {
  node: string;
  op: string;
  /** Metric name -> value; units are in the report's `units`. */
  metrics: Record<string, number>;
  /** True when any figure comes from a model rather than a measurement. */
  estimated: boolean;
  /** How the figures were derived (scalings, assumptions specific to this node). */
  notes?: string[];
}

export interface CostReport {
  target: string;
  /** Metric name -> unit, e.g. { energy: 'pJ', latency: 'ms' }. */
  units: Record<string, string>;
  perNode: NodeCostEntry[];
  total: Record<string, number>;
  /** True when any figure in the report is modelled rather than measured. */
  estimated: boolean;
  /** The model's inputs and their sources, one line each. */
  assumptions: string[];
}

export interface CostOptions {
  /** Values for symbolic dims, e.g. { N: 1 } for batch 1. */
  bindings?: DimBindings;
}

export type OpSupport = ReadonlySet<string> | ((node: Node) => boolean);
/** Format ids ('float32', 'int8', 'posit<8,2>', 'fixed<8,4>' ...) or a predicate over them. */
export type FormatSupport = ReadonlySet<string> | ((formatId: string) => boolean);

/**
 * A hardware target: what it runs (ops, number formats) and what a graph costs on it. `check`
 * lists every unsupported op and format as an error naming the node, before anything runs; `cost`
 * refuses a graph that does not pass `check`.
 */
export interface Target {
  readonly id: string;
  readonly description: string;
  readonly supportedOps: OpSupport;
  readonly supportedFormats: FormatSupport;
  check(graph: Graph): Diagnostic[];
  cost(graph: Graph, opts?: CostOptions): CostReport | Promise<CostReport>;
}

/** The format id of a value: its number format when set, else its dtype. */
export function formatOf(v: Value): string | undefined {
  return v.format?.id ?? v.type?.dtype;
}

/**
 * Values whose format a target must support by default: node inputs and outputs carrying numbers
 * for compute. int64 / bool / string values (shapes, indices, masks) are metadata of the graph
 * and skipped, as are untyped values.
 */
export function isComputeValue(v: Value): boolean {
  const d = v.type?.dtype;
  return v.format !== undefined || (d !== undefined && d !== 'int64' && d !== 'bool' && d !== 'string');
}

function supportsOp(s: OpSupport, n: Node): boolean {
  return typeof s === 'function' ? s(n) : s.has(n.opId);
}

function supportsFormat(s: FormatSupport, id: string): boolean {
  return typeof s === 'function' ? s(id) : s.has(id);
}

function listOf(s: OpSupport | FormatSupport): string {
  return typeof s === 'function' ? 'see the target\'s supported list' : `supported: ${[...s].sort().join(', ')}`;
}

/** The ops and formats part of `check`, shared by every target. */
export function checkSupport(graph: Graph, t: Pick<Target, 'id' | 'supportedOps' | 'supportedFormats'>, formatScope: (v: Value) => boolean = isComputeValue): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const n of graph.nodes) {
    if (!supportsOp(t.supportedOps, n)) {
      out.push(nodeDiagnostic(n, 'unsupported-op', `op ${n.opId} is not supported by target ${t.id} (${listOf(t.supportedOps)})`));
      continue;
    }
    const seen = new Set<Value>();
    const check = (v: Value | null, where: string) => {
      if (!v || seen.has(v) || !formatScope(v)) return;
      seen.add(v);
      const f = formatOf(v)!;
      if (!supportsFormat(t.supportedFormats, f)) {
        out.push({ ...nodeDiagnostic(n, 'unsupported-format', `${where} %${v.name} has format ${f}, not supported by target ${t.id} (${listOf(t.supportedFormats)})`), value: v.name });
      }
    };
    n.inputs.forEach((v, i) => check(v, `input ${i}`));
    n.outputs.forEach((v, i) => check(v, `output ${i}`));
  }
  return out;
}

/** What a node costs under a model: metrics plus how they were derived. */
export interface NodeCostModel {
  metrics: Record<string, number>;
  estimated?: boolean;
  notes?: string[];
}

/** A target whose cost is computed (not measured): `cost` is synchronous. */
export interface AnalyticTarget extends Target {
  cost(graph: Graph, opts?: CostOptions): CostReport;
}

export interface TargetSpec<C> {
  id: string;
  /** Registry used to re-infer shapes once symbolic dims are bound (default: the standard ops). */
  registry?: OpRegistry;
  description: string;
  supportedOps: OpSupport;
  supportedFormats: FormatSupport;
  units: Record<string, string>;
  assumptions: string[];
  /** Values whose formats are checked (default isComputeValue). */
  formatScope?: (v: Value) => boolean;
  /** Target-specific checks beyond ops and formats (e.g. memory capacity). */
  extraChecks?: (graph: Graph) => Diagnostic[];
  /** Per-graph data shared by the node costs (e.g. MACs from the registry); gets the dim-bound graph. */
  prepare: (graph: Graph) => C;
  /** One node's figures; undefined for nodes that cost nothing on this target (e.g. Reshape). */
  nodeCost: (node: Node, ctx: C) => NodeCostModel | undefined;
  /** Totals from the per-node entries (default: sum of each metric). */
  total?: (perNode: NodeCostEntry[], ctx: C) => Record<string, number>;
}

/** Sums each metric over the nodes. */
export function sumMetrics(perNode: readonly NodeCostEntry[], metrics: readonly string[]): Record<string, number> {
  const t: Record<string, number> = Object.fromEntries(metrics.map((m) => [m, 0]));
  for (const e of perNode) for (const m of metrics) t[m]! += e.metrics[m] ?? 0;
  return t;
}

/**
 * Makes a target whose `check` and `cost` share one description: cost first runs check and throws
 * the first error as one line naming the target and node, then walks the nodes in order.
 */
export function defineTarget<C>(spec: TargetSpec<C>): AnalyticTarget {
  const check = (graph: Graph): Diagnostic[] => [...checkSupport(graph, spec, spec.formatScope), ...(spec.extraChecks?.(graph) ?? [])];
  return {
    id: spec.id,
    description: spec.description,
    supportedOps: spec.supportedOps,
    supportedFormats: spec.supportedFormats,
    check,
    cost(graph, opts = {}) {
      assertSupported(spec.id, check(graph));
      const g = opts.bindings ? bindGraphDims(graph, opts.bindings, spec.registry) : graph;
      const ctx = spec.prepare(g);
      const perNode: NodeCostEntry[] = [];
      for (const n of g.nodes) {
        const c = spec.nodeCost(n, ctx);
        if (!c) continue;
        perNode.push({ node: n.name, op: n.opId, metrics: c.metrics, estimated: c.estimated ?? true, ...(c.notes?.length ? { notes: c.notes } : {}) });
      }
      const total = spec.total ? spec.total(perNode, ctx) : sumMetrics(perNode, Object.keys(spec.units));
      return { target: spec.id, units: spec.units, perNode, total, estimated: perNode.some((e) => e.estimated) || perNode.length === 0, assumptions: spec.assumptions };
    },
  };
}

/** Throws the first error diagnostic as one line naming the target (used by every target's cost). */
export function assertSupported(targetId: string, diagnostics: readonly Diagnostic[]): void {
  const errors = diagnostics.filter((d) => d.severity === 'error');
  if (errors.length === 0) return;
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more; target.check lists them)` : '';
  throw new Error(`target ${targetId}: ${errors[0]!.message}${more}`);
}
