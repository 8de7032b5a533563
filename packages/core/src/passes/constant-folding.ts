import { Graph, type Attribute, type Node } from '../graph.js';
import { constantOf } from '../builder.js';
import { interpret } from '../interpreter.js';
import { Tensor } from '../tensor.js';
import { NONDETERMINISTIC_OPS } from './common-subexpression-elimination.js';
import type { Pass, PassContext, PassResult } from './pass.js';

export interface ConstantFoldingOptions {
  /** Skip a node when an input or output would have more elements than this (default 65536): folding must not bloat the model. */
  maxElements?: number;
  /** Turn Constant nodes into initializers too (default true). */
  foldConstantNodes?: boolean;
}

/**
 * Replaces nodes whose inputs are all constant (initializers or Constant outputs) by initializers
 * holding their results, computed with core's reference interpreter (so kernel variants in
 * node.meta are honoured). Shape of a value with a fully static shape folds without data.
 * Nondeterministic ops and nodes with nested graphs are never folded. Run DeadCodeEliminationPass
 * afterwards to drop initializers nothing reads any more.
 */
export class ConstantFoldingPass implements Pass {
  readonly name = 'ConstantFoldingPass';
  readonly inPlace = true;

  constructor(readonly options: ConstantFoldingOptions = {}) {}

  run(graph: Graph, ctx: PassContext): PassResult {
    const limit = this.options.maxElements ?? 65536;
    let changed = false;
    for (const n of graph.nodes) {
      if (NONDETERMINISTIC_OPS.has(n.op) || hasSubgraph(n)) continue;
      if (n.op === 'Constant' && n.domain === '' && !(this.options.foldConstantNodes ?? true)) continue;
      const results = this.evaluate(n, ctx, limit);
      if (!results) continue;
      replaceByInitializers(graph, n, results);
      ctx.log(`folded node "${n.name}" (${n.opId})`);
      changed = true;
    }
    return { graph, changed };
  }

  private evaluate(n: Node, ctx: PassContext, limit: number): (Tensor | undefined)[] | undefined {
    if (n.op === 'Shape' && n.domain === '' && n.inputs.length === 1) {
      const s = n.inputs[0]?.type?.shape;
      if (s && s.every((d) => typeof d === 'number')) {
        const start = n.attrs.has('start') ? n.int('start') : 0;
        const end = n.attrs.has('end') ? n.int('end') : s.length;
        const norm = (i: number) => Math.min(s.length, Math.max(0, i < 0 ? i + s.length : i));
        const dims = (s as number[]).slice(norm(start), norm(end));
        return dims.length > limit ? undefined : [Tensor.from(dims, [dims.length], 'int64')];
      }
    }
    const inputs = n.inputs.map((v) => (v ? constantOf(v) : null));
    if (inputs.some((t) => t === undefined)) return undefined;
    if (inputs.some((t) => t && t.size > limit)) return undefined;
    for (const o of n.outputs) {
      const s = o.type?.shape;
      if (s && s.every((d) => typeof d === 'number') && (s as number[]).reduce((a, b) => a * b, 1) > limit) return undefined;
    }
    const mini = new Graph(`fold:${n.name}`);
    const ins = n.inputs.map((v, i) => (v ? mini.addInitializer(`in${i}`, inputs[i]!) : null));
    const attrs: Record<string, Attribute> = Object.fromEntries(n.attrs);
    const node = mini.addNode({ op: n.op, domain: n.domain, name: n.name, inputs: ins, attrs, outputs: n.outputs.map((o, i) => (o.name === '' ? '' : `out${i}`)) });
    for (const [k, m] of n.meta) node.meta.set(k, m);
    const named = node.outputs.filter((o) => o.name !== '');
    for (const o of named) mini.addOutput(o);
    let out: Record<string, Tensor>;
    try {
      out = interpret(mini, {}, { registry: ctx.registry });
    } catch (e) {
      throw new Error(`constant folding of node "${n.name}" (${n.opId}) failed: ${(e as Error).message}`);
    }
    const results = node.outputs.map((o) => (o.name === '' ? undefined : out[o.name]));
    if (results.some((t) => t && t.size > limit)) return undefined;
    return results;
  }
}

function hasSubgraph(n: Node): boolean {
  for (const a of n.attrs.values()) if (a.kind === 'graph' || a.kind === 'graphs') return true;
  return false;
}

/** Detaches the node and points every use of its outputs at new initializers of the same names. */
function replaceByInitializers(graph: Graph, n: Node, results: (Tensor | undefined)[]): void {
  const outs = [...n.outputs];
  graph.removeNode(n);
  outs.forEach((o, i) => {
    const t = results[i];
    if (!t || o.name === '') return;
    const c = graph.addInitializer(o.name, t);
    c.format = o.format;
    for (const [k, m] of o.meta) c.meta.set(k, m);
    o.replaceAllUsesWith(c);
  });
}
