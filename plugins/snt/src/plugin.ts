import type { Dataset } from '@tessera/data';
import { definePass, definePlugin, defineProcedure, evaluateGraph, lineChart, TOKENS, type RunExecutors } from '@tessera/pipeline';
import { z } from 'zod';
import { SntTransformOptionsSchema, TrainRecipeSchema } from './options.js';
import { measureSharpness } from './sharpness.js';
import { trainArm } from './train.js';
import { sntExpand, sntMerge } from './transform.js';

const VERSION = '0.1.0';

/** `snt-expand`: the training-time graph (stand-in [R]: expand linears and convs into two factors). */
export const sntExpandPass = definePass({
  name: 'snt-expand',
  description: 'SNT stand-in [R]: expand every linear / conv into two linear factors (inner width e·max(in,out) or e·C_out); undo with snt-merge',
  options: SntTransformOptionsSchema,
  searchSpace: { expansion: { kind: 'choice', values: [1, 2, 4] } },
  run(graph, o, ctx) {
    const r = sntExpand(graph, o, ctx.registry);
    ctx.record({ expandedLayers: r.expansions.map((e) => ({ weight: e.weight, inner: e.inner })) });
    return r.graph;
  },
});

/** `snt-merge`: composes the factors back (exact): the original architecture and parameter count. */
export const sntMergePass = definePass({
  name: 'snt-merge',
  description: 'SNT stand-in [R]: merge expanded factor pairs back into single weights (exact; original architecture and parameter count)',
  options: z.object({}).strict(),
  run: (graph, _o, ctx) => sntMerge(graph, ctx.registry),
});

/** `snt-train`: expand -> train (Adam, or the adam / sam baselines) -> merge, with sharpness on training data. */
export const sntTrainProcedure = defineProcedure({
  name: 'snt-train',
  description: 'trains with Adam+SNT stand-in (expand, train, merge) or the Adam / Adam+SAM baselines; reports ε-sharpness and λmax of the merged model on training examples',
  options: TrainRecipeSchema.extend({
    /** Sharpness examples taken from the train split (0 = skip the measurement). */
    sharpnessExamples: z.number().int().nonnegative().default(1000),
    sharpnessRho: z.number().positive().default(0.05),
  }).strict(),
  async run(ctx, input, o) {
    if (!input.graph) throw new Error(`step '${ctx.stepId}' (snt-train): needs a model; give the pipeline a 'model'`);
    const data = await ctx.loadData<{ train?: Dataset; test?: Dataset }>();
    if (!data?.train) throw new Error(`step '${ctx.stepId}' (snt-train): the pipeline's dataset must give a 'train' split`);
    const executor = ctx.resolve<RunExecutors>(TOKENS.Executor).get('ort-node');
    const { sharpnessExamples, sharpnessRho, ...recipe } = o;
    const r = await trainArm(input.graph, data.train, recipe, { executor, registry: ctx.registry });
    const sharp = sharpnessExamples > 0
      ? await measureSharpness(r.graph, { train: data.train, test: data.test }, { split: 'train', examples: sharpnessExamples, rho: sharpnessRho, seed: ctx.seed }, { executor, registry: ctx.registry })
      : null;
    const testAccuracy = data.test ? (await evaluateGraph(r.graph, data.test, executor)).accuracy : null;
    const every = Math.max(1, Math.ceil(r.losses.length / 200));
    return {
      graph: r.graph,
      artefacts: {
        method: r.recipe.method, steps: r.steps, gradientEvaluations: r.gradientEvaluations, trainingParameters: r.trainingParameters,
        parameters: r.parameters, finalLoss: r.finalLoss, msPerStep: r.msPerStep, testAccuracy, sharpness: sharp,
      },
      plots: { loss: await lineChart(r.losses.map((loss, step) => ({ step, loss })).filter((_, i) => i % every === 0), { x: 'step', y: 'loss', title: `Training loss (${r.recipe.method})`, points: false }) },
    };
  },
});

export const sntPlugin = definePlugin({
  name: '@tessera/plugin-snt',
  version: VERSION,
  api: '^0.1.0',
  description: 'SNT (Heo et al. 2023) with a declared stand-in transformation: expand/merge passes, SNT/SAM/Adam training with sharpness on training data',
  passes: [sntExpandPass, sntMergePass],
  procedures: [sntTrainProcedure],
});

export default sntPlugin;
