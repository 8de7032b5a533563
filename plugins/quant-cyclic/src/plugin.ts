import type { DataSplits } from '@tessera/data';
import { defineProcedure, definePass, definePlugin, lineChart } from '@tessera/pipeline';
import { z } from 'zod';
import { ctmq, withValidation } from './ctmq.js';
import { costOnAsic45nm, exportCtmqModel, exportedAccuracy } from './deploy.js';
import { CtmqOptionsSchema } from './options.js';
import { quantizeGraph } from './quantize-pass.js';

const VERSION = '0.1.0';

/** The `ctmq` training procedure: graph + data splits -> the selected b_target model, its history and cost. */
export const ctmqProcedure = defineProcedure({
  name: 'ctmq',
  description: 'CTMQ: quantization steps bStart -> bTarget one bit at a time, with cycles of accurate-model training (Kim et al. 2022)',
  options: CtmqOptionsSchema,
  async run(ctx, input, options) {
    if (!input.graph) throw new Error(`step '${ctx.stepId}' (ctmq): needs a model; give the pipeline a 'model'`);
    const loaded = await ctx.loadData<Partial<DataSplits>>();
    for (const k of ['train', 'test'] as const) {
      if (!loaded?.[k]) throw new Error(`step '${ctx.stepId}' (ctmq): the pipeline's dataset must give a '${k}' split (train/test, optionally search for validation)`);
    }
    const data = withValidation(loaded as DataSplits, options);
    const r = await ctmq(input.graph, data, options, {
      registry: ctx.registry,
      onEpoch: (i) => ctx.progress.update(i.epochsDone, i.totalEpochs, `${i.phase.kind} ${i.phase.bits} val ${(100 * i.valAccuracy).toFixed(2)}%`),
    });
    const cost = costOnAsic45nm(r.model);
    const webAccuracy = await exportedAccuracy(exportCtmqModel(r.model), data.test, 'ort-web');
    const rows = r.history.flatMap((p) => p.valAccuracy.map((a, e) => ({ epoch: r.history.slice(0, p.index).reduce((s, q) => s + q.epochs, 0) + e + 1, valAccuracy: a, phase: p.kind })));
    return {
      graph: r.model,
      artefacts: {
        history: r.history, totalEpochs: r.totalEpochs, selected: r.selected, testAccuracy: r.testAccuracy,
        exportedTestAccuracyOrtWeb: webAccuracy, cost, options: r.options, wallMs: r.wallMs,
      },
      plots: { history: await lineChart(rows, { x: 'epoch', y: 'valAccuracy', series: 'phase', title: 'CTMQ validation accuracy per epoch' }) },
    };
  },
});

/** The quantization pass on its own (fake-quant weights over the latent floats, or folded codes). */
export const ctmqQuantizePass = definePass({
  name: 'ctmq-quantize',
  description: 'Insert CTMQ fake-quant weight and activation quantizers (scaled sign + sign at 1 bit, symmetric uniform above)',
  options: z.object({
    bits: z.number().int().min(1).max(8).default(1),
    keepFirstLast: z.enum(['fp', '8bit', 'none']).default('8bit'),
    quantizeActivations: z.boolean().default(true),
    weightClipStd: z.number().positive().default(2.5),
    weights: z.enum(['fake-quant', 'folded']).default('folded'),
  }).strict(),
  run: (graph, options, ctx) => quantizeGraph(graph, options, ctx.registry),
});

export const quantCyclicPlugin = definePlugin({
  name: '@tessera/plugin-quant-cyclic',
  version: VERSION,
  api: '^0.1.0',
  description: 'CTMQ cyclic training with multiple quantization steps for binarized and low-bit networks',
  procedures: [ctmqProcedure],
  passes: [ctmqQuantizePass],
});

export default quantCyclicPlugin;
