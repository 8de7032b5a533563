/**
 * Inference-form BatchNormalization -> the batch-statistics training form that @tessera/train
 * runs on onnxruntime (its BatchNormalization has no training mode). A sliced subnet is an
 * inference graph; to pretrain or fine-tune it we rewrite each BN node into ReduceMean / Sub / Mul /
 * Sqrt / Div, exactly the form `@tessera/models` builds with `batchNorm: 'batch-stats'`, and list
 * the statistics in `graph.meta 'batchNormStats'` so the trainer updates the running mean/variance.
 * Parameter names do not change, so trained values copy back into the inference graph by name.
 */
import { GraphBuilder, Tensor, standardOps, type Graph, type OpRegistry, type Value } from '@tessera/core';
import type { BatchNormStat } from '@tessera/models';

/** A new graph with every (single-output, inference) BatchNormalization in batch-statistics form. */
export function batchNormToBatchStats(graph: Graph, registry: OpRegistry = standardOps()): Graph {
  const g = graph.clone();
  const b = new GraphBuilder(g, registry);
  const opset = g.opsets.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version ?? 17;
  const stats: BatchNormStat[] = [...((g.meta.get('batchNormStats') as BatchNormStat[] | undefined) ?? [])];
  const ints = (values: number[], name: string): Value => {
    const v = b.constant(Tensor.from(values, [values.length], 'int64'), 'int64', name);
    v.meta.set('constant', true);
    return v;
  };
  const scalar = (x: number, name: string): Value => {
    const v = b.constant(Tensor.scalar(x, 'float32'), 'float32', name);
    v.meta.set('constant', true);
    return v;
  };
  for (const n of g.nodes) {
    if (n.op !== 'BatchNormalization') continue;
    if (n.int('training_mode', 0) !== 0 || n.outputs.length > 1) throw new Error(`batch-stats: BatchNormalization "${n.name}" is already in training mode`);
    const [x, gamma, beta, rm, rv] = n.inputs as Value[];
    const rank = x!.shape?.length;
    if (rank === undefined) throw new Error(`batch-stats: BatchNormalization "${n.name}": input '${x!.name}' has unknown rank`);
    const eps = n.float('epsilon', 1e-5);
    const name = n.name;
    const axes = [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2)];
    b.insertionPoint = n;
    const reduce = (v: Value, nm: string) => (opset >= 18
      ? b.op('ReduceMean', [v, ints(axes, `${nm}.axes`)], { keepdims: 1 }, { name: nm })
      : b.op('ReduceMean', [v], { axes, keepdims: 1 }, { name: nm }));
    const mean = reduce(x!, `${name}.batch_mean`);
    const xc = b.op('Sub', [x!, mean], {}, { name: `${name}.center` });
    const variance = reduce(b.op('Mul', [xc, xc], {}, { name: `${name}.square` }), `${name}.batch_var`);
    const std = b.op('Sqrt', [b.op('Add', [variance, scalar(eps, `${name}.epsilon`)], {}, { name: `${name}.var_eps` })], {}, { name: `${name}.std` });
    const shape = [gamma!.shape![0] as number, ...new Array<number>(rank - 2).fill(1)];
    const gm = rank > 2 ? b.op('Reshape', [gamma!, ints(shape, `${name}.gamma.shape`)], {}, { name: `${name}.gamma` }) : gamma!;
    const bt = rank > 2 ? b.op('Reshape', [beta!, ints(shape, `${name}.beta.shape`)], {}, { name: `${name}.beta` }) : beta!;
    const y = b.op('Add', [b.op('Mul', [b.op('Div', [xc, std], {}, { name: `${name}.normalize` }), gm], {}, { name: `${name}.scale` }), bt], {}, { name: `${name}.out` });
    n.output().replaceAllUsesWith(y);
    g.removeNode(n);
    stats.push({ layer: name, mean: mean.name, variance: variance.name, runningMean: rm!.name, runningVar: rv!.name, epsilon: eps });
  }
  b.insertionPoint = undefined;
  g.meta.set('batchNormStats', stats);
  return g;
}
