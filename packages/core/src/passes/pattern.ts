import { Graph, type Attribute, type Node, type Value } from '../graph.js';
import { OpRegistry, type OpSchema } from '../registry.js';
import { GraphBuilder, constantOf } from '../builder.js';
import type { Tensor } from '../tensor.js';
import { standardOps } from '../ops/index.js';
import type { Pass } from './pass.js';

/** A successful match of a rule's pattern in a graph. */
export interface Match {
  rule: string;
  /** The graph node that produces the pattern's output. */
  root: Node;
  /** Graph values bound to the pattern's placeholders, by name. */
  vars: Record<string, Value>;
  /** Matched graph nodes in graph order. */
  nodes: Node[];
  /** The graph node matched by the pattern node created with `{ name }` in the pattern. */
  node(patternName: string): Node;
  /** The data of a bound placeholder when it is constant (initializer or Constant). */
  constant(varName: string): Tensor | undefined;
}

/**
 * A rewrite rule in three parts, written with the same GraphBuilder that builds graphs:
 * - `pattern(b, vars)` builds the subgraph to look for over placeholder values (one per name in
 *   `vars`); constants made with `b.constant(x)` must match constants of equal value; attributes
 *   given in the pattern must match, others are free; ops only need to exist in the registry;
 * - `check(match)` returns true, or the reason the match is rejected;
 * - `rewrite(b, match)` builds the replacement (inserted before the matched root) and returns the
 *   value that replaces the pattern's output.
 * `commute` also tries swapped operands of commutative binary ops (Add, Mul, And, Or, Xor, Max, Min, Sum).
 */
export interface RewriteRule {
  name: string;
  vars: readonly string[];
  pattern(b: GraphBuilder, v: Record<string, Value>): Value;
  check?(m: Match): true | string;
  rewrite(b: GraphBuilder, m: Match): Value;
  commute?: boolean;
}

/** Identity helper that types a rule object literal. */
export function defineRewriteRule(rule: RewriteRule): RewriteRule {
  return rule;
}

export interface TraceEntry {
  rule: string;
  node: string;
  op: string;
  matched: boolean;
  /** Why the rule did not fire at this node (absent when it fired). */
  reason?: string;
}

/** Records, for every rule and every candidate node (same op as the pattern's root), whether it fired and why not. */
export class RewriteTracer {
  readonly entries: TraceEntry[] = [];

  record(e: TraceEntry): void {
    this.entries.push(e);
  }

  /** Entries of one rule (and optionally one node). */
  why(rule: string, node?: string): TraceEntry[] {
    return this.entries.filter((e) => e.rule === rule && (node === undefined || e.node === node));
  }

  report(): string {
    return this.entries
      .map((e) => `${e.rule} at node "${e.node}" (${e.op}): ${e.matched ? 'fired' : `no match: ${e.reason}`}`)
      .join('\n');
  }
}

const COMMUTATIVE = new Set(['Add', 'Mul', 'And', 'Or', 'Xor', 'Max', 'Min', 'Sum', 'Equal']);

interface CompiledPattern {
  graph: Graph;
  output: Value;
  root: Node;
  placeholders: Set<Value>;
}

/** A registry view where every op exists and inference is skipped: patterns have untyped placeholders. */
class PatternRegistry extends OpRegistry {
  constructor(private readonly base: OpRegistry) {
    super();
  }

  override get(op: string, domain = ''): OpSchema | undefined {
    const s = this.base.get(op, domain);
    const kernel = () => {
      throw new Error(`pattern op ${op} cannot run`);
    };
    return s ? { ...s, infer: () => [] } : { op, domain, inputs: [], outputs: [{ name: 'output' }], infer: () => [], kernel };
  }
}

const compiled = new WeakMap<RewriteRule, Map<OpRegistry, CompiledPattern>>();

function compile(rule: RewriteRule, registry: OpRegistry): CompiledPattern {
  let byReg = compiled.get(rule);
  if (!byReg) compiled.set(rule, (byReg = new Map()));
  const hit = byReg.get(registry);
  if (hit) return hit;
  const graph = new Graph(`pattern:${rule.name}`);
  const b = new GraphBuilder(graph, new PatternRegistry(registry));
  const vars: Record<string, Value> = {};
  for (const name of rule.vars) vars[name] = graph.addInput(name);
  const output = rule.pattern(b, vars);
  if (!output.producer) throw new Error(`rewrite rule ${rule.name}: the pattern must return a node output, got placeholder %${output.name}`);
  const c = { graph, output, root: output.producer, placeholders: new Set(graph.inputs) };
  byReg.set(registry, c);
  return c;
}

interface MatchState {
  vars: Map<string, Value>;
  nodes: Map<Node, Node>; // pattern node -> graph node
  used: Set<Node>;
}

function snapshot(s: MatchState): MatchState {
  return { vars: new Map(s.vars), nodes: new Map(s.nodes), used: new Set(s.used) };
}

