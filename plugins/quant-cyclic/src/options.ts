import { z } from 'zod';

/**
 * CTMQ options. Defaults follow spec section 1; every [R] choice is an option. Epoch counts have
 * no paper value ([R]): the defaults are the small CPU experiment's (1 epoch per phase).
 */
export const CtmqOptionsSchema = z
  .object({
    /** First quantization step's bit width [P: steps of one bit; R: default 4]. */
    bStart: z.number().int().min(1).max(8).default(4),
    /** Target bit width [P: binarized = 1]. */
    bTarget: z.number().int().min(1).max(8).default(1),
    /** Quantize hidden activations (false gives weight-only W_bA32) [R]. */
    quantizeActivations: z.boolean().default(true),
    /** First and last layer: float, 8-bit, or like the hidden layers [R: '8bit']. */
    keepFirstLast: z.enum(['fp', '8bit', 'none']).default('8bit'),
    /** Epochs of each quantization step (E_step) [R]. */
    epochsPerStep: z.number().int().min(1).default(1),
    /** Cycles of (accurate, low-bit) training (C) [R: 2]. */
    cycles: z.number().int().min(0).default(2),
    /** Epochs of each accurate-model phase in a cycle (E_acc) [R]. */
    epochsAccurate: z.number().int().min(1).default(1),
    /** Epochs of each low-bit phase in a cycle (E_low) [R]. */
    epochsLowInCycle: z.number().int().min(1).default(1),
    /** Cycle after every bit step, or only at the target bit width [R: 'perStep']. */
    cycleScope: z.enum(['perStep', 'finalOnly']).default('perStep'),
    /** What the accurate model is initialised with: latent float weights or their quantized values [R: 'latent']. */
    transfer: z.enum(['latent', 'quantized']).default('latent'),
    /** Training batches used to re-estimate BatchNorm running statistics after each phase [R: 100]. */
    bnRecalibBatches: z.number().int().min(1).default(100),
    /** b >= 2 weight clip = weightClipStd · std(w) [R: 2.5]. */
    weightClipStd: z.number().positive().default(2.5),
    /** Adam learning rate, cosine-decayed and restarted at each phase [R: 1e-3]. */
    lr: z.number().positive().default(1e-3),
    batchSize: z.number().int().min(2).default(128),
    /** Validation examples held out of train (count >= 1 or fraction < 1) when the data has no search split [R: 0.2]. */
    validation: z.number().positive().default(0.2),
    /** Seed of data order and BN recalibration batches. */
    seed: z.number().int().nonnegative().default(0),
    /** Runtime of training and evaluation. */
    backend: z.enum(['ort-node', 'ort-web', 'reference']).default('ort-node'),
  })
  .strict()
  .superRefine((o, ctx) => {
    if (o.bTarget > o.bStart) ctx.addIssue({ code: 'custom', path: ['bTarget'], message: `must be <= bStart (${o.bStart}); got ${o.bTarget}` });
  });

export type CtmqOptionsInput = z.input<typeof CtmqOptionsSchema>;
export type CtmqOptions = z.output<typeof CtmqOptionsSchema>;

/** Parses options; a problem is one line naming the field and what would be valid. */
export function parseCtmqOptions(raw: unknown): CtmqOptions {
  const r = CtmqOptionsSchema.safeParse(raw ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    throw new Error(`ctmq option ${issue.keys.join(', ')}: unknown option; valid: ${Object.keys(CtmqOptionsSchema.shape).join(', ')}`);
  }
  const field = issue.path.length ? issue.path.join('.') : '(options)';
  throw new Error(`ctmq option ${field}: ${issue.message.replace(/^Invalid input: /, '').replace(/\s+/g, ' ')}`);
}
