import { z } from 'zod';

/** Options of the SNT stand-in transformation (spec section 3, [R]). */
export const SntTransformOptionsSchema = z
  .object({
    /** The stand-in: expand-and-merge linear over-parameterisation ([R]; the paper's transformation is unknown). */
    kind: z.enum(['expandMerge']).default('expandMerge'),
    /** Inner width factor e: linear k = e·max(in, out), conv k_mid = e·C_out ([R] default 2). */
    expansion: z.number().min(1).max(16).default(2),
    /** Weight names of the layers to expand (default: every MatMul weight [in, out] and every ungrouped Conv weight). */
    layers: z.array(z.string().min(1)).default([]),
    /** Seed of the factor initialisation. */
    seed: z.number().int().nonnegative().default(0),
  })
  .strict();

export type SntTransformOptions = z.output<typeof SntTransformOptionsSchema>;
export type SntTransformOptionsInput = z.input<typeof SntTransformOptionsSchema>;

/** Sharpness measurement: always on training data (a named split), in the merged parameter space. */
export const SharpnessOptionsSchema = z
  .object({
    /** Which split the examples come from; 'test' is refused (selection and diagnostics never touch test). */
    split: z.enum(['train', 'search']),
    /** Fixed examples (a seeded subset of the split) the loss is averaged over. */
    examples: z.number().int().positive().default(1000),
    /** Radius of the L2 ball of the ε-sharpness ascent. */
    rho: z.number().positive().default(0.05),
    /** Projected normalised-gradient ascent steps. */
    ascentSteps: z.number().int().positive().default(5),
    /** Power iterations for the top Hessian eigenvalue (B2). */
    powerIterations: z.number().int().positive().default(20),
    /** Hutchinson probes for Tr(H) (0 = skip). */
    traceProbes: z.number().int().nonnegative().default(0),
    seed: z.number().int().nonnegative().default(0),
  })
  .strict();

export type SharpnessOptions = z.output<typeof SharpnessOptionsSchema>;
export type SharpnessOptionsInput = z.input<typeof SharpnessOptionsSchema>;

/** Training recipe shared by the three arms of the experiment (compute-matched: same epochs, batches, lr). */
export const TrainRecipeSchema = z
  .object({
    method: z.enum(['adam', 'sam', 'snt']).default('snt'),
    epochs: z.number().int().positive().default(4),
    /** Stop after this many optimizer steps (default: all epochs). */
    maxSteps: z.number().int().positive().optional(),
    batchSize: z.number().int().positive().default(64),
    lr: z.number().positive().default(1e-3),
    /** SAM neighbourhood radius (method 'sam'). */
    rho: z.number().positive().default(0.05),
    /** SNT expansion factor (method 'snt'). */
    expansion: z.number().min(1).max(16).default(2),
    /** SNT layers (method 'snt'; default all expandable). */
    layers: z.array(z.string().min(1)).default([]),
    /** Seed of the data order and the SNT factor initialisation. */
    seed: z.number().int().nonnegative().default(0),
  })
  .strict();

export type TrainRecipe = z.output<typeof TrainRecipeSchema>;
export type TrainRecipeInput = z.input<typeof TrainRecipeSchema>;

/** One-line option errors, shared with @tessera/compress. */
export { parseOptions } from '@tessera/compress';
