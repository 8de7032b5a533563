import { interpret, standardOps, type Graph, type Node, type OpRegistry } from '@tessera/core';
import { checkFeeds, type ExecutorOptions, type Feeds, type Results, type Session, type SessionFactory } from './executor.js';

/** Sessions on core's reference interpreter (bit-exact custom arithmetic, per-node kernel variants). */
export class ReferenceSessionFactory implements SessionFactory {
  private readonly registry: OpRegistry;

  constructor(opts: ExecutorOptions) {
    this.registry = opts.registry ?? standardOps();
  }

  async create(graph: Graph, key: string): Promise<Session> {
    for (const n of walkNodes(graph)) {
      if (!this.registry.has(n.op, n.domain)) throw new Error(`reference: node "${n.name}" (${n.opId}): unknown op; not in the op registry`);
    }
    return new ReferenceSession(graph, key, this.registry);
  }
}

function* walkNodes(g: Graph): Generator<Node> {
  for (const n of g.nodes) {
    yield n;
    for (const a of n.attrs.values()) {
      if (a.kind === 'graph') yield* walkNodes(a.value);
      else if (a.kind === 'graphs') for (const s of a.value) yield* walkNodes(s);
    }
  }
}

class ReferenceSession implements Session {
  readonly backend = 'reference' as const;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];

  constructor(
    private readonly graph: Graph,
    readonly key: string,
    private readonly registry: OpRegistry,
  ) {
    this.inputNames = graph.inputs.map((v) => v.name);
    this.outputNames = graph.outputs.map((v) => v.name);
  }

  async run(feeds: Feeds, fetches?: readonly string[]): Promise<Results> {
    checkFeeds('reference', this.graph, feeds);
    const want = [...(fetches ?? this.outputNames)];
    let out: Results;
    try {
      out = interpret(this.graph, feeds, { registry: this.registry, fetches: want });
    } catch (e) {
      const msg = (e as Error).message;
      throw new Error(msg.startsWith('reference:') ? msg : `reference: ${msg}`);
    }
    const res: Results = {};
    want.forEach((name) => {
      const t = out[name];
      if (!t) throw new Error(`reference: the interpreter returned no value for fetch '${name}'`);
      res[name] = t;
    });
    return res;
  }

  async release(): Promise<void> {}
}
