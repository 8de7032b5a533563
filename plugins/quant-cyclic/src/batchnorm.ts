import { Rng, Tensor, type Graph } from '@tessera/core';
import { modelZoo, type BatchNormStat, type ModelName } from '@tessera/models';
import type { Executor } from '@tessera/runtime';
import { takeAlong, type Examples } from '@tessera/train';

/**
 * The training form of a model: BatchNormalization nodes become batch-statistics subgraphs
 * (onnxruntime's CPU BatchNormalization has no training mode). The model is rebuilt by its
 * model-zoo stamp with `batchNorm: 'batch-stats'` and its parameters copied by name (the builder
 * keeps names identical in both forms). A model without BatchNormalization is returned as a copy.
 */
export function trainingForm(model: Graph): Graph {
  if (!model.nodes.some((n) => n.op === 'BatchNormalization')) return model.clone();
  const stamp = model.meta.get('model') as { name: string; config: Record<string, unknown> } | undefined;
  if (!stamp || !(stamp.name in modelZoo)) {
    throw new Error(`ctmq: model "${model.name}" has BatchNormalization nodes but no @tessera/models stamp (graph.meta 'model'), so its batch-statistics training form cannot be built; build it with @tessera/models`);
  }
  const entry = modelZoo[stamp.name as ModelName] as { build(c: unknown, o: { batchNorm: 'batch-stats' }): Graph };
  const g = entry.build(stamp.config, { batchNorm: 'batch-stats' });
  for (const v of model.parameters()) if (g.initializers.has(v.name)) g.setInitializer(v.name, v.initializer!);
  return g;
}

export function batchNormStats(trainGraph: Graph): BatchNormStat[] {
  return (trainGraph.meta.get('batchNormStats') as BatchNormStat[] | undefined) ?? [];
}

/**
 * Re-estimates BatchNorm running statistics after a model switch [R]: the batch-statistics graph
 * (with its quantizers) runs on `batches` seeded training batches; running mean and variance are
 * the averages of the batch mean and the batch variance (unbiased, as torch's running_var).
 */
export async function recalibrateBatchNorm(
  trainGraph: Graph, params: Map<string, Tensor>, data: Examples,
  opts: { batches: number; batchSize: number; seed: number; executor: Executor },
): Promise<Map<string, Tensor>> {
  const stats = batchNormStats(trainGraph);
  const out = new Map<string, Tensor>();
  if (stats.length === 0) return out;
  const g = trainGraph.clone();
  for (const [k, v] of params) if (g.initializers.has(k)) g.setInitializer(k, v);
  const session = await opts.executor.session(g);
  const n = data.x.shape[0]!;
  const batches = Math.max(1, Math.min(opts.batches, Math.floor(n / opts.batchSize)));
  const order = new Rng(opts.seed).permutation(n);
  const sums = stats.map((s) => ({ mean: new Float64Array(params.get(s.runningMean)!.size), variance: new Float64Array(params.get(s.runningVar)!.size) }));
  const fetches = stats.flatMap((s) => [s.mean, s.variance]);
  for (let i = 0; i < batches; i++) {
    const ids = Array.from(order.subarray(i * opts.batchSize, (i + 1) * opts.batchSize));
    const res = await session.run({ [g.inputs[0]!.name]: takeAlong(data.x, ids, 0) }, fetches);
    stats.forEach((s, k) => {
      const m = res[s.mean]!.data as Float32Array;
      const v = res[s.variance]!.data as Float32Array;
      const unbias = opts.batchSize / (opts.batchSize - 1);
      for (let j = 0; j < m.length; j++) {
        sums[k]!.mean[j]! += m[j]!;
        sums[k]!.variance[j]! += v[j]! * unbias;
      }
    });
  }
  stats.forEach((s, k) => {
    out.set(s.runningMean, new Tensor('float32', [sums[k]!.mean.length], Float32Array.from(sums[k]!.mean, (x) => x / batches)));
    out.set(s.runningVar, new Tensor('float32', [sums[k]!.variance.length], Float32Array.from(sums[k]!.variance, (x) => x / batches)));
  });
  return out;
}
