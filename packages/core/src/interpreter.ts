import type { Graph, Node, Value } from './graph.js';
import type { FloatAlloc, Kernel, OpRegistry, OpSchema } from './registry.js';
import { standardOps } from './ops/index.js';
import type { Tensor } from './tensor.js';

export interface InterpretOptions {
  /** Ops and kernels to run with (default: standardOps()). */
  registry?: OpRegistry;
  /** Names of the values to return (default: the graph's outputs). Any value in the graph may be fetched. */
  fetches?: string[];
}

/** An interpreter failure: one line naming the node and op (or the graph input) and what is wrong. */
export class InterpretError extends Error {
  constructor(message: string, readonly node?: Node) {
    super(message);
    this.name = 'InterpretError';
  }
}

/** Values visible while running a graph: its own, then the enclosing graphs' (for If/Loop/Scan bodies). */
class Scope {
  readonly values = new Map<string, Tensor>();
  constructor(readonly parent?: Scope) {}

  get(name: string): Tensor | undefined {
    return this.values.get(name) ?? this.parent?.get(name);
  }
}

interface Plan {
  /** For each node, the names whose last use is that node (freed after it runs). */
  frees: string[][];
  /** Buffers owned by the graph itself (tensor attributes such as Constant values): never donated. */
  owned: Set<ArrayBufferLike>;
  /** Recycled float buffers of dead values, handed out by `alloc` in later nodes and later runs. */
  pool: { float32: Float32Array[]; float64: Float64Array[] };
  alloc: FloatAlloc;
  /** Names a graph reads from enclosing scopes. */
  free: Set<string>;
  /** What the plan was computed from: a graph edited in place (passes) gets a new plan. */
  version: number;
  outputs: string;
}

const plans = new WeakMap<Graph, Plan>();

function usedNames(node: Node): string[] {
  const names: string[] = [];
  for (const v of node.inputs) if (v && v.name !== '') names.push(v.name);
  for (const a of node.attrs.values()) {
    if (a.kind === 'graph') names.push(...planOf(a.value).free);
    else if (a.kind === 'graphs') for (const g of a.value) names.push(...planOf(g).free);
  }
  return names;
}

function planOf(graph: Graph): Plan {
  const outputs = graph.outputs.map((v) => v.name).join('\u0000');
  const cached = plans.get(graph);
  if (cached && cached.version === graph.version && cached.outputs === outputs) return cached;
  const nodes = graph.nodes;
  const defined = new Set<string>([...graph.inputs.map((v) => v.name), ...graph.initializers.keys()]);
  const free = new Set<string>();
  const last = new Map<string, number>();
  nodes.forEach((n, i) => {
    for (const name of usedNames(n)) {
      if (!defined.has(name)) free.add(name);
      last.set(name, i);
    }
    for (const o of n.outputs) if (o.name !== '') defined.add(o.name);
  });
  const keep = new Set([...graph.outputs.map((v) => v.name), ...graph.inputs.map((v) => v.name), ...graph.initializers.keys()]);
  const frees: string[][] = nodes.map(() => []);
  for (const [name, i] of last) if (!keep.has(name) && !free.has(name)) frees[i]!.push(name);
  const owned = new Set<ArrayBufferLike>();
  collectOwned(graph, owned);
  const pool: Plan['pool'] = { float32: [], float64: [] };
  const plan: Plan = { frees, free, owned, pool, alloc: poolAlloc(pool), version: graph.version, outputs };
  plans.set(graph, plan);
  return plan;
}

/** Buffers of a graph's initializers and tensor attributes, nested graphs included. */
function collectOwned(graph: Graph, owned: Set<ArrayBufferLike>): void {
  for (const v of graph.initializers.values()) if (v.initializer) owned.add(bufferOf(v.initializer));
  for (const n of graph.nodes) {
    for (const a of n.attrs.values()) {
      if (a.kind === 'tensor') owned.add(bufferOf(a.value));
      else if (a.kind === 'tensors') for (const t of a.value) owned.add(bufferOf(t));
      else if (a.kind === 'graph') collectOwned(a.value, owned);
      else if (a.kind === 'graphs') for (const g of a.value) collectOwned(g, owned);
    }
  }
}

// At most this many recycled buffers per dtype and graph.
const POOL_SIZE = 16;

/** Best fit from the pool (a buffer of n to 2n elements), zero-filled; a new array otherwise. */
function poolAlloc(pool: Plan['pool']): FloatAlloc {
  const take = (list: (Float32Array | Float64Array)[], n: number) => {
    let best = -1;
    for (let i = 0; i < list.length; i++) {
      const len = list[i]!.length;
      if (len >= n && len <= 2 * n + 1024 && (best < 0 || len < list[best]!.length)) best = i;
    }
    if (best < 0) return undefined;
    const a = list.splice(best, 1)[0]!;
    const v = a.length === n ? a : a.subarray(0, n);
    v.fill(0);
    return v;
  };
  return ((dtype: 'float32' | 'float64', n: number) => {
    if (dtype === 'float32') return take(pool.float32, n) ?? new Float32Array(n);
    return take(pool.float64, n) ?? new Float64Array(n);
  }) as FloatAlloc;
}

