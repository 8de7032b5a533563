import type { Attribute, Graph, Node, Value } from '../graph.js';
import type { Tensor } from '../tensor.js';
import type { Pass, PassResult } from './pass.js';

/** Ops whose outputs differ between two calls with equal inputs: never merged. */
export const NONDETERMINISTIC_OPS: ReadonlySet<string> = new Set([
  'RandomNormal', 'RandomNormalLike', 'RandomUniform', 'RandomUniformLike', 'Multinomial', 'Bernoulli', 'Dropout',
]);

export interface CommonSubexpressionEliminationOptions {
  /** Constant tensors larger than this are compared by identity only (default 4096 elements). */
  maxConstantElements?: number;
}

/**
 * Merges nodes that compute the same thing: same op, domain, attributes and the same input values
 * (Constant nodes: equal tensors). The first one in order is kept and the later ones' uses are
 * pointed at it. Nodes with nested graphs and nondeterministic ops are left alone; a node whose
 * output is a graph output is kept when it would be replaced (the output name is part of the
 * graph's interface), but later nodes still reuse it.
 */
export class CommonSubexpressionEliminationPass implements Pass {
  readonly name = 'CommonSubexpressionEliminationPass';
  readonly inPlace = true;

  constructor(readonly options: CommonSubexpressionEliminationOptions = {}) {}

  run(graph: Graph): PassResult {
    const ids = new Map<Value, number>();
    const id = (v: Value | null): string => {
      if (!v) return '_';
      let k = ids.get(v);
      if (k === undefined) ids.set(v, (k = ids.size));
      return String(k);
    };
    const seen = new Map<string, Node>();
    let changed = false;
    for (const n of graph.nodes) {
      const key = this.key(n, id);
      if (key === undefined) continue;
      const first = seen.get(key);
      if (!first) {
        seen.set(key, n);
        continue;
      }
      if (n.outputs.some((o) => o.isGraphOutput)) continue;
      n.outputs.forEach((o, i) => o.replaceAllUsesWith(first.outputs[i]!));
      graph.removeNode(n, { safe: true });
      changed = true;
    }
    return { graph, changed };
  }

  private key(n: Node, id: (v: Value | null) => string): string | undefined {
    if (NONDETERMINISTIC_OPS.has(n.op)) return undefined;
    const attrs: string[] = [];
    for (const [name, a] of [...n.attrs].sort(([x], [y]) => x.localeCompare(y))) {
      const s = this.attrKey(a);
      if (s === undefined) return undefined;
      attrs.push(`${name}=${s}`);
    }
    return `${n.domain}::${n.op}|${n.outputs.length}|${n.inputs.map(id).join(',')}|${attrs.join(';')}`;
  }

  private attrKey(a: Attribute): string | undefined {
    switch (a.kind) {
      case 'graph': case 'graphs': return undefined;
      case 'tensor': return this.tensorKey(a.value);
      case 'tensors': {
        const ks = a.value.map((t) => this.tensorKey(t));
        return ks.includes(undefined) ? undefined : ks.join('|');
      }
      case 'sparse_tensor': return undefined;
      default: return `${a.kind}:${JSON.stringify(a.value)}`;
    }
  }

  private tensorKey(t: Tensor): string | undefined {
    if (t.size > (this.options.maxConstantElements ?? 4096)) return undefined;
    const data = Array.isArray(t.data) ? JSON.stringify(t.data) : Array.from(t.data as ArrayLike<number | bigint>, String).join(',');
    return `${t.dtype}[${t.shape.join(',')}]:${data}`;
  }
}
