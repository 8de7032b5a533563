/**
 * Parallel candidate evaluation on worker_threads. Each worker holds its own copy of the
 * supernet (sent once as ONNX bytes, float32 weights bit-exact) and of the search subset, and its
 * own single-threaded onnxruntime executor; a batch of slice specs is spread over the workers and
 * the scores come back in the order of the batch. A score is a deterministic function of
 * (supernet, spec, subset), so results do not depend on the number of workers.
 */
import { Worker } from 'node:worker_threads';
import { ShapeInferencePass, standardOps, type Graph } from '@tessera/core';
import type { Dataset } from '@tessera/data';
import { exportModel, importModel } from '@tessera/onnx';
import { createExecutor, type Executor } from '@tessera/runtime';
import { scoreCandidate, type CandidateScore, type CostOptions } from './evaluate.js';
import type { SliceSpec } from './slice-channels.js';

export interface PoolInit {
  model: Uint8Array;
  data: { name: string; classes: readonly string[]; x: ArrayBuffer; xShape: number[]; y: ArrayBuffer; yShape: number[] };
  costs: CostOptions;
}
export interface PoolRequest { id: number; spec: SliceSpec }
export type PoolReply = { id: number; score: CandidateScore; error?: undefined } | { id: number; error: string; score?: undefined };

/** ONNX bytes -> Graph with every value typed (slicing reads channel counts from shapes). */
export function graphFromTransfer(bytes: Uint8Array): Graph {
  const g = importModel(bytes, { source: 'supernet (worker transfer)' });
  new ShapeInferencePass().run(g, { registry: standardOps(), iteration: 0, log: () => {} });
  return g;
}

export interface CandidatePoolOptions {
  /** Worker threads (default 2); 0 evaluates in this thread. */
  workers?: number;
  /** Which costs beyond FLOPs and parameters to compute per candidate (gap8-like estimate, measured cpu-ort latency). */
  costs?: CostOptions;
}

export class CandidatePool {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, { resolve: (s: CandidateScore) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  private readonly idle: Worker[] = [];
  private readonly queue: PoolRequest[] = [];
  private readonly local?: { graph: Graph; data: Dataset; executor: Executor };
  private readonly costs: CostOptions;

  constructor(supernet: Graph, data: Dataset, opts: CandidatePoolOptions = {}) {
    const count = opts.workers ?? 2;
    this.costs = { gap8: opts.costs?.gap8, measureCpu: opts.costs?.measureCpu };
    if (!(Number.isInteger(count) && count >= 0)) throw new Error(`fmas: workers = ${count}; expected a whole number >= 0`);
    if (count === 0) {
      // The same ONNX round trip as the workers', so a score does not depend on where it ran.
      this.local = { graph: graphFromTransfer(exportModel(supernet)), data, executor: createExecutor('ort-node', { threads: 1 }) };
      return;
    }
    const x = data.x.data as Float32Array;
    const y = data.y.data as BigInt64Array;
    const init: PoolInit = {
      model: exportModel(supernet),
      data: { name: data.name, classes: data.classes, x: x.slice().buffer, xShape: [...data.x.shape], y: y.slice().buffer, yShape: [...data.y.shape] },
      costs: this.costs,
    };
    const ts = import.meta.url.endsWith('.ts');
    const entry = new URL(ts ? './eval-worker.ts' : './eval-worker.js', import.meta.url);
    for (let i = 0; i < count; i++) {
      const w = ts ? new Worker(new URL('./worker-boot.mjs', import.meta.url), { workerData: { ...init, entry: entry.href } }) : new Worker(entry, { workerData: init });
      w.on('message', (m: PoolReply) => {
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        if (m.error !== undefined) p?.reject(new Error(m.error));
        else p?.resolve(m.score);
        this.dispatch(w);
      });
      w.on('error', (e) => {
        for (const p of this.pending.values()) p.reject(e);
        this.pending.clear();
      });
      this.workers.push(w);
      this.idle.push(w);
    }
  }

  get size(): number {
    return this.workers.length;
  }

  private dispatch(w: Worker): void {
    const job = this.queue.shift();
    if (job) w.postMessage(job);
    else this.idle.push(w);
  }

  /** Scores a batch of slice specs; the result is in the batch's order. */
  async evaluate(specs: readonly SliceSpec[], onResult?: (index: number, score: CandidateScore) => void): Promise<CandidateScore[]> {
    if (this.local) {
      const out: CandidateScore[] = [];
      for (const s of specs) {
        out.push(await scoreCandidate(this.local.graph, s, this.local.data, this.local.executor, this.costs));
        onResult?.(out.length - 1, out.at(-1)!);
      }
      return out;
    }
    return Promise.all(specs.map((spec, index) => new Promise<CandidateScore>((resolve, reject) => {
      const id = this.nextId++;
      this.pending.set(id, {
        resolve: (score) => {
          onResult?.(index, score);
          resolve(score);
        },
        reject,
      });
      const w = this.idle.shift();
      if (w) w.postMessage({ id, spec } satisfies PoolRequest);
      else this.queue.push({ id, spec });
    })));
  }

  async close(): Promise<void> {
    if (this.local) await this.local.executor.dispose();
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
