/**
 * Option schemas with the spec's defaults (shared/specs/nlp-peft-kd.md §2.3, §2.5). Every
 * reconstructed [R] choice is an option here.
 */
import { z } from 'zod';
import { TARGETS } from './adapters.js';

const AdapterBase = z
  .object({
    /** Rank r of every adapter (uniform allocation); the spec's default at our scale (paper/code: 64 on 7B models). */
    rank: z.number().int().positive().default(8),
    /** Scale s = alpha / r [code: lora_alpha 16]. */
    alpha: z.number().positive().default(16),
    /** Dropout on the adapter input [code: 0.1]. */
    dropout: z.number().min(0).max(0.9).default(0.1),
    /** Which projections of each block get an adapter [code: all linears]. */
    targets: z.array(z.enum(TARGETS)).min(1).default([...TARGETS]),
    /** Block indices to adapt (null: all blocks). */
    blocks: z.array(z.number().int().nonnegative()).nullable().default(null),
    /** Seed of random adapter inits (LoRA's A; LaMDA 'code-release'). */
    seed: z.number().int().default(0),
  })
  .strict();

export const SpectralEnergyAllocation = z
  .object({
    kind: z.literal('spectral-energy'),
    /** Total rank over all adapted matrices; null: rank · #matrices [R]. */
    budget: z.number().int().positive().nullable().default(null),
    rMin: z.number().int().positive().default(2),
    rMax: z.number().int().positive().default(32),
    /** Score 1 − energy instead of energy (more rank to flat spectra) [R: direction not verified]. */
    invert: z.boolean().default(false),
  })
  .strict();

export const RankAllocation = z.discriminatedUnion('kind', [z.object({ kind: z.literal('uniform') }).strict(), SpectralEnergyAllocation]);

export const LamdaInsertOptions = AdapterBase.extend({
  /** 'svd-principal': A, B from the top-r singular vectors, S = 0 [R principal vs minor]; 'code-release': the released code's random init. */
  init: z.enum(['svd-principal', 'svd-minor', 'code-release']).default('svd-principal'),
  /** LaMDA: uniform ranks; LaMDA++: { kind: 'spectral-energy' } [abstract + R]. */
  rankAllocation: RankAllocation.default({ kind: 'uniform' }),
}).strict();
export type LamdaInsertOptions = z.output<typeof LamdaInsertOptions>;

export const LoraInsertOptions = AdapterBase;
export type LoraInsertOptions = z.output<typeof LoraInsertOptions>;

export const AdapterMergeOptions = z.object({}).strict();

export const LamdaFinetuneOptions = z
  .object({
    /** Optimizer steps T. */
    steps: z.number().int().positive().default(200),
    batchSize: z.number().int().positive().default(32),
    lr: z.number().positive().default(1e-3),
    /** AdamW decoupled weight decay [code: 0.1]. */
    weightDecay: z.number().nonnegative().default(0.1),
    /** Linear warmup fraction of T, then cosine [code: 3 %, cosine]. */
    warmupFraction: z.number().min(0).max(1).default(0.03),
    /** η: B completely frozen at ⌈ηT⌉ [code: 0.3; schedule fixed per spec §2.3]. */
    freezeEndFraction: z.number().positive().max(1).default(0.3),
    /** Rows of B frozen in singular-value order [R: 'largest-first' = the code's index order]. */
    freezeOrder: z.enum(['largest-first', 'smallest-first']).default('largest-first'),
    /** 'rows': real freezing (default); 'none' and 'gradient-zeroing' are ablations. */
    freezeMode: z.enum(['rows', 'none', 'gradient-zeroing']).default('rows'),
    /** Further trainable parameters (regex over names; '' for none): the new task head of the tiny BERT. */
    alsoTrain: z.string().default('^(pre_classifier|classifier)\\.'),
    /** Seed of the data order (null: the step's seed). */
    seed: z.number().int().nullable().default(null),
  })
  .strict()
  .superRefine((o, ctx) => {
    try {
      new RegExp(o.alsoTrain);
    } catch (e) {
      ctx.addIssue({ code: 'custom', path: ['alsoTrain'], message: `not a regular expression: ${(e as Error).message}` });
    }
  });
export type LamdaFinetuneOptions = z.output<typeof LamdaFinetuneOptions>;

export const AcceptabilityDataOptions = z
  .object({
    trainSize: z.number().int().positive().default(2000),
    testSize: z.number().int().positive().default(500),
    /** Tokens per example including <cls> (the BERT builder's seqLen must match). */
    maxLen: z.number().int().min(8).default(24),
  })
  .strict();
