import { barChart, defineProcedure, definePlugin } from '@tessera/pipeline';
import { domainShiftOptionsSchema, runDomainShift } from './domain-shift.js';

/**
 * The whole PEMA study as one step: pretrain the PLM (owner side), build the memory, train PEMA
 * (κ = 0 and the configured κ), compare with the PLM, kNN-LM and LoRA, and generate with constant
 * λ vs Gradual Unrolling. Needs no model or dataset from the pipeline.
 */
export const pemaProcedure = defineProcedure({
  name: 'pema',
  description: 'PEMA on a lexical-substitution domain shift of the tiny GPT: memory, adapter (phases 1 and 2), mixture, Gradual Unrolling; PLM / kNN-LM / LoRA arms',
  options: domainShiftOptionsSchema,
  async run(ctx, _input, options) {
    const result = await runDomainShift(options, (line) => ctx.logger.info(line));
    const pema = result.arms.find((a) => a.arm.startsWith('PEMA') && !a.arm.endsWith('=0'))!;
    return {
      artefacts: { accuracy: pema.substitutedAccuracy, ...result } as unknown as Record<string, unknown>,
      plots: { 'substituted-accuracy': await barChart(result.arms.map((a) => ({ arm: a.arm, accuracy: a.substitutedAccuracy })), { x: 'arm', y: 'accuracy', title: 'Top-1 accuracy at substituted positions' }) },
    };
  },
});

export default definePlugin({
  name: '@tessera/plugin-pema',
  version: '0.1.0',
  api: '^0.1.0',
  description: 'PEMA: offsite-tunable plug-in external memory adaptation (memory of final-layer representations, LoRA-style adapter with reconstruction decoder, probability mixture with Gradual Unrolling)',
  procedures: [pemaProcedure],
});
