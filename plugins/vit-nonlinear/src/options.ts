import { z } from 'zod';

/**
 * Every [R] constant of spec section 8 is an option here, with the spec's default. None of these
 * values is the paper's: its breakpoints, table sizes and bit widths are not public.
 */
export const LayerNormOptionsSchema = z.object({
  enabled: z.boolean().default(true),
  /** [R] t: mantissa bits that index the 1/√v table T[e mod 2][⌊m·2^t⌋] (2·2^t entries). */
  tableBits: z.number().int().min(0).max(12).default(4),
  /** [R] ablation: r = 2^(−round(log2 v)/2), no table. */
  pow2Only: z.boolean().default(false),
  /** [R] exponents of v the lowered graph resolves by its comparison ladder: 2^minExponent .. 2^(maxExponent+1). */
  minExponent: z.number().int().min(-126).max(0).default(-64),
  maxExponent: z.number().int().min(1).max(126).default(63),
}).strict();

export const SoftmaxOptionsSchema = z.object({
  enabled: z.boolean().default(true),
  /** [S] range transformation z = x − max(x) + bias (a reimplementation note says +2). */
  bias: z.number().default(2),
  /** [S] z below the cut-off gives probability 0 (the survey note: −3). */
  cutoff: z.number().max(0).default(-3),
  /** [R] t of the multi-scale reciprocal 1/u ≈ 2^−k·R[⌊m·2^t⌋] (Padé denominator and 1/Σ). */
  reciprocalBits: z.number().int().min(0).max(12).default(6),
  /** [R] exponent range of the row sum Σ resolved by the lowered graph's ladder (2^0 .. 2^(sumMaxExponent+1)). */
  sumMaxExponent: z.number().int().min(4).max(60).default(30),
}).strict();

export const GeluOptionsSchema = z.object({
  enabled: z.boolean().default(true),
  /** [R] a: 0 below −a, identity above a. */
  range: z.number().positive().default(3),
  /** [R] S: uniform segments on [−a, a], continuous least-squares fit to x·Φ(x). */
  segments: z.number().int().min(1).max(256).default(8),
  /** [R] 'shiftAdd' rounds every slope to ±2^i (± 2^j): a DSP-free datapath. */
  slopes: z.enum(['float', 'shiftAdd']).default('float'),
}).strict();

export const PeanoOptionsSchema = z.object({
  layerNorm: LayerNormOptionsSchema.default(LayerNormOptionsSchema.parse({})),
  softmax: SoftmaxOptionsSchema.default(SoftmaxOptionsSchema.parse({})),
  gelu: GeluOptionsSchema.default(GeluOptionsSchema.parse({})),
  /** Expand the tessera.peano ops into standard ONNX ops (no Exp/Sqrt/Div/Erf/Tanh/Pow) after swapping them in. */
  lower: z.boolean().default(true),
}).strict();

export type LayerNormOptions = z.infer<typeof LayerNormOptionsSchema>;
export type SoftmaxOptions = z.infer<typeof SoftmaxOptionsSchema>;
export type GeluOptions = z.infer<typeof GeluOptionsSchema>;
export type PeanoOptions = z.infer<typeof PeanoOptionsSchema>;
export type PeanoOptionsInput = z.input<typeof PeanoOptionsSchema>;

/** Parses options; a problem is one line naming the field. */
export function parsePeanoOptions(input: PeanoOptionsInput = {}): PeanoOptions {
  const r = PeanoOptionsSchema.safeParse(input);
  if (r.success) return r.data;
  const i = r.error.issues[0]!;
  throw new Error(`peano-approximate options.${i.path.join('.')}: ${i.message}`);
}
