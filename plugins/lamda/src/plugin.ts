/**
 * The pipeline face of the plugin: passes 'lamda-insert', 'lora-insert', 'adapter-merge', the
 * procedure 'lamda-finetune' and the CoLA-like 'acceptability' dataset the procedure trains on.
 */
import { acceptabilityTask, type Dataset } from '@tessera/data';
import { barChart, defineDataset, definePass, definePlugin, defineProcedure, lineChart, TOKENS, type RunExecutors } from '@tessera/pipeline';
import { findAdapters } from './adapters.js';
import { finetuneAdapters } from './finetune.js';
import { lamda, lora } from './lamda.js';
import { mergeAdapters } from './merge.js';
import { AcceptabilityDataOptions, AdapterMergeOptions, LamdaFinetuneOptions, LamdaInsertOptions, LoraInsertOptions } from './options.js';

export const VERSION = '0.1.0';

export const lamdaInsertPass = definePass({
  name: 'lamda-insert',
  description: 'LaMDA adapters y = xW + s·drop(x)·A·S·B on block projections: A frozen and B from the SVD of W, S = 0; LaMDA++ spectral rank allocation as an option',
  options: LamdaInsertOptions,
  searchSpace: { rank: { kind: 'int', min: 2, max: 32 } },
  run(graph, o, ctx) {
    const r = lamda(graph, o, ctx.registry);
    ctx.record({ adapters: r.layers.length, ranks: r.layers.map((l) => l.rank), rankAllocation: o.rankAllocation.kind, allocation: r.allocation });
    ctx.logger.info(`lamda-insert: ${r.layers.length} adapters, ranks ${[...new Set(r.layers.map((l) => l.rank))].join('/')}, init ${o.init}`);
    return r.graph;
  },
});

export const loraInsertPass = definePass({
  name: 'lora-insert',
  description: 'LoRA adapters y = xW + s·drop(x)·A·B on block projections (A Kaiming-uniform, B = 0), for comparison with LaMDA',
  options: LoraInsertOptions,
  searchSpace: { rank: { kind: 'int', min: 2, max: 32 } },
  run(graph, o, ctx) {
    const r = lora(graph, o, ctx.registry);
    ctx.record({ adapters: r.layers.length, rank: o.rank });
    return r.graph;
  },
});

export const adapterMergePass = definePass({
  name: 'adapter-merge',
  description: 'folds LaMDA / LoRA adapters into the pretrained weights (W + s·A·S·B) and removes the branch',
  options: AdapterMergeOptions,
  run(graph, _o, ctx) {
    const g = graph.clone();
    const merged = mergeAdapters(g);
    if (merged.length === 0) throw new Error(`adapter-merge: graph "${graph.name}" has no adapters (parameters named <projection>.lamda.A or <projection>.lora.A)`);
    ctx.record({ merged: merged.length });
    return g;
  },
});

export const lamdaFinetuneProcedure = defineProcedure({
  name: 'lamda-finetune',
  description: 'fine-tunes the adapters of the graph (and options.alsoTrain) with AdamW, freezing LaMDA\'s B row by row through the engine until ⌈ηT⌉; engine-measured accounting',
  options: LamdaFinetuneOptions,
  async run(ctx, input, o) {
    if (!input.graph) throw new Error('lamda-finetune needs a graph with adapters; the pipeline has none yet');
    const layers = findAdapters(input.graph);
    if (layers.length === 0) throw new Error(`lamda-finetune: graph "${input.graph.name}" has no adapters; run 'lamda-insert' or 'lora-insert' first`);
    const data = await ctx.loadData<{ train: Dataset; test: Dataset }>();
    if (!data?.train || !data?.test) throw new Error("lamda-finetune: the pipeline's data must load to { train, test } (e.g. dataset 'acceptability')");
    const executor = ctx.resolve<RunExecutors>(TOKENS.Executor).get('ort-node');
    const { graph, report } = await finetuneAdapters(input.graph, layers, data, { ...o, seed: o.seed ?? ctx.seed }, {
      executor, registry: ctx.registry,
      onStep: (step, total, loss) => {
        if (ctx.signal.aborted) throw new Error('cancelled');
        if (step % 10 === 0 || step === total) ctx.progress.update(step, total, `loss ${loss.toFixed(3)}`);
      },
    });
    const { records, ...summary } = report;
    ctx.logger.info(`lamda-finetune: accuracy ${report.test.accuracy.toFixed(3)}, MCC ${report.test.mcc.toFixed(3)}, trainable ${report.trainableScalars.start} -> ${report.trainableScalars.end}`);
    return {
      graph,
      artefacts: { kind: 'lamda-finetune', accuracy: report.test.accuracy, mcc: report.test.mcc, ...summary },
      plots: {
        'optimizer-state': await lineChart(records.map((r) => ({ step: r.step, bytes: r.optimizerStateBytes })), { x: 'step', y: 'bytes', title: 'Adam state bytes per step (engine)' }),
        'trainable-scalars': await barChart([{ phase: 'start', scalars: report.trainableScalars.start }, { phase: 'end', scalars: report.trainableScalars.end }], { x: 'phase', y: 'scalars', title: 'Trainable scalars (engine)' }),
      },
    };
  },
});

export const acceptabilityDataset = defineDataset({
  name: 'acceptability',
  description: 'CoLA-like acceptability task from @tessera/data (grammatical vs corrupted sentences), word tokens; vocabulary 161',
  options: AcceptabilityDataOptions,
  load: (o, ctx) => ({
    name: 'acceptability',
    train: acceptabilityTask({ n: o.trainSize, maxLen: o.maxLen, seed: ctx.seed * 2 + 1 }).dataset,
    test: acceptabilityTask({ n: o.testSize, maxLen: o.maxLen, seed: ctx.seed * 2 + 2 }).dataset,
  }),
});

export const lamdaPlugin = definePlugin({
  name: '@tessera/plugin-lamda',
  version: VERSION,
  api: '^0.1.0',
  description: 'LaMDA / LaMDA++: spectrally decomposed low-dimensional adaptation with gradual row freezing of B (Azizi et al., arXiv 2406.12832), plus LoRA for comparison',
  passes: [lamdaInsertPass, loraInsertPass, adapterMergePass],
  procedures: [lamdaFinetuneProcedure],
  datasets: [acceptabilityDataset],
});
