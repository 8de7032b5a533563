import { allocLike, checkInt, type FloatArray, type NumberFormat } from './format.js';
import { exponentOf, pow2 as exp2 } from './float-bits.js';

/**
 * Power-of-two (log2) grid with an explicit zero: one sign bit and 2^(b-1) magnitude codes.
 * Code 0 is zero; codes j = 1..m (m = 2^(b-1)-1) are 2^(emin + j - 1), with emin = emax - (m-1).
 * With the default emax = 0 the levels are 0, ±2^-(m-1) .. ±1, as in the spec's scaled form
 * (the layer scale c is folded elsewhere).
 *
 * Rounding is in the log domain: e = round(log2|x|), i.e. the decision point between 2^e and
 * 2^(e+1) is the geometric midpoint √2·2^e. √2 is irrational, so no double is ever a tie.
 * Below 2^emin the decision point to zero is 2^emin/√2 (the geometric midpoint to the next level
 * down, as if the zero code stood for 2^(emin-1)). |x| above 2^emax saturates to ±2^emax.
 */
export class Pow2Format implements NumberFormat {
  readonly kind = 'pow2' as const;
  readonly id: string;
  readonly bits: number;
  readonly emax: number;
  readonly emin: number;
  /** Number of non-zero magnitude codes. */
  readonly levels: number;
  private readonly signBit: number;
  private readonly zeroBelow: number;
  private readonly top: number;

  constructor(bits: number, emax = 0) {
    checkInt(`pow2(bits=${bits}, emax=${emax})`, 'bits', bits, 2, 8);
    checkInt(`pow2(bits=${bits}, emax=${emax})`, 'emax', emax, -800, 800);
    this.bits = bits;
    this.emax = emax;
    this.levels = 2 ** (bits - 1) - 1;
    this.emin = emax - (this.levels - 1);
    this.signBit = 2 ** (bits - 1);
    // Math.SQRT2 is the smallest double above √2, so |x| >= SQRT2·2^e  <=>  |x| > √2·2^e.
    this.zeroBelow = Math.SQRT2 * exp2(this.emin - 1);
    this.top = exp2(emax);
    this.id = emax === 0 ? `pow2<${bits}>` : `pow2<${bits},emax=${emax}>`;
  }

  /** Magnitude code 0..m of |x|. */
  private magCode(m: number): number {
    if (!(m >= this.zeroBelow)) return 0; // also NaN
    if (m >= this.top) return this.levels;
    const E = exponentOf(m);
    const e = m >= Math.SQRT2 * exp2(E) ? E + 1 : E;
    return Math.min(Math.max(e, this.emin), this.emax) - this.emin + 1;
  }

  encode(x: number): number {
    const j = this.magCode(x < 0 ? -x : x);
    return j !== 0 && x < 0 ? this.signBit | j : j;
  }

  decode(bits: number): number {
    const j = bits & (this.signBit - 1);
    if (j === 0) return 0;
    const v = exp2(this.emin + j - 1);
    return bits & this.signBit ? -v : v;
  }

  values(): Float64Array {
    const m = this.levels;
    const out = new Float64Array(2 * m + 1);
    for (let j = 1; j <= m; j++) {
      out[m + j] = exp2(this.emin + j - 1);
      out[m - j] = -exp2(this.emin + j - 1);
    }
    return out;
  }

  quantize<T extends FloatArray>(src: FloatArray, dst?: T): T {
    const out = allocLike(src, dst);
    for (let i = 0; i < src.length; i++) {
      const x = src[i]!;
      out[i] = x !== x ? NaN : this.decode(this.encode(x));
    }
    return out;
  }
}

/** pow2(bits, emax = 0): power-of-two grid with an explicit zero. */
export function pow2(bits: number, emax = 0): Pow2Format {
  return new Pow2Format(bits, emax);
}
