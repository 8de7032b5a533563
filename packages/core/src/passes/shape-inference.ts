import type { Graph, ValueType } from '../graph.js';
import { inferNode } from '../builder.js';
import type { Pass, PassContext, PassResult } from './pass.js';

/**
 * Re-runs the registry's shape and dtype inference over every node in order (after rewrites,
 * after an import that carried no value_info, after binding new input shapes). Reports a change
 * when any output type differs from what was stored.
 */
export class ShapeInferencePass implements Pass {
  readonly name = 'ShapeInferencePass';
  readonly inPlace = true;

  run(graph: Graph, ctx: PassContext): PassResult {
    let changed = false;
    for (const n of graph.nodes) {
      const before = n.outputs.map((o) => typeKey(o.type));
      inferNode(n, ctx.registry);
      if (n.outputs.some((o, i) => typeKey(o.type) !== before[i])) changed = true;
    }
    return { graph, changed };
  }

  ensures(graph: Graph): string | void {
    const untyped = graph.nodes.flatMap((n) => n.outputs.filter((o) => o.name !== '' && !o.type && o.uses.size + (o.isGraphOutput ? 1 : 0) > 0).map((o) => `%${o.name} of node "${n.name}" (${n.opId})`));
    if (untyped.length) return `inference left ${untyped.length} used value(s) untyped: ${untyped.slice(0, 3).join(', ')}`;
  }
}

function typeKey(t: ValueType | undefined): string {
  return t ? `${t.dtype}[${t.shape?.map(String).join(',') ?? '*'}]` : '';
}
