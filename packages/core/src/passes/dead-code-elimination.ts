import type { Graph } from '../graph.js';
import type { Pass, PassResult } from './pass.js';

export interface DeadCodeEliminationOptions {
  /** Also drop initializers nothing uses (default true). */
  removeUnusedInitializers?: boolean;
}

/**
 * Removes nodes none of whose outputs reach a graph output, walking backwards so that chains of
 * dead nodes go in one run; nested graphs are cleaned too (their outputs are their roots).
 * Values captured by nested graphs count as used: the nested nodes appear in their uses.
 */
export class DeadCodeEliminationPass implements Pass {
  readonly name = 'DeadCodeEliminationPass';
  readonly inPlace = true;

  constructor(readonly options: DeadCodeEliminationOptions = {}) {}

  run(graph: Graph): PassResult {
    return { graph, changed: this.clean(graph) };
  }

  private clean(graph: Graph): boolean {
    let changed = false;
    for (const n of graph.nodes) {
      for (const a of n.attrs.values()) {
        if (a.kind === 'graph') changed = this.clean(a.value) || changed;
        if (a.kind === 'graphs') for (const g of a.value) changed = this.clean(g) || changed;
      }
    }
    const nodes = graph.nodes;
    for (let i = nodes.length - 1; i >= 0; i--) {
      const n = nodes[i]!;
      if (n.outputs.some((o) => o.uses.size > 0 || o.isGraphOutput)) continue;
      graph.removeNode(n, { safe: true });
      changed = true;
    }
    if (this.options.removeUnusedInitializers ?? true) {
      for (const [name, v] of [...graph.initializers]) {
        if (v.uses.size === 0 && !v.isGraphOutput && !v.isGraphInput) {
          graph.removeInitializer(name);
          changed = true;
        }
      }
    }
    return changed;
  }
}
