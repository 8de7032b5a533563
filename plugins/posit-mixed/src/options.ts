import { z } from 'zod';

/**
 * Options of the assignment. Defaults follow the reference notes (shared/reference/numerics
 * README §8); every one of these choices is ours [R], not the paper's (its body was not available).
 */
export const AssignOptionsSchema = z.object({
  /** Fraction ρ of weights that get Posit4, in each group. */
  positFraction: z.number().min(0).max(1).default(0.1),
  /** Groups in which the top-ρ are chosen: each layer, or each output channel [R]. */
  granularity: z.enum(['layer', 'channel']).default('layer'),
  /** Importance I: |w·g| (default), diagonal Fisher E[g²], Hutchinson diagonal of the Hessian (engine HVPs), or 1 [R]. */
  importance: z.enum(['weight-gradient', 'fisher', 'hessian', 'uniform']).default('weight-gradient'),
  /** s = I·(ε_fix² − ε_pos²) (notes, default) or I·(|ε_fix| − |ε_pos|) [R]. */
  errorMetric: z.enum(['squared', 'absolute']).default('squared'),
  /** 'score' ranks by s; 'random' draws the same number of Posit4 weights per group (the control arm). */
  method: z.enum(['score', 'random']).default('score'),
  /** Posit4 exponent size [R]: es = 1 spans 2^-4..2^4 around the layer scale. */
  positEs: z.number().int().min(0).max(2).default(1),
  /** Batches of the training split used for gradients / Fisher / Hessian probes. */
  importanceBatches: z.number().int().min(1).max(64).default(4),
  /** Rademacher probes per batch for importance 'hessian'. */
  hessianProbes: z.number().int().min(1).max(64).default(4),
  batchSize: z.number().int().min(1).max(4096).default(64),
  seed: z.number().int().default(0),
}).strict();

export type AssignOptions = z.output<typeof AssignOptionsSchema>;
export type AssignOptionsInput = z.input<typeof AssignOptionsSchema>;

/** Options of the quantization-aware fine-tuning. */
export const FinetuneOptionsSchema = z.object({
  /** 'ste': straight-through for both formats; 'posit': the STE gradient of Posit4 weights scaled by Δ_fix/Δ_pos(w) [R]. */
  gradient: z.enum(['ste', 'posit']).default('posit'),
  /** Clamp of the posit gradient scale Δ_fix/Δ_pos(w) [R]. */
  positGradientClamp: z.tuple([z.number().positive(), z.number().positive()]).default([0.25, 4]),
  /** Activations (the MAC's second operand) as fixed<activationBits, f>, f calibrated per layer; 0 keeps them float [R]. */
  activationBits: z.number().int().min(0).max(16).default(8),
  epochs: z.number().positive().default(1),
  /** Cap on optimizer steps (0: no cap). */
  maxSteps: z.number().int().min(0).default(0),
  lr: z.number().positive().default(1e-3),
  batchSize: z.number().int().min(1).max(4096).default(64),
  seed: z.number().int().default(0),
}).strict();

export type FinetuneOptions = z.output<typeof FinetuneOptionsSchema>;
export type FinetuneOptionsInput = z.input<typeof FinetuneOptionsSchema>;

/** Options of the exact posit x fixed MAC [R] that the reference kernels implement. */
export const MacOptionsSchema = z.object({
  /** Width of the fixed-point accumulator; a sum outside its range saturates [R]. */
  accumulatorBits: z.number().int().min(8).max(52).default(32),
}).strict();

export type MacOptions = z.output<typeof MacOptionsSchema>;

/** Parses options with one error line naming the field and what is valid. */
export function parseOptions<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const r = schema.safeParse(input ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const field = issue.path.length ? issue.path.join('.') : '(options)';
  throw new Error(`${what}: option '${field}': ${issue.message}`);
}
