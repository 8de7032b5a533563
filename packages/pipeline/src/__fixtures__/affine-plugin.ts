/**
 * A small plugin for the pipeline's own tests: one custom op (so it needs nothing from the
 * standard op set), a model builder, a pass and two procedures. `runs` counts real executions so
 * that tests can tell a cache hit from a rerun; it lives in the plugin value, not in the process.
 */
import { GraphBuilder, Tensor, type OpSchema } from '@tessera/core';
import { z } from 'zod';
import { defineDataset, defineModel, definePass, definePlugin, defineProcedure } from '../plugin.js';

const ScaleOp: OpSchema = {
  op: 'Scale',
  domain: 'tessera.test',
  inputs: [{ name: 'X' }, { name: 'W' }],
  outputs: [{ name: 'Y' }],
  infer: ({ inputs }) => [inputs[0]],
  kernel: ({ inputs }) => {
    const [x, w] = inputs as [Tensor, Tensor];
    const out = Tensor.zeros('float32', x.shape);
    for (let i = 0; i < x.size; i++) out.setFlat(i, x.getFlat(i) * w.getFlat(i % w.size));
    return [out];
  },
};

export function affinePlugin(opts: { version?: string; api?: string } = {}) {
  const runs = { scale: 0, measure: 0, slow: 0 };
  const plugin = definePlugin({
    name: '@tessera/plugin-affine-fixture',
    version: opts.version ?? '1.0.0',
    api: opts.api ?? '^0.1.0',
    description: 'test fixture',
    ops: [ScaleOp],
    models: [
      defineModel({
        name: 'scaler',
        description: 'y = x * w with w of the given width',
        config: z.object({ width: z.number().int().positive().default(4) }).strict(),
        build: ({ width }, ctx) => {
          const b = new GraphBuilder(undefined, ctx.registry);
          const x = b.input('x', 'float32', ['N', width]);
          const w = b.param('w', Tensor.from(Array.from({ length: width }, () => ctx.rng.normal()), [width], 'float32'));
          b.output(b.op('Scale', [x, w], {}, { domain: 'tessera.test' }), 'y');
          return b.graph;
        },
      }),
    ],
    datasets: [
      defineDataset({
        name: 'ramp',
        description: 'n rows 0..n-1',
        options: z.object({ n: z.number().int().positive().default(8) }).strict(),
        load: ({ n }) => Array.from({ length: n }, (_, i) => i),
      }),
    ],
    passes: [
      definePass({
        name: 'scale-weights',
        description: 'multiplies every parameter by a factor',
        options: z.object({ factor: z.number().default(2) }).strict(),
        searchSpace: { factor: { kind: 'float', min: 0.5, max: 4 } },
        run: (graph, { factor }) => {
          runs.scale++;
          for (const v of graph.parameters()) graph.setInitializer(v.name, Tensor.from(Array.from(v.initializer!.toFloat64(), (x) => x * factor), v.initializer!.shape, 'float32'));
          return graph;
        },
      }),
      false,
    ],
    procedures: [
      defineProcedure({
        name: 'measure',
        description: 'sum of the weights and of the data',
        options: z.object({ label: z.string().default('m') }).strict(),
        run: async (ctx, input, { label }) => {
          runs.measure++;
          const data = await ctx.loadData<number[]>();
          const w = input.graph!.parameters().flatMap((v) => Array.from(v.initializer!.toFloat64()));
          const { writeFile } = await import('node:fs/promises');
          await writeFile(`${ctx.workDir}/note.txt`, label);
          return {
            artefacts: { label, weightSum: w.reduce((a, b) => a + b, 0), dataSum: data.reduce((a, b) => a + b, 0), accuracy: 0.5 + runs.measure * 0 },
            plots: { weights: `<svg xmlns="http://www.w3.org/2000/svg"><text>${w.length}</text></svg>` },
          };
        },
      }),
      defineProcedure({
        name: 'make-model',
        description: 'builds the model itself (for model: { from })',
        options: z.object({ width: z.number().int().positive().default(3) }).strict(),
        run: (ctx, _input, { width }) => {
          const b = new GraphBuilder(undefined, ctx.registry);
          const x = b.input('x', 'float32', ['N', width]);
          const w = b.param('w', Tensor.from(Array.from({ length: width }, (_, i) => i + 1), [width], 'float32'));
          b.output(b.op('Scale', [x, w], {}, { domain: 'tessera.test' }), 'y');
          return { graph: b.graph, artefacts: { width } };
        },
      }),
      defineProcedure({
        name: 'slow',
        description: 'ticks until aborted or done',
        options: z.object({ ticks: z.number().int().default(5) }).strict(),
        run: async (ctx, _input, { ticks }) => {
          runs.slow++;
          for (let i = 0; i < ticks; i++) {
            if (ctx.signal.aborted) throw new Error('aborted');
            ctx.progress.update(i + 1, ticks, 'tick');
            await new Promise((r) => setTimeout(r, 5));
          }
          return { artefacts: { ticks } };
        },
      }),
    ],
  });
  return { plugin, runs };
}