function restore(s: MatchState, from: MatchState): void {
  s.vars = from.vars;
  s.nodes = from.nodes;
  s.used = from.used;
}

function matchValue(p: CompiledPattern, pv: Value, gv: Value, s: MatchState, commute: boolean): string | null {
  if (p.placeholders.has(pv)) {
    const bound = s.vars.get(pv.name);
    if (bound && bound !== gv) return `placeholder ${pv.name} is bound to %${bound.name} but would also be %${gv.name}`;
    s.vars.set(pv.name, gv);
    return null;
  }
  if (pv.initializer) {
    const t = constantOf(gv);
    if (!t) return `%${gv.name} is not a constant (the pattern wants ${fmtConst(pv.initializer)})`;
    return constantsEqual(pv.initializer, t) ? null : `%${gv.name} is ${fmtConst(t)}, the pattern wants ${fmtConst(pv.initializer)}`;
  }
  const pn = pv.producer!;
  const gn = gv.producer;
  if (!gn) return `%${gv.name} is ${gv.isGraphInput ? 'a graph input' : 'not produced by a node'}, the pattern wants an output of ${pn.opId}`;
  if (gn.op !== pn.op || gn.domain !== pn.domain) return `%${gv.name} comes from node "${gn.name}" (${gn.opId}), the pattern wants ${pn.opId}`;
  if (gv.producerIndex !== pv.producerIndex) return `%${gv.name} is output ${gv.producerIndex} of node "${gn.name}", the pattern wants output ${pv.producerIndex}`;
  const prev = s.nodes.get(pn);
  if (prev) return prev === gn ? null : `pattern node ${pn.opId} would match both "${prev.name}" and "${gn.name}"`;
  if (s.used.has(gn)) return `node "${gn.name}" is already matched by another pattern node`;
  for (const [name, a] of pn.attrs) {
    const ga = gn.attrs.get(name);
    if (!ga || !attrEqual(a, ga)) return `node "${gn.name}" (${gn.opId}) attribute '${name}' is ${ga ? JSON.stringify(ga.value) : 'absent'}, the pattern wants ${JSON.stringify(a.value)}`;
  }
  const pIn = trimNulls(pn.inputs);
  const gIn = trimNulls(gn.inputs);
  if (pIn.length !== gIn.length) return `node "${gn.name}" (${gn.opId}) has ${gIn.length} inputs, the pattern wants ${pIn.length}`;
  s.nodes.set(pn, gn);
  s.used.add(gn);
  const orders = commute && COMMUTATIVE.has(pn.op) && pIn.length === 2 ? [[0, 1], [1, 0]] : [pIn.map((_, i) => i)];
  let firstReason: string | null = null;
  for (const order of orders) {
    const saved = snapshot(s);
    let reason: string | null = null;
    for (let i = 0; i < pIn.length && !reason; i++) {
      const pi = pIn[i]!;
      const gi = gIn[order[i]!]!;
      if (!pi || !gi) reason = pi === gi ? null : `node "${gn.name}" input ${order[i]} is ${gi ? `%${gi.name}` : 'omitted'}, the pattern wants ${pi ? 'a value' : 'it omitted'}`;
      else reason = matchValue(p, pi, gi, s, commute);
    }
    if (!reason) return null;
    firstReason ??= reason;
    restore(s, saved);
  }
  return firstReason;
}

/** Tries one rule at one graph node; returns the match or the reason it does not apply. */
export function matchRule(rule: RewriteRule, node: Node, registry: OpRegistry = standardOps()): Match | string {
  const p = compile(rule, registry);
  const pv = p.output;
  if (node.op !== p.root.op || node.domain !== p.root.domain) return `node is ${node.opId}, the pattern's root is ${p.root.opId}`;
  const gv = node.outputs[pv.producerIndex];
  if (!gv) return `node has no output ${pv.producerIndex}`;
  const s: MatchState = { vars: new Map(), nodes: new Map(), used: new Set() };
  const reason = matchValue(p, pv, gv, s, rule.commute ?? false);
  if (reason) return reason;
  const matched = new Set(s.used);
  for (const gn of matched) {
    for (const o of gn.outputs) {
      if (gn === node && o === gv) continue;
      const outside = [...o.uses].find((u) => !matched.has(u.node));
      if (outside) return `%${o.name} of node "${gn.name}" is also used by node "${outside.node.name}" outside the match`;
      if (o.isGraphOutput) return `%${o.name} of node "${gn.name}" is a graph output inside the match`;
    }
  }
  const order = new Map(node.graph.nodes.map((n, i) => [n, i]));
  const byName = new Map<string, Node>();
  for (const [pn, gn] of s.nodes) byName.set(pn.name, gn);
  const m: Match = {
    rule: rule.name,
    root: node,
    vars: Object.fromEntries(s.vars),
    nodes: [...matched].sort((a, b) => order.get(a)! - order.get(b)!),
    node: (name) => {
      const n = byName.get(name);
      if (!n) throw new Error(`rewrite rule ${rule.name}: no pattern node named "${name}" (names: ${[...byName.keys()].join(', ')})`);
      return n;
    },
    constant: (name) => constantOf(s.vars.get(name)),
  };
  if (rule.check) {
    const ok = rule.check(m);
    if (ok !== true) return `check failed: ${ok}`;
  }
  return m;
}

