import { z } from 'zod';

/** One-shot magnitude pruning: the fraction of layer weights set to zero, chosen globally or per layer. */
export const PruneOptionsSchema = z
  .object({
    /** Fraction of the selected weights set to zero, in [0, 1). */
    sparsity: z.number().min(0).lt(1),
    /** 'global': one magnitude threshold over all selected weights; 'layer': the same fraction in every layer. */
    scope: z.enum(['global', 'layer']).default('global'),
    /** Weight names to prune (default: every Conv/MatMul/Gemm weight). */
    layers: z.array(z.string().min(1)).default([]),
  })
  .strict();

/** Post-training symmetric uniform weight quantization (fake-quant: float values on the b-bit grid). */
export const QuantizeOptionsSchema = z
  .object({
    /** Bits per weight: 2^(b-1)-1 positive levels, symmetric, zero point 0. */
    bits: z.number().int().min(2).max(16),
    /** One scale per output channel (default) or one per tensor. */
    perChannel: z.boolean().default(true),
    /** Weight names to quantize (default: every Conv/MatMul/Gemm weight). */
    layers: z.array(z.string().min(1)).default([]),
  })
  .strict();

export type PruneOptions = z.output<typeof PruneOptionsSchema>;
export type PruneOptionsInput = z.input<typeof PruneOptionsSchema>;
export type QuantizeOptions = z.output<typeof QuantizeOptionsSchema>;
export type QuantizeOptionsInput = z.input<typeof QuantizeOptionsSchema>;

/** Parses options, turning the first problem into one line that names the option and what is valid. */
export function parseOptions<S extends z.ZodType>(schema: S, input: unknown, where: string): z.output<S> {
  const r = schema.safeParse(input ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const field = issue.path.length ? issue.path.map(String).join('.') : '(options)';
  throw new Error(`${where}: option '${field}': ${issue.message}`);
}
