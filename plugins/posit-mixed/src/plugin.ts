import { interpret, type Graph, type Tensor } from '@tessera/core';
import type { Executor } from '@tessera/runtime';
import { barChart, definePass, definePlugin, defineProcedure, TOKENS, type ImageData, type RunExecutors, type StepContext } from '@tessera/pipeline';
import type { Examples } from '@tessera/train';
import { z } from 'zod';
import { assignFormats, weightImportance } from './assign.js';
import { inferenceEnergy } from './energy.js';
import { evaluateGraph, finetuneMixed, sliceRows } from './finetune.js';
import { positFractionReport, readFormatMap } from './format-map.js';
import { positMixedRegistry } from './mac.js';
import { AssignOptionsSchema, FinetuneOptionsSchema, MacOptionsSchema } from './options.js';
import { calibrateActivations, quantizedGraph } from './quantized-graph.js';

function executorOf(ctx: StepContext) {
  return ctx.resolve<RunExecutors>(TOKENS.Executor).get('ort-node');
}

/** The pipeline's data as train / test examples (any dataset whose loader returns {train, test} with x / y tensors). */
async function splitsOf(ctx: StepContext, step: string): Promise<{ train: Examples; test: Examples }> {
  const d = await ctx.loadData<Partial<ImageData>>();
  if (!d?.train?.x || !d.test?.x) throw new Error(`${step}: the pipeline's data must load as { train, test } datasets with x / y tensors (data.dataset '${ctx.data?.dataset ?? 'none'}')`);
  return { train: d.train, test: d.test };
}

export const assignPass = definePass({
  name: 'posit-mixed-assign',
  description: 'scores every MatMul/Gemm/Conv weight by importance x (FixP4 error - Posit4 error) and gives Posit4 to the top fraction per layer or output channel [R]; stores the format map on the graph',
  options: AssignOptionsSchema,
  searchSpace: { positFraction: { kind: 'float', min: 0.01, max: 0.5, log: true } },
  async run(graph, o, ctx) {
    const needsData = o.method === 'score' && o.importance !== 'uniform';
    const importance = needsData
      ? await weightImportance(graph, (await splitsOf(ctx, 'posit-mixed-assign')).train, { kind: o.importance, batches: o.importanceBatches, batchSize: o.batchSize, hessianProbes: o.hessianProbes, seed: o.seed, executor: executorOf(ctx) })
      : undefined;
    const map = assignFormats(graph, importance?.importance, o);
    const rows = positFractionReport(map);
    ctx.logger.info(`Posit4 weights: ${(100 * rows[rows.length - 1]!.positFraction).toFixed(2)}% of ${rows[rows.length - 1]!.weights}`);
    ctx.record({ positFraction: rows, ...(importance?.hessianTrace ? { hessianTrace: importance.hessianTrace } : {}) });
    return graph;
  },
});

export const finetuneProcedure = defineProcedure({
  name: 'posit-mixed-finetune',
  description: 'quantization-aware fine-tuning of the mixed Posit4/FixP4 model (STE or posit gradient [R]), then accuracy of the fake-quant ONNX model, estimated MAC energy, and a check of the exact posit x fixed MAC on the reference interpreter',
  options: FinetuneOptionsSchema.extend({
    ...MacOptionsSchema.shape,
    /** Test examples also run through the reference interpreter's exact MAC (0: skip). */
    referenceExamples: z.number().int().min(0).max(1000).default(16),
  }).strict(),
  async run(ctx, input, o) {
    if (!input.graph) throw new Error('posit-mixed-finetune needs a graph; the pipeline has none yet');
    const map = readFormatMap(input.graph);
    if (map.layers.length === 0) throw new Error("posit-mixed-finetune: the graph has no format map; run 'posit-mixed-assign' first");
    const { train, test } = await splitsOf(ctx, 'posit-mixed-finetune');
    const executor = executorOf(ctx);
    const { accumulatorBits, referenceExamples, ...ft } = o;
    const calib = { x: train.x, y: train.y };
    const activations = ft.activationBits > 0 ? await calibrateActivations(input.graph, firstRows(calib.x, ft.batchSize), ft.activationBits, executor) : undefined;
    const tuned = await finetuneMixed(input.graph, map, train, activations, { ...ft, seed: ft.seed ?? ctx.seed }, { executor, registry: ctx.registry });
    const inference = quantizedGraph(tuned.graph, map, { mode: 'inference', activations, registry: ctx.registry });
    const evaluation = await evaluateGraph(inference, test, { executor });
    const energy = activations ? inferenceEnergy(inference, map, { activation: activations, accumulatorBits, registry: ctx.registry }) : undefined;
    let reference: { examples: number; agreeingPredictions: number; maxAbsDiff: number } | undefined;
    if (activations && referenceExamples > 0) reference = await referenceAgreement(inference, test, referenceExamples, accumulatorBits, executor);
    const rows = positFractionReport(map);
    return {
      graph: inference,
      artefacts: { evaluation, positFraction: rows, energyPj: energy?.totalPj, energy, reference, steps: tuned.steps, msPerStep: tuned.msPerStep, finalLoss: tuned.losses.at(-1) },
      plots: { positFraction: await barChart(rows.map((r) => ({ layer: r.layer, positFraction: r.positFraction })), { x: 'layer', y: 'positFraction', title: 'Posit4 fraction per layer' }) },
    };
  },
});

function firstRows(x: Tensor, k: number): Tensor {
  return sliceRows(x, 0, Math.min(k, x.shape[0]!));
}

/** Runs the first `k` test examples through the exact MAC (reference interpreter) and onnxruntime; compares. */
export async function referenceAgreement(inference: Graph, test: Examples, k: number, accumulatorBits: number, executor: Executor) {
  const x = firstRows(test.x, k);
  const input = inference.inputs.find((v) => !v.isInitializer)!.name;
  const exact = Object.values(interpret(inference, { [input]: x }, { registry: positMixedRegistry({ accumulatorBits }) }))[0]!;
  const ort = Object.values(await executor.run(inference, { [input]: x }))[0]!;
  const V = exact.shape[exact.rank - 1]!;
  let agree = 0;
  let maxAbsDiff = 0;
  const rows = exact.size / V;
  for (let r = 0; r < rows; r++) {
    let be = 0;
    let bo = 0;
    for (let v = 0; v < V; v++) {
      const i = r * V + v;
      maxAbsDiff = Math.max(maxAbsDiff, Math.abs(exact.getFlat(i) - ort.getFlat(i)));
      if (exact.getFlat(i) > exact.getFlat(r * V + be)) be = v;
      if (ort.getFlat(i) > ort.getFlat(r * V + bo)) bo = v;
    }
    if (be === bo) agree++;
  }
  return { examples: rows, agreeingPredictions: agree, maxAbsDiff };
}

export const positMixedPlugin = definePlugin({
  name: '@tessera/plugin-posit-mixed',
  version: '0.1.0',
  api: '^0.1.0',
  description: 'Mixed Posit4/FixP4 weights (Azizi et al. 2023): importance x quantization-error assignment, posit gradient, exact posit x fixed MAC, energy estimates',
  passes: [assignPass],
  procedures: [finetuneProcedure],
});

export default positMixedPlugin;