/** Returns a dead value's buffer to the pool when it is fresh, unowned, unfed and seen by nothing live. */
function recycle(t: Tensor, scope: Scope, plan: Plan, guard: Guard): void {
  const d = t.data;
  if (!(d instanceof Float32Array || d instanceof Float64Array) || d.length < 4096) return;
  const buf = d.buffer;
  if (!guard.fresh.has(buf) || plan.owned.has(buf) || guard.fed.has(buf)) return;
  for (let s: Scope | undefined = scope; s; s = s.parent) for (const u of s.values.values()) if (bufferOf(u) === buf) return;
  guard.fresh.delete(buf);
  if (d instanceof Float32Array) {
    if (plan.pool.float32.length < POOL_SIZE) plan.pool.float32.push(new Float32Array(buf as ArrayBuffer));
  } else if (plan.pool.float64.length < POOL_SIZE) plan.pool.float64.push(new Float64Array(buf as ArrayBuffer));
}

function bufferOf(t: Tensor): ArrayBufferLike {
  const d = t.data as { buffer?: ArrayBufferLike };
  return d.buffer ?? (t.data as unknown as ArrayBufferLike);
}

/**
 * Inputs of node i that die at it and whose buffer nothing else can see: not fed, not owned by the
 * graph (initializers, tensor attributes), not fetched, not shared with another input of the node
 * or with any other live value in this scope or an enclosing one. Kernels may write into them.
 */
function donations(node: Node, inputs: (Tensor | undefined)[], dying: string[], scope: Scope, plan: Plan, guard: Guard): Set<Tensor> | undefined {
  let out: Set<Tensor> | undefined;
  for (let j = 0; j < inputs.length; j++) {
    const t = inputs[j];
    const v = node.inputs[j];
    if (!t || !v || !dying.includes(v.name) || guard.keep?.has(v.name) || typeof t.data === 'object' && Array.isArray(t.data)) continue;
    const buf = bufferOf(t);
    if (!guard.fresh.has(buf) || plan.owned.has(buf) || guard.fed.has(buf)) continue;
    let shared = false;
    for (let q = 0; q < inputs.length && !shared; q++) if (q !== j && inputs[q] && bufferOf(inputs[q]!) === buf) shared = true;
    for (let s: Scope | undefined = scope; s && !shared; s = s.parent) {
      for (const [name, u] of s.values) if (u !== t ? bufferOf(u) === buf : name !== v.name) { shared = true; break; }
    }
    if (!shared) (out ??= new Set()).add(t);
  }
  return out;
}

/**
 * What the run may and may not overwrite: the caller's feeds (by buffer) and fetches (by name) never;
 * only `fresh` buffers, which a standard kernel (not a plugin's, not a control-flow op's) allocated
 * during this run, can be donated.
 */
interface Guard {
  fed: Set<ArrayBufferLike>;
  keep?: Set<string>;
  fresh: WeakSet<object>;
}

function hasGraphAttr(node: Node): boolean {
  for (const a of node.attrs.values()) if (a.kind === 'graph' || a.kind === 'graphs') return true;
  return false;
}

function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0]!;
}

function fmtType(t: Tensor): string {
  return `${t.dtype}[${t.shape.join(', ')}]`;
}

function checkInput(v: Value, t: Tensor, graph: Graph): void {
  const type = v.type;
  if (!type) return;
  const expected = `${type.dtype}[${type.shape?.map((d) => d ?? '?').join(', ') ?? '*'}]`;
  const where = `graph "${graph.name}": input '${v.name}'`;
  if (type.dtype !== t.dtype) throw new InterpretError(`${where} expects ${expected}, got ${fmtType(t)} (dtype ${t.dtype} instead of ${type.dtype})`);
  if (!type.shape) return;
  if (type.shape.length !== t.rank) throw new InterpretError(`${where} expects ${expected}, got ${fmtType(t)} (rank ${t.rank} instead of ${type.shape.length})`);
  type.shape.forEach((d, i) => {
    if (typeof d === 'number' && d !== t.shape[i]) {
      throw new InterpretError(`${where} expects ${expected}, got ${fmtType(t)} (dim ${i} is ${t.shape[i]}, expected ${d})`);
    }
  });
}

function kernelFor(node: Node, schema: OpSchema): Kernel {
  const variant = node.meta.get('kernel');
  if (variant === undefined) return schema.kernel;
  const k = typeof variant === 'string' ? schema.variants?.[variant] : undefined;
  if (!k) {
    const valid = Object.keys(schema.variants ?? {});
    throw new InterpretError(`${node.describe()}: kernel variant '${String(variant)}' is not defined; valid variants: ${valid.length ? valid.join(', ') : 'none (only the default kernel)'}`, node);
  }
  return k;
}

