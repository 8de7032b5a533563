/**
 * The `bdkd` pipeline procedure: the pipeline's graph is the student; the teacher is built from a
 * model builder named in the options; both are trained online together and the trained student
 * becomes the pipeline's graph.
 */
import type { Graph } from '@tessera/core';
import { splitTrainSearchTest } from '@tessera/data';
import { modelZoo, type ModelEntry } from '@tessera/models';
import { defineProcedure, lineChart, reliabilityDiagram, TOKENS, type ImageData, type ModelDefinition, type RunExecutors, type StepContext } from '@tessera/pipeline';
import { z } from 'zod';
import { bdkd, predictLogits } from './bdkd.js';
import { classification, reliabilityBins } from './calibration.js';
import { BdkdOptionsSchema } from './options.js';

const TeacherSource = z
  .object({
    /** A model builder of the run (e.g. 'mlp', 'resnet20'). */
    builder: z.string().min(1),
    config: z.record(z.string(), z.unknown()).optional(),
    /**
     * BatchNorm form of a @tessera/models zoo teacher: 'batch-stats' trains with batch statistics
     * (the trainer keeps running statistics) and scores the teacher in its inference form with
     * them; default: the run's model builder as is ('inference' form, fixed statistics).
     */
    batchNorm: z.enum(['inference', 'batch-stats']).optional(),
  })
  .strict();

export const BdkdProcedureSchema = BdkdOptionsSchema.extend({
  teacher: TeacherSource.default({ builder: 'mlp', config: { hidden: [256, 256] } }),
  /** Examples carved out of the train split (seeded, stratified) and scored after every epoch. */
  valSize: z.number().int().nonnegative().default(1000),
})
  .strict()
  .superRefine((o, ctx) => {
    if (o.weighting === 'hard' && o.wMinor > o.wMajor) {
      ctx.addIssue({ code: 'custom', path: ['wMinor'], message: `${o.wMinor} exceeds wMajor ${o.wMajor}; the 'hard' rule emphasises one divergence, so wMinor must be <= wMajor` });
    }
  });

/** The teacher to train, and (for a 'batch-stats' teacher) its inference form with the same parameter names. */
async function buildTeacher(ctx: StepContext, source: z.output<typeof TeacherSource>): Promise<{ train: Graph; inference?: Graph }> {
  if (source.batchNorm) {
    const entry = (modelZoo as unknown as Record<string, ModelEntry<Record<string, unknown>> | undefined>)[source.builder];
    if (!entry) throw new Error(`bdkd: options.teacher.batchNorm needs a @tessera/models zoo builder; '${source.builder}' is not one (valid: ${Object.keys(modelZoo).sort().join(', ')})`);
    const build = (batchNorm: 'inference' | 'batch-stats') => entry.build(source.config ?? {}, { seed: ctx.seed, registry: ctx.registry, batchNorm });
    return { train: build(source.batchNorm), inference: build('inference') };
  }
  const models = ctx.resolve<Map<string, ModelDefinition>>(TOKENS.Models);
  const def = models.get(source.builder);
  if (!def) throw new Error(`bdkd: options.teacher.builder '${source.builder}' is not a model builder of this run; valid: ${[...models.keys()].sort().join(', ')}`);
  const parsed = def.config.safeParse(source.config ?? {});
  if (!parsed.success) throw new Error(`bdkd: options.teacher.config: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  return { train: await def.build(parsed.data, ctx) };
}

export const bdkdProcedure = defineProcedure({
  name: 'bdkd',
  description: 'BD-KD online distillation: trains a teacher (options.teacher) and the pipeline graph as student together, one joint training graph, per-sample balanced forward/reverse KL',
  options: BdkdProcedureSchema,
  async run(ctx, input, o) {
    if (!input.graph) throw new Error('bdkd needs a graph (the student); the pipeline has none yet');
    const data = await ctx.loadData<ImageData>();
    const { teacher: source, valSize, ...options } = o;
    const teacher = await buildTeacher(ctx, source);
    const splits = splitTrainSearchTest(data, { search: valSize, seed: ctx.seed });
    const executor = ctx.resolve<RunExecutors>(TOKENS.Executor).get('ort-node');
    const r = await bdkd(teacher.train, input.graph, { train: splits.train, val: valSize > 0 ? splits.search : undefined }, options, {
      executor,
      registry: ctx.registry,
      inference: { teacher: teacher.inference },
      onStep: (step, total, loss) => {
        if (ctx.signal.aborted) throw new Error('cancelled');
        if (step % 5 === 0 || step === total) ctx.progress.update(step, total, `loss ${loss.toFixed(3)}`);
      },
      onEpoch: (e) => ctx.logger.info(`epoch ${e.epoch}: loss ${e.loss.toFixed(4)}${e.fracRklDominant === null ? '' : `, reverse KL dominated ${(100 * e.fracRklDominant).toFixed(1)}% of samples`}${e.student ? `, student val acc ${(100 * e.student.accuracy).toFixed(2)}% ECE ${e.student.ece.toFixed(4)}` : ''}`),
    });
    const [zs] = await predictLogits(r.student, data.test.x, executor);
    const student = classification(zs!, data.test.y);
    const teacherTest = r.teacher ? classification((await predictLogits(r.teacher, data.test.x, executor))[0]!, data.test.y) : null;
    const bins = reliabilityBins(zs!, data.test.y, 15);
    const plots: Record<string, string> = {
      reliability: await reliabilityDiagram(bins, { title: `Student reliability, 15 bins (${o.weighting}, ${data.name} test)`, width: 260, height: 220 }),
    };
    if (r.log.some((e) => e.fracRklDominant !== null)) {
      plots.balance = await lineChart(r.log.map((e) => ({ epoch: e.epoch, fracRklDominant: e.fracRklDominant })), { x: 'epoch', y: 'fracRklDominant', title: 'Samples where reverse KL dominated', yTitle: 'fraction of samples' });
    }
    return {
      graph: r.student,
      artefacts: {
        kind: 'bdkd',
        dataset: data.name,
        options: r.options,
        teacher: source,
        test: { student, teacher: teacherTest, examples: data.test.x.shape[0] },
        epochs: r.log,
        reliability: bins,
        trainableScalars: r.accounting.trainableScalars,
        msPerStep: r.accounting.msPerStep,
        seconds: r.seconds,
      },
      plots,
    };
  },
});
