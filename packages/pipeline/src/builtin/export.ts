/** `export-onnx` writes the graph as an .onnx file; `evaluate-onnx-web` runs that file on onnxruntime-web. */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { importModel, saveModel } from '@tessera/onnx';
import { z } from 'zod';
import type { RunExecutors } from '../container.js';
import { defineProcedure } from '../plugin.js';
import { TOKENS } from '../tokens.js';
import type { ImageData } from './data.js';
import { decodePredictions, encodePredictions, evaluateGraph } from './evaluate.js';

export const exportOnnxProcedure = defineProcedure({
  name: 'export-onnx',
  description: 'writes the current graph as an ONNX file (steps/<id>/<file>) that onnxruntime-web can run in a browser',
  options: z.object({ file: z.string().regex(/^[\w.-]+\.onnx$/, 'a file name ending in .onnx').default('model.onnx') }).strict(),
  async run(ctx, input, o) {
    if (!input.graph) throw new Error('export-onnx needs a graph; the pipeline has none yet');
    const path = join(ctx.workDir, o.file);
    await saveModel(input.graph, path, { producerName: 'tessera' });
    return { artefacts: { file: `steps/${ctx.stepId}/${o.file}`, bytes: (await stat(path)).size, nodes: input.graph.nodeCount } };
  },
});

export const evaluateOnnxWebProcedure = defineProcedure({
  name: 'evaluate-onnx-web',
  description: "evaluates the exported ONNX file on onnxruntime-web (wasm) and checks that its accuracy matches the in-framework evaluation",
  options: z
    .object({
      /** Step id of the export (default: the last export-onnx step). */
      export: z.string().optional(),
      /** Step id of the in-framework evaluation to compare with (default: the last evaluate step). */
      compareWith: z.string().optional(),
      /** Largest accepted |accuracy difference|. */
      tolerance: z.number().min(0).max(1).default(0.002),
      batchSize: z.number().int().positive().default(256),
    })
    .strict(),
  async run(ctx, input, o) {
    const ids = Object.keys(input.artefacts);
    const pick = (wanted: string | undefined, test: (a: Record<string, unknown>) => boolean, what: string) => {
      const id = wanted ?? [...ids].reverse().find((k) => test(input.artefacts[k]!));
      if (!id || !input.artefacts[id]) throw new Error(`no ${what} step before this one${wanted ? ` with id '${wanted}'` : ''}; valid: ${ids.join(', ') || '(none)'}`);
      return { id, a: input.artefacts[id]! };
    };
    const exp = pick(o.export, (a) => typeof a.file === 'string' && String(a.file).endsWith('.onnx'), 'export-onnx');
    const ref = pick(o.compareWith, (a) => a.kind === 'evaluation', 'evaluate');
    const path = join(ctx.outDir, String(exp.a.file));
    const graph = importModel(await readFile(path), { registry: ctx.registry, unknownOps: 'keep', source: path });
    const data = await ctx.loadData<ImageData>();
    const split = (ref.a.split as 'test' | 'train' | undefined) ?? 'test';
    const e = await evaluateGraph(graph, data[split], ctx.resolve<RunExecutors>(TOKENS.Executor).get('ort-web'), { batchSize: o.batchSize, progress: ctx.progress, signal: ctx.signal });
    const reference = Number(ref.a.accuracy);
    const delta = e.accuracy - reference;
    if (Math.abs(delta) > o.tolerance) {
      throw new Error(`onnxruntime-web accuracy ${e.accuracy.toFixed(4)} on ${path} differs from '${ref.id}' (${String(ref.a.backend)}) ${reference.toFixed(4)} by ${delta.toFixed(4)} (tolerance ${o.tolerance})`);
    }
    const refPred = typeof ref.a.predictions === 'string' ? decodePredictions(ref.a.predictions) : undefined;
    let disagreements: number | null = null;
    if (refPred && refPred.length === e.predictions.length) {
      disagreements = 0;
      for (let i = 0; i < refPred.length; i++) if (refPred[i] !== Math.min(255, e.predictions[i]!)) disagreements++;
    }
    return {
      artefacts: {
        kind: 'evaluation',
        accuracy: e.accuracy,
        reference,
        delta,
        matches: true,
        /** Test examples whose predicted class differs between the two runtimes (near-ties in float arithmetic). */
        disagreements,
        examples: e.examples,
        backend: 'ort-web',
        split,
        file: exp.a.file,
        predictions: encodePredictions(e.predictions),
      },
    };
  },
});
