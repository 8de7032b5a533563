import { cpus } from 'node:os';
import type { Graph, Node } from '@tessera/core';
import { Rng, Tensor, checkSupport, concreteShape, assertSupported, type CostOptions, type CostReport, type Diagnostic, type Target } from '@tessera/core';
import { createExecutor, type Feeds } from '@tessera/runtime';

export interface CpuOrtOptions {
  /** Timed runs; the report gives their median (default 20). */
  runs?: number;
  /** Untimed runs first (session warm-up, default 3). */
  warmup?: number;
  /** Intra-op threads (default: TESSERA_THREADS, else 1). */
  threads?: number;
  /** Inputs to time with; default: seeded random normals (floats) / zeros (integers) of the bound input shapes. */
  feeds?: Feeds;
  seed?: number;
}

const ORT_FORMATS: ReadonlySet<string> = new Set(['float32', 'float64', 'float16', 'int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32']);

/** Inputs for timing: standard normals for float inputs, zeros otherwise, shapes bound by `bindings`. */
export function randomFeeds(graph: Graph, bindings: Record<string, number> = {}, seed = 0): Feeds {
  const rng = new Rng(seed);
  const feeds: Feeds = {};
  for (const v of graph.inputs) {
    if (v.isInitializer) continue;
    const shape = concreteShape(v, bindings);
    const t = Tensor.zeros(v.type!.dtype, shape);
    if (/float/.test(t.dtype)) for (let i = 0; i < t.size; i++) t.setFlat(i, rng.normal());
    feeds[v.name] = t;
  }
  return feeds;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Measured CPU latency on onnxruntime-node through @tessera/runtime: median wall time of `runs`
 * session runs after `warmup`. Per-node figures are not measured (onnxruntime fuses nodes), so
 * `perNode` is empty and the report is `estimated: false`. Standard-domain ops only, IEEE/integer
 * tensors only: custom number formats must be lowered to standard ops first.
 */
export function cpuOrt(opts: CpuOrtOptions = {}): Target {
  const supportedOps = (n: Node) => n.domain === '' || n.domain === 'ai.onnx';
  const target: Target = {
    id: 'cpu-ort',
    description: 'Measured latency on this CPU with onnxruntime-node (median of N runs)',
    supportedOps,
    supportedFormats: ORT_FORMATS,
    check: (graph: Graph): Diagnostic[] => checkSupport(graph, target),
    async cost(graph: Graph, copts: CostOptions = {}): Promise<CostReport> {
      assertSupported('cpu-ort', target.check(graph));
      const runs = opts.runs ?? 20;
      const warmup = opts.warmup ?? 3;
      const threads = opts.threads ?? Number(process.env.TESSERA_THREADS ?? 1);
      const feeds = opts.feeds ?? randomFeeds(graph, copts.bindings, opts.seed ?? 0);
      const executor = createExecutor('ort-node', { threads });
      try {
        const session = await executor.session(graph);
        for (let i = 0; i < warmup; i++) await session.run(feeds);
        const times: number[] = [];
        for (let i = 0; i < runs; i++) {
          const t0 = performance.now();
          await session.run(feeds);
          times.push(performance.now() - t0);
        }
        return {
          target: 'cpu-ort',
          units: { latency: 'ms', min: 'ms', max: 'ms', runs: 'count' },
          perNode: [],
          total: { latency: median(times), min: Math.min(...times), max: Math.max(...times), runs },
          estimated: false,
          assumptions: [`onnxruntime-node, ${threads} thread(s), ${warmup} warm-up + ${runs} timed runs, median; CPU: ${cpus()[0]?.model ?? 'unknown'}`],
        };
      } finally {
        await executor.dispose();
      }
    },
  };
  return target;
}