function runGraph(graph: Graph, scope: Scope, registry: OpRegistry, guard: Guard, fetches?: string[]): Tensor[] {
  const plan = planOf(graph);
  for (const [name, v] of graph.initializers) if (!scope.values.has(name)) scope.values.set(name, v.initializer!);
  const nodes = graph.nodes;
  const keep = fetches ? new Set(fetches) : undefined;
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i]!;
    const schema = registry.get(node.op, node.domain);
    if (!schema) throw new InterpretError(`${node.describe()}: unknown op ${node.opId}, not in the op registry (${registry.size} ops known)`, node);
    const kernel = kernelFor(node, schema);
    const inputs = node.inputs.map((v) => {
      if (!v || v.name === '') return undefined;
      const t = scope.get(v.name);
      if (!t) throw new InterpretError(`${node.describe()}: input '${v.name}' has no value (not fed, not computed before this node)`, node);
      return t;
    });
    let outs: Tensor[];
    const dying = plan.frees[i]!;
    try {
      outs = kernel({
        node,
        inputs,
        runGraph: (g, feeds) => {
          const inner = new Scope(scope);
          for (const [k, t] of feeds) inner.values.set(k, t);
          return runGraph(g, inner, registry, guard);
        },
        donated: dying.length > 0 ? donations(node, inputs, dying, scope, plan, guard) : undefined,
        alloc: plan.alloc,
      });
    } catch (e) {
      if (e instanceof InterpretError) throw e;
      throw new InterpretError(`${node.describe()}: ${firstLine(e)}`, node);
    }
    if (schema === standardOps().get(node.op, node.domain) && !hasGraphAttr(node)) {
      for (const t of outs) {
        if (!t) continue;
        const b = bufferOf(t);
        if (!inputs.some((x) => x && bufferOf(x) === b)) guard.fresh.add(b);
      }
    } else {
      // A plugin's kernel may keep what it was given (observers, calibration): its inputs escape and
      // are never written over later.
      for (const x of inputs) if (x) guard.fresh.delete(bufferOf(x));
    }
    node.outputs.forEach((o, j) => {
      if (o.name === '') return;
      const t = outs[j];
      if (!t) throw new InterpretError(`${node.describe()}: kernel returned ${outs.length} outputs, output '${o.name}' (#${j}) is missing`, node);
      scope.values.set(o.name, t);
    });
    for (const name of plan.frees[i]!) {
      if (keep?.has(name)) continue;
      const t = scope.values.get(name);
      scope.values.delete(name);
      if (t) recycle(t, scope, plan, guard);
    }
  }
  const names = fetches ?? graph.outputs.map((v) => v.name);
  return names.map((name) => {
    const t = scope.get(name);
    if (!t) throw new InterpretError(`graph "${graph.name}": output '${name}' was not computed (no node produces it and it is not fed)`);
    return t;
  });
}

/**
 * Runs a graph on the reference kernels. Feeds are keyed by graph input name; the result is keyed
 * by output (or fetch) name. Intermediates are dropped after their last use; nested graphs
 * (If / Loop / Scan bodies) see outer values by name. A node's `meta.get('kernel')` picks one of
 * its op's kernel variants. Failures are one-line `InterpretError`s naming the node and op.
 */
export function interpret(graph: Graph, feeds: Record<string, Tensor>, opts: InterpretOptions = {}): Record<string, Tensor> {
  const registry = opts.registry ?? standardOps();
  const scope = new Scope();
  for (const v of graph.inputs) {
    const t = feeds[v.name];
    if (!t) {
      if (v.initializer) continue;
      throw new InterpretError(`graph "${graph.name}": input '${v.name}' is not fed (feeds: ${Object.keys(feeds).join(', ') || 'none'})`);
    }
    checkInput(v, t, graph);
    scope.values.set(v.name, t);
  }
  for (const [name, t] of Object.entries(feeds)) {
    if (!graph.inputs.some((v) => v.name === name)) {
      if (!graph.hasValue(name)) throw new InterpretError(`graph "${graph.name}": feed '${name}' is not a value of the graph (inputs: ${graph.inputs.map((v) => v.name).join(', ')})`);
      scope.values.set(name, t);
    }
  }
  if (opts.fetches) {
    for (const f of opts.fetches) {
      if (!graph.hasValue(f)) throw new InterpretError(`graph "${graph.name}": fetch '${f}' is not a value of the graph`);
    }
  }
  const names = opts.fetches ?? graph.outputs.map((v) => v.name);
  const guard: Guard = { fed: new Set(Object.values(feeds).map(bufferOf)), keep: opts.fetches ? new Set(opts.fetches) : undefined, fresh: new WeakSet() };
  const outs = runGraph(graph, scope, registry, guard, opts.fetches);
  const result: Record<string, Tensor> = {};
  names.forEach((n, i) => { result[n] = outs[i]!; });
  return result;
}
