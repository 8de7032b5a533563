import type { Graph, OpRegistry } from '@tessera/core';
import { BACKENDS, createExecutor, tensorMismatch, type BackendName, type Executor, type Feeds, type Results } from '@tessera/runtime';

export interface EquivalenceOptions {
  /** Relative tolerance (default 1e-4). */
  rtol?: number;
  /** Absolute tolerance (default 1e-5). */
  atol?: number;
  /** Backends to run; the first is the baseline (default: reference, ort-node, ort-web). */
  backends?: readonly BackendName[];
  /** Registry for the reference interpreter. */
  registry?: OpRegistry;
  /** Values to compare (default: the graph outputs). */
  fetches?: readonly string[];
  /** Executors to reuse (their sessions stay cached); others are created and disposed here. */
  executors?: Partial<Record<BackendName, Executor>>;
}

export interface Mismatch {
  /** Where the numbers came from, e.g. 'ort-web' or 'graph b'. */
  actual: string;
  /** The baseline, e.g. 'reference' or 'graph a'. */
  expected: string;
  output: string;
  message: string;
}

export interface BackendComparison {
  ok: boolean;
  results: Partial<Record<BackendName, Results>>;
  mismatches: Mismatch[];
}

function compareResults(actual: Results, expected: Results, names: readonly string[], a: string, e: string, rtol: number, atol: number): Mismatch[] {
  const out: Mismatch[] = [];
  for (const name of names) {
    const x = actual[name];
    const y = expected[name];
    if (!x || !y) {
      out.push({ actual: a, expected: e, output: name, message: `missing in ${!x ? a : e}` });
      continue;
    }
    const m = tensorMismatch(x, y, { rtol, atol });
    if (m) out.push({ actual: a, expected: e, output: name, message: m });
  }
  return out;
}

/** One line per mismatch, for assertion messages. */
export function formatMismatches(ms: readonly Mismatch[]): string {
  return ms.map((m) => `${m.actual} vs ${m.expected}, output '${m.output}': ${m.message}`).join('; ');
}

/**
 * Runs one graph on several backends and compares every fetched value with the first backend's
 * (numpy allclose semantics: |a - b| <= atol + rtol * |b|, NaN equals NaN, dtype and shape must match).
 */
export async function compareBackends(graph: Graph, feeds: Feeds, opts: EquivalenceOptions = {}): Promise<BackendComparison> {
  const backends = opts.backends ?? BACKENDS;
  if (backends.length < 2) throw new Error(`compareBackends: give at least two backends (got ${backends.join(', ') || 'none'})`);
  const rtol = opts.rtol ?? 1e-4;
  const atol = opts.atol ?? 1e-5;
  const fetches = opts.fetches ?? graph.outputs.map((v) => v.name);
  const results: Partial<Record<BackendName, Results>> = {};
  for (const b of backends) {
    const given = opts.executors?.[b];
    const ex = given ?? createExecutor(b, { registry: opts.registry });
    try {
      results[b] = await ex.run(graph, feeds, fetches);
    } finally {
      if (!given) await ex.dispose();
    }
  }
  const base = backends[0]!;
  const mismatches = backends.slice(1).flatMap((b) => compareResults(results[b]!, results[base]!, fetches, b, base, rtol, atol));
  return { ok: mismatches.length === 0, results, mismatches };
}

/** Throws one line listing every mismatch when the backends disagree. */
export async function expectBackendsAgree(graph: Graph, feeds: Feeds, opts: EquivalenceOptions = {}): Promise<BackendComparison> {
  const r = await compareBackends(graph, feeds, opts);
  if (!r.ok) throw new Error(`graph "${graph.name}": backends disagree: ${formatMismatches(r.mismatches)}`);
  return r;
}

export interface GraphEquivalenceOptions extends Omit<EquivalenceOptions, 'backends' | 'executors'> {
  /** Backend that runs both graphs (default 'reference'). */
  backend?: BackendName;
  executor?: Executor;
}

/**
 * Numeric equivalence of two graphs (e.g. before and after a pass) on one backend: same feeds,
 * outputs compared by name (default: the outputs of `a`).
 */
export async function compareGraphs(a: Graph, b: Graph, feeds: Feeds, opts: GraphEquivalenceOptions = {}): Promise<{ ok: boolean; mismatches: Mismatch[]; a: Results; b: Results }> {
  const ex = opts.executor ?? createExecutor(opts.backend ?? 'reference', { registry: opts.registry });
  const fetches = opts.fetches ?? a.outputs.map((v) => v.name);
  try {
    const ra = await ex.run(a, feeds, fetches);
    const rb = await ex.run(b, feeds, fetches);
    const mismatches = compareResults(rb, ra, fetches, `graph "${b.name}"`, `graph "${a.name}"`, opts.rtol ?? 1e-4, opts.atol ?? 1e-5);
    return { ok: mismatches.length === 0, mismatches, a: ra, b: rb };
  } finally {
    if (!opts.executor) await ex.dispose();
  }
}