export interface ApplyRewriteOptions {
  registry?: OpRegistry;
  tracer?: RewriteTracer;
  /** Sweeps over the graph until nothing fires (default 10). */
  maxSweeps?: number;
}

/** Applies rules to a graph in place, first rule first at each node; returns how many rewrites fired. */
export function applyRewriteRules(graph: Graph, rules: readonly RewriteRule[], opts: ApplyRewriteOptions = {}): number {
  const registry = opts.registry ?? standardOps();
  let fired = 0;
  for (let sweep = 0; sweep < (opts.maxSweeps ?? 10); sweep++) {
    let firedThisSweep = 0;
    const alive = new Set(graph.nodes);
    for (const node of graph.nodes) {
      if (!alive.has(node)) continue;
      for (const rule of rules) {
        const root = compile(rule, registry).root;
        if (node.op !== root.op || node.domain !== root.domain) continue;
        const m = matchRule(rule, node, registry);
        if (typeof m === 'string') {
          opts.tracer?.record({ rule: rule.name, node: node.name, op: node.opId, matched: false, reason: m });
          continue;
        }
        opts.tracer?.record({ rule: rule.name, node: node.name, op: node.opId, matched: true });
        for (const n of m.nodes) alive.delete(n);
        replaceMatch(graph, registry, rule, m);
        firedThisSweep++;
        break;
      }
    }
    fired += firedThisSweep;
    if (firedThisSweep === 0) break;
  }
  return fired;
}

function replaceMatch(graph: Graph, registry: OpRegistry, rule: RewriteRule, m: Match): void {
  const p = compile(rule, registry);
  const old = m.root.outputs[p.output.producerIndex]!;
  const b = new GraphBuilder(graph, registry);
  b.insertionPoint = m.root;
  let out = rule.rewrite(b, m);
  const wasOutput = old.isGraphOutput;
  const name = old.name;
  if (wasOutput && (!out.producer || out.isGraphOutput)) {
    // Keep the graph's output name: a graph input, initializer or other graph output cannot be renamed, so give it an Identity.
    out = b.op('Identity', [out]);
  }
  if (!out.type && old.type) out.type = old.type;
  old.replaceAllUsesWith(out);
  for (const n of [...m.nodes].reverse()) graph.removeNode(n, { safe: true });
  if (wasOutput) graph.renameValue(out, name);
}

/** Rewrite rules as a pass (in place). */
export class PatternRewritePass implements Pass {
  readonly inPlace = true;
  readonly name: string;

  constructor(
    readonly rules: readonly RewriteRule[],
    readonly opts: { name?: string; tracer?: RewriteTracer; maxSweeps?: number } = {},
  ) {
    this.name = opts.name ?? 'PatternRewritePass';
  }

  run(graph: Graph, ctx: { registry: OpRegistry }) {
    const n = applyRewriteRules(graph, this.rules, { registry: ctx.registry, tracer: this.opts.tracer, maxSweeps: this.opts.maxSweeps });
    return { graph, changed: n > 0 };
  }
}

function trimNulls(xs: readonly (Value | null)[]): (Value | null)[] {
  let n = xs.length;
  while (n > 0 && !xs[n - 1]) n--;
  return xs.slice(0, n);
}

function attrEqual(a: Attribute, b: Attribute): boolean {
  if (a.kind === 'float' && b.kind === 'int') return a.value === b.value;
  if (a.kind !== b.kind) return false;
  if (a.kind === 'tensor') return constantsEqual(a.value, (b as typeof a).value);
  return JSON.stringify(a.value) === JSON.stringify(b.value);
}

/** Equal data; a scalar or one-element pattern constant matches a tensor whose elements all equal it. */
function constantsEqual(want: Tensor, got: Tensor): boolean {
  if (want.dtype === 'string' || got.dtype === 'string') return JSON.stringify(want.data) === JSON.stringify(got.data);
  if (want.size === 1) {
    const w = want.getFlat(0);
    for (let i = 0; i < got.size; i++) if (got.getFlat(i) !== w) return false;
    return got.size > 0;
  }
  if (want.size !== got.size || want.shape.join() !== got.shape.join()) return false;
  for (let i = 0; i < want.size; i++) if (want.getFlat(i) !== got.getFlat(i)) return false;
  return true;
}

function fmtConst(t: Tensor): string {
  if (t.dtype !== 'string' && t.size <= 4) return `[${t.toNumbers().join(', ')}]`;
  return t.toString();
}
