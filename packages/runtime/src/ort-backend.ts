import type { Graph } from '@tessera/core';
import { exportModel } from '@tessera/onnx';
import type { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import { ortErrorMessage } from './errors.js';
import { checkFeeds, type BackendName, type ExecutorOptions, type Feeds, type Results, type Session, type SessionFactory } from './executor.js';
import { fromOrtTensor, toOrtTensor, type OrtModule } from './tensor-convert.js';

/** Sessions on onnxruntime (node or web): the graph is exported to ONNX bytes once per session. */
export class OrtSessionFactory implements SessionFactory {
  constructor(
    private readonly backend: BackendName,
    private readonly load: () => Promise<OrtModule>,
    private readonly opts: ExecutorOptions,
  ) {}

  async create(graph: Graph, key: string): Promise<Session> {
    const ort = await this.load();
    const session = new OrtSession(this.backend, ort, graph, key, this.sessionOptions());
    await session.init();
    return session;
  }

  private sessionOptions(): InferenceSession.SessionOptions {
    const threads = this.opts.threads ?? Number(process.env.TESSERA_THREADS ?? 1);
    const o: InferenceSession.SessionOptions = {
      graphOptimizationLevel: this.opts.graphOptimization ?? 'all',
      executionMode: 'sequential',
      // onnxruntime's warnings (old opsets, optimizer notes) go to stderr; errors still throw.
      logSeverityLevel: 3,
    };
    if (this.backend === 'ort-node') {
      o.intraOpNumThreads = threads;
      o.interOpNumThreads = 1;
    } else {
      o.executionProviders = ['wasm'];
    }
    return o;
  }
}

class OrtSession implements Session {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  private main!: InferenceSession;
  /** Sessions that also expose intermediate values, keyed by the sorted extra fetch names. */
  private readonly withFetches = new Map<string, Promise<InferenceSession>>();

  constructor(
    readonly backend: BackendName,
    private readonly ort: OrtModule,
    private readonly graph: Graph,
    readonly key: string,
    private readonly options: InferenceSession.SessionOptions,
  ) {
    this.inputNames = graph.inputs.map((v) => v.name);
    this.outputNames = graph.outputs.map((v) => v.name);
  }

  async init(): Promise<void> {
    this.main = await this.createFor(this.graph);
  }

  private async createFor(graph: Graph): Promise<InferenceSession> {
    let bytes: Uint8Array;
    try {
      bytes = exportModel(graph);
    } catch (e) {
      throw new Error(`${this.backend}: cannot export graph "${graph.name}" to ONNX: ${(e as Error).message}`);
    }
    try {
      return await this.ort.InferenceSession.create(bytes, this.options);
    } catch (e) {
      throw new Error(ortErrorMessage(this.backend, (e as Error).message, graph));
    }
  }

  private sessionFor(fetches: readonly string[]): Promise<InferenceSession> | InferenceSession {
    const extra = fetches.filter((f) => !this.outputNames.includes(f));
    if (extra.length === 0) return this.main;
    const k = [...new Set(extra)].sort().join('\u0000');
    let s = this.withFetches.get(k);
    if (!s) {
      const g = this.graph.clone();
      for (const name of new Set(extra)) {
        const v = g.value(name);
        if (!v || v.graph !== g) throw new Error(`${this.backend}: cannot fetch '${name}': graph "${g.name}" has no value of that name`);
        g.addOutput(v);
      }
      s = this.createFor(g);
      this.withFetches.set(k, s);
      s.catch(() => this.withFetches.delete(k));
    }
    return s;
  }

  async run(feeds: Feeds, fetches?: readonly string[]): Promise<Results> {
    const want = fetches ?? this.outputNames;
    checkFeeds(this.backend, this.graph, feeds);
    const ortFeeds: Record<string, OrtTensor> = {};
    for (const [name, t] of Object.entries(feeds)) {
      if (!this.inputNames.includes(name)) {
        throw new Error(`${this.backend}: feed '${name}' is not an input of graph "${this.graph.name}" (inputs: ${this.inputNames.join(', ')})`);
      }
      ortFeeds[name] = toOrtTensor(this.ort, t, this.backend, name);
    }
    const session = await this.sessionFor(want);
    let out: Record<string, OrtTensor>;
    try {
      out = (await session.run(ortFeeds, want as string[])) as Record<string, OrtTensor>;
    } catch (e) {
      throw new Error(ortErrorMessage(this.backend, (e as Error).message, this.graph));
    }
    const res: Results = {};
    for (const name of want) res[name] = fromOrtTensor(out[name]!, this.backend, name);
    return res;
  }

  async release(): Promise<void> {
    await this.main.release();
    for (const s of this.withFetches.values()) await (await s.catch(() => undefined))?.release();
    this.withFetches.clear();
  }
}
