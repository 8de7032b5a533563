import * as core from '@tessera/core';
import { standardOps, type Graph, type OpRegistry, type Tensor } from '@tessera/core';
import { checkFeeds, type ExecutorOptions, type Feeds, type Results, type Session, type SessionFactory } from './executor.js';

type InterpretFn = (
  graph: Graph,
  feeds: Map<string, Tensor> | Record<string, Tensor>,
  opts: { registry?: OpRegistry; fetches?: string[] },
) => Map<string, Tensor> | Record<string, Tensor> | Tensor[];

/** core's interpret(), looked up when the first reference session is made. */
function coreInterpreter(): InterpretFn {
  const fn = (core as Record<string, unknown>).interpret;
  if (typeof fn !== 'function') throw new Error('reference: @tessera/core exports no interpret(graph, feeds, {registry, fetches})');
  return fn as InterpretFn;
}

/** Sessions on core's reference interpreter (bit-exact custom arithmetic, per-node kernel variants). */
export class ReferenceSessionFactory implements SessionFactory {
  private readonly registry: OpRegistry;

  constructor(opts: ExecutorOptions) {
    this.registry = opts.registry ?? standardOps();
  }

  async create(graph: Graph, key: string): Promise<Session> {
    const interpret = coreInterpreter();
    for (const n of walkNodes(graph)) this.registry.require(n);
    return new ReferenceSession(graph, key, this.registry, interpret);
  }
}

function* walkNodes(g: Graph): Generator<core.Node> {
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
    private readonly interpret: InterpretFn,
  ) {
    this.inputNames = graph.inputs.map((v) => v.name);
    this.outputNames = graph.outputs.map((v) => v.name);
  }

  async run(feeds: Feeds, fetches?: readonly string[]): Promise<Results> {
    checkFeeds('reference', this.graph, feeds);
    const want = [...(fetches ?? this.outputNames)];
    let out: ReturnType<InterpretFn>;
    try {
      out = this.interpret(this.graph, new Map(Object.entries(feeds)), { registry: this.registry, fetches: want });
    } catch (e) {
      const msg = (e as Error).message;
      throw new Error(msg.startsWith('reference:') ? msg : `reference: ${msg}`);
    }
    const res: Results = {};
    want.forEach((name, i) => {
      const t = out instanceof Map ? out.get(name) : Array.isArray(out) ? out[i] : out[name];
      if (!t) throw new Error(`reference: the interpreter returned no value for fetch '${name}'`);
      res[name] = t;
    });
    return res;
  }

  async release(): Promise<void> {}
}
