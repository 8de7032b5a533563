import type { GraphBuilder } from '../builder.js';
import type { Value } from '../graph.js';
import type { Tensor } from '../tensor.js';
import { gradScale } from './grad.js';
import { scalar } from './rules-util.js';

export interface LsqOptions {
  bits: number;
  /** Symmetric signed grid [-(2^(b-1)-1), 2^(b-1)-1] (default) or unsigned [0, 2^b - 1]. */
  signed?: boolean;
  /** Elements sharing the step (default: the size of `x`, static); sets g = 1/sqrt(numel·Qp). */
  numel?: number;
}

/** The integer clipping range of a uniform grid (B1). */
export function lsqRange(bits: number, signed = true): { lo: number; hi: number } {
  return signed ? { lo: -(2 ** (bits - 1) - 1), hi: 2 ** (bits - 1) - 1 } : { lo: 0, hi: 2 ** bits - 1 };
}

/**
 * LSQ fake quantiser with a learnable step s: q = s·round(clip(x/s, lo, hi)), built from standard
 * ops. Round has the straight-through rule and Clip masks it, so autodiff yields dq/dx = 1 inside
 * the range and 0 outside, and dq/ds = round(x/s) − x/s inside, lo or hi when clipped — LSQ's rule —
 * with the step's gradient scaled by g = 1/sqrt(numel·Qp) through a gradScale Identity.
 */
export function lsqFakeQuant(b: GraphBuilder, x: Value, step: Value, opts: LsqOptions): Value {
  const { lo, hi } = lsqRange(opts.bits, opts.signed ?? true);
  const numel = opts.numel ?? (x.shape ?? []).reduce<number>((p, d) => p * (typeof d === 'number' ? d : 1), 1);
  const s = gradScale(b, step, 1 / Math.sqrt(numel * hi));
  const v = b.op('Clip', [b.op('Div', [x, s]), scalar(b, lo, x), scalar(b, hi, x)]);
  return b.op('Mul', [b.op('Round', [v]), s], {}, { name: 'lsq' });
}

/** LSQ's initial step: 2·mean(|x|)/sqrt(Qp). */
export function lsqInitStep(x: Tensor, bits: number, signed = true): number {
  const { hi } = lsqRange(bits, signed);
  let s = 0;
  for (let i = 0; i < x.size; i++) s += Math.abs(x.getFlat(i));
  return (2 * (s / x.size)) / Math.sqrt(hi);
}
