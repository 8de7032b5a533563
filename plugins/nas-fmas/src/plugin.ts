import { kneePoint } from '@tessera/search';
import { definePass, definePlugin, defineDataset, defineProcedure, type StepContext } from '@tessera/pipeline';
import { join } from 'node:path';
import { z } from 'zod';
import { segmentationSplits } from './data.js';
import { FmasOptionsSchema, fmasSearch, type FmasData } from './fmas.js';
import { fmasPlots } from './plots.js';
import { sliceChannels } from './slice-channels.js';
import { deeplabSubnetSpace, WIDTH_FRACTIONS } from './space.js';
import { trainSegmenter } from './train.js';

const sliceChannelsStep = definePass({
  name: 'slice-channels',
  description: 'Slices a pretrained network into a real subnetwork: top-k (L1) or first-k filters per Conv, BatchNorm and consumer inputs sliced alike; residual blocks and concat branches dropped',
  options: z
    .object({
      widths: z.record(z.string(), z.number().gt(0).max(1)).default({}),
      dropResidual: z.array(z.string()).default([]),
      dropBranches: z.array(z.string()).default([]),
      filterChoice: z.enum(['l1', 'first']).default('l1'),
    })
    .strict(),
  run(graph, o, ctx) {
    const r = sliceChannels(graph, o, { registry: ctx.registry });
    ctx.record({ kept: r.kept });
    return r.graph;
  },
});

const ProcedureOptions = FmasOptionsSchema.extend({
  /** Pretrain the supernet first (epochs on the train split); 0 when the input graph is already trained. */
  pretrainEpochs: z.number().int().min(0).default(0),
  pretrainLr: z.number().positive().default(3e-3),
  widthFractions: z.array(z.number().gt(0).max(1)).min(1).default([...WIDTH_FRACTIONS]),
}).strict();

function asFmasData(d: unknown): FmasData {
  const x = d as Partial<FmasData> | undefined;
  if (!x?.train || !x.val || !x.test) throw new Error("fmas-search: data must have train, val and test splits (use dataset 'segmentation-scenes')");
  return x as FmasData;
}

const fmasSearchStep = defineProcedure({
  name: 'fmas-search',
  description: 'FMAS: NSGA-II over subnetworks sliced from the pretrained supernet, scored without fine-tuning on a validation subset; fine-tunes only the final Pareto front',
  options: ProcedureOptions,
  async run(ctx: StepContext, input, o) {
    if (!input.graph) throw new Error('fmas-search: needs a model (a DeepLabV3+ supernet from builder deeplabv3plus)');
    const data = asFmasData(await ctx.loadData());
    const { pretrainEpochs, pretrainLr, widthFractions, ...opts } = o;
    let supernet = input.graph;
    const space = deeplabSubnetSpace(supernet, widthFractions);
    let pretrain;
    if (pretrainEpochs > 0) {
      ctx.logger.info(`pretraining the supernet for ${pretrainEpochs} epoch(s)`);
      const r = await trainSegmenter(supernet, data.train, { epochs: pretrainEpochs, lr: pretrainLr, batchSize: opts.batchSize, seed: opts.seed, registry: ctx.registry });
      supernet = r.graph;
      pretrain = { epochs: pretrainEpochs, ms: r.totalMs, finalLoss: r.finalLoss };
    }
    const result = await fmasSearch(supernet, space, data, { ...opts, log: opts.log ?? join(ctx.workDir, 'evaluations.jsonl') }, {
      signal: ctx.signal, onProgress: (m) => ctx.logger.info(m.replace(/^fmas: /, '')), // the logger already names the step
    });
    const { finalGraphs, ...artefacts } = result;
    const nd = result.finalFront.map((f, i) => ({ f, i })).filter(({ f }) => f.nonDominated);
    const knee = nd[kneePoint(nd.map(({ f }) => [1 - f.testMIoU, f.objectives[1]]))]!;
    return {
      graph: finalGraphs[knee.i],
      artefacts: { ...artefacts, pretrain, selected: { id: knee.f.id, choices: knee.f.choices, testMIoU: knee.f.testMIoU, costs: knee.f.costs } },
      plots: await fmasPlots(result),
    };
  },
});

const segmentationScenesDataset = defineDataset({
  name: 'segmentation-scenes',
  description: 'Synthetic segmentation scenes (@tessera/data): shapes on textured backgrounds; disjoint train / val (search) / test splits',
  options: z
    .object({
      size: z.number().int().min(8).default(32),
      classes: z.number().int().min(2).max(6).default(5),
      train: z.number().int().positive().default(1000),
      val: z.number().int().positive().default(400),
      test: z.number().int().positive().default(400),
    })
    .strict(),
  load: (o, ctx) => segmentationSplits({ ...o, seed: ctx.seed }),
});

export default definePlugin({
  name: '@tessera/plugin-nas-fmas',
  version: '0.1.0',
  api: '^0.1.0',
  description: 'FMAS: fast multi-objective supernet architecture search for segmentation (slice a pretrained supernet, score without fine-tuning, fine-tune the front)',
  passes: [sliceChannelsStep],
  procedures: [fmasSearchStep],
  datasets: [segmentationScenesDataset],
});
