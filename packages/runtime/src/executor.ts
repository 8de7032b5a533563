import type { Graph, OpRegistry, Tensor } from '@tessera/core';
import { graphKey } from './fingerprint.js';

export type BackendName = 'reference' | 'ort-node' | 'ort-web';
export const BACKENDS: readonly BackendName[] = ['reference', 'ort-node', 'ort-web'];

export type Feeds = Record<string, Tensor>;
export type Results = Record<string, Tensor>;

export interface ExecutorOptions {
  /** Intra-op threads for onnxruntime-node (default: TESSERA_THREADS, else 1). onnxruntime-web always runs on 1. */
  threads?: number;
  /** Op registry of the reference interpreter (default: core's standardOps()). */
  registry?: OpRegistry;
  /** onnxruntime graph optimisation level (default 'all'). */
  graphOptimization?: 'disabled' | 'basic' | 'extended' | 'all';
  /** How many sessions the cache keeps (least recently used are dropped; default 64). */
  maxSessions?: number;
}

/** A graph prepared for one backend. Reuse it: run() converts feeds without copies and does no per-call planning. */
export interface Session {
  readonly backend: BackendName;
  /** The cache key (see graphKey). */
  readonly key: string;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /**
   * Runs the graph. `fetches` defaults to the graph outputs; other value names may be fetched too
   * (onnxruntime backends build and cache a session that exposes them).
   */
  run(feeds: Feeds, fetches?: readonly string[]): Promise<Results>;
  /** Frees the session (and drops it from its executor's cache). */
  release(): Promise<void>;
}

/** One interface over the reference interpreter, onnxruntime-node and onnxruntime-web. */
export interface Executor {
  readonly backend: BackendName;
  /** A session for the graph, cached by graphKey(graph): structure and initializer bytes. */
  session(graph: Graph): Promise<Session>;
  /** session(graph) then run: convenient, but hashes the graph on every call; hold a Session in loops. */
  run(graph: Graph, feeds: Feeds, fetches?: readonly string[]): Promise<Results>;
  /** Releases every cached session. */
  dispose(): Promise<void>;
}

export interface SessionFactory {
  create(graph: Graph, key: string): Promise<Session>;
  dispose?(): Promise<void>;
}

/** The session cache shared by every backend: key -> pending or ready session, least recently used first out. */
export class CachingExecutor implements Executor {
  private readonly cache = new Map<string, Promise<Session>>();

  constructor(
    readonly backend: BackendName,
    private readonly factory: SessionFactory,
    private readonly maxSessions = 64,
  ) {}

  session(graph: Graph): Promise<Session> {
    const key = graphKey(graph);
    const hit = this.cache.get(key);
    if (hit) {
      this.cache.delete(key);
      this.cache.set(key, hit);
      return hit;
    }
    const created = this.factory.create(graph, key).then((s) => {
      // A session released by its holder leaves the cache, so session(graph) never returns a dead one.
      const release = s.release.bind(s);
      s.release = async () => {
        if (this.cache.get(key) === created) this.cache.delete(key);
        await release();
      };
      return s;
    });
    this.cache.set(key, created);
    created.catch(() => this.cache.delete(key));
    while (this.cache.size > this.maxSessions) {
      // Dropped sessions are not released: a caller may still hold one. GC frees them.
      this.cache.delete(this.cache.keys().next().value!);
    }
    return created;
  }

  async run(graph: Graph, feeds: Feeds, fetches?: readonly string[]): Promise<Results> {
    return (await this.session(graph)).run(feeds, fetches);
  }

  get cachedSessions(): number {
    return this.cache.size;
  }

  async dispose(): Promise<void> {
    const all = [...this.cache.values()];
    this.cache.clear();
    for (const p of all) {
      const s = await p.catch(() => undefined);
      await s?.release();
    }
    await this.factory.dispose?.();
  }
}

/** Checks that every graph input without a default is fed; one line naming what is missing. */
export function checkFeeds(backend: string, graph: Graph, feeds: Feeds): void {
  for (const v of graph.inputs) {
    if (!(v.name in feeds) && !v.isInitializer) {
      throw new Error(`${backend}: graph "${graph.name}" input '${v.name}' is not fed (feeds: ${Object.keys(feeds).join(', ') || 'none'})`);
    }
  }
}
