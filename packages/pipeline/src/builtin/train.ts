/** The `train` step: supervised training of the current graph with @tessera/train's Trainer. */
import { optimizerFromConfig } from '@tessera/train';
import { z } from 'zod';
import type { TrainerFactory } from '../container.js';
import { lineChart } from '../plots.js';
import { defineProcedure } from '../plugin.js';
import { TOKENS } from '../tokens.js';
import type { ImageData } from './data.js';

export const trainProcedure = defineProcedure({
  name: 'train',
  description: 'trains the graph on the train split with cross-entropy (onnxruntime-node training graph, seeded batches)',
  options: z
    .object({
      epochs: z.number().int().positive().default(1),
      /** Stop after this many optimizer steps (default: all epochs). */
      maxSteps: z.number().int().positive().optional(),
      batchSize: z.number().int().positive().default(64),
      optimizer: z.enum(['sgd', 'adam', 'adamw']).default('adam'),
      lr: z.number().positive().default(1e-3),
      momentum: z.number().min(0).max(1).default(0.9),
      weightDecay: z.number().min(0).default(0),
    })
    .strict(),
  searchSpace: { lr: { kind: 'float', min: 1e-4, max: 1e-2, log: true }, batchSize: { kind: 'choice', values: [32, 64, 128] } },
  async run(ctx, input, o) {
    if (!input.graph) throw new Error('train needs a graph; the pipeline has none yet');
    const data = await ctx.loadData<ImageData>();
    const optimizer = optimizerFromConfig(
      o.optimizer === 'sgd' ? { kind: 'sgd', lr: o.lr, momentum: o.momentum, weightDecay: o.weightDecay } : { kind: o.optimizer, lr: o.lr, weightDecay: o.weightDecay },
    );
    const n = data.train.x.shape[0]!;
    const perEpoch = Math.floor(n / o.batchSize);
    const total = Math.min(o.epochs * perEpoch, o.maxSteps ?? Infinity);
    const losses: { step: number; loss: number }[] = [];
    const trainer = await ctx.resolve<TrainerFactory>(TOKENS.Trainer).create({
      forward: input.graph,
      optimizer,
      batchSize: o.batchSize,
      seed: ctx.seed,
      hooks: {
        beforeStep: () => {
          if (ctx.signal.aborted) throw new Error('cancelled');
        },
        afterStep: (_c, r) => {
          losses.push({ step: r.step, loss: r.loss });
          if (r.step % 5 === 0 || r.step === total) ctx.progress.update(r.step, total, `loss ${r.loss.toFixed(3)}`);
        },
      },
    });
    const t0 = performance.now();
    await trainer.fit(data.train, { epochs: o.epochs, maxSteps: o.maxSteps, progress: false });
    const seconds = (performance.now() - t0) / 1000;
    const acc = trainer.accounting;
    const tail = losses.slice(-Math.max(1, Math.floor(losses.length / 10)));
    // Thin the loss curve to at most 200 points for the plot.
    const every = Math.max(1, Math.ceil(losses.length / 200));
    return {
      graph: trainer.currentGraph(),
      artefacts: {
        steps: losses.length,
        epochs: o.epochs,
        examples: n,
        dataset: data.name,
        finalLoss: tail.reduce((a, r) => a + r.loss, 0) / tail.length,
        trainableScalars: acc.trainableScalars,
        optimizerStateBytes: acc.optimizerStateBytes,
        msPerStep: (seconds * 1000) / Math.max(1, losses.length),
      },
      plots: { loss: await lineChart(losses.filter((_, i) => i % every === 0), { x: 'step', y: 'loss', title: `Training loss (${data.name})`, points: false }) },
    };
  },
});
