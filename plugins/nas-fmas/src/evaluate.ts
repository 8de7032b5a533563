/**
 * Scoring one candidate without training (the FMAS evaluation [P]): slice the pretrained supernet,
 * count its cost, run it forward on the search subset, compute mIoU. Shared by the main thread
 * and the worker threads, so a candidate's score does not depend on where it ran.
 */
import { computeCost, countParameters, standardOps, type Graph, type OpRegistry } from '@tessera/core';
import type { Dataset } from '@tessera/data';
import type { Executor } from '@tessera/runtime';
import { cpuOrt, gap8Like } from '@tessera/targets';
import { sliceChannels, type SliceSpec } from './slice-channels.js';
import { segmentationMIoU } from './train.js';

/** Every cost figure of a subnet; the search minimises the one its `costObjective` names. */
export interface SubnetCosts {
  /** 2·MACs + the non-MAC floating-point operations of core's computeCost, batch 1. */
  flops: number;
  macs: number;
  /** core's countParameters: every float initializer (weights, biases, BN γ/β/running statistics, Resize scales). */
  params: number;
  /** gap8-like target latency in µs — an ESTIMATE from the B5 cost model with float tensors costed as int8 [R]; only when asked for. */
  gap8LatencyUs?: number;
  /** Measured median latency on onnxruntime-node (ms), batch 1; only when asked for (not reproducible). */
  cpuLatencyMs?: number;
}

export type CostObjective = 'flops' | 'params' | 'gap8-latency' | 'cpu-latency';

export function costValue(c: SubnetCosts, objective: CostObjective): number {
  switch (objective) {
    case 'flops': return c.flops;
    case 'params': return c.params;
    case 'gap8-latency':
      if (c.gap8LatencyUs === undefined) throw new Error('fmas: costObjective gap8-latency needs gap8-like costs (gap8)');
      return c.gap8LatencyUs;
    case 'cpu-latency':
      if (c.cpuLatencyMs === undefined) throw new Error('fmas: costObjective cpu-latency needs measured latencies (measureCpu)');
      return c.cpuLatencyMs;
  }
}

export interface CostOptions {
  /** Cost the graph on the gap8-like target (its check must pass: unsupported ops are an error, never skipped). */
  gap8?: boolean;
  /** Measure cpu-ort latency (slow, not reproducible). */
  measureCpu?: boolean;
  registry?: OpRegistry;
}

export async function subnetCosts(graph: Graph, opts: CostOptions = {}): Promise<SubnetCosts> {
  const registry = opts.registry ?? standardOps();
  const compute = computeCost(graph, { bindings: { N: 1 }, registry });
  const costs: SubnetCosts = {
    flops: 2 * compute.total.macs + compute.total.flops,
    macs: compute.total.macs,
    params: countParameters(graph).total,
  };
  if (opts.gap8) costs.gap8LatencyUs = (await gap8Like({ assumeInt8ForFloat: true, registry }).cost(graph, { bindings: { N: 1 } })).total.latency!;
  if (opts.measureCpu) costs.cpuLatencyMs = (await cpuOrt({ runs: 10, warmup: 2, threads: 1 }).cost(graph, { bindings: { N: 1 } })).total.latency!;
  return costs;
}

export interface CandidateScore {
  /** mIoU of the sliced, un-fine-tuned subnet on the evaluation data. */
  mIoU: number;
  costs: SubnetCosts;
  /** Wall time of this evaluation (slice + cost + forward), ms. */
  wallMs: number;
}

export async function scoreCandidate(supernet: Graph, spec: SliceSpec, data: Dataset, executor: Executor, opts: CostOptions = {}): Promise<CandidateScore> {
  const t0 = performance.now();
  const { graph } = sliceChannels(supernet, spec, { registry: opts.registry });
  const costs = await subnetCosts(graph, opts);
  const mIoU = await segmentationMIoU(executor, graph, data);
  return { mIoU, costs, wallMs: performance.now() - t0 };
}
