import { allocLike, enumerateValues, type FloatArray, type NumberFormat } from './format.js';
import { exponentOf, float32Bits, float32FromBits, pow2, roundHalfEven } from './float-bits.js';

/**
 * A binary IEEE-754-style format with `expBits` exponent and `fracBits` fraction bits: gradual
 * underflow (subnormals), ±Inf, one canonical quiet NaN. encode rounds the double directly
 * (round to nearest, ties to even) — never through float32, which would round twice.
 */
export class IeeeFormat implements NumberFormat {
  readonly kind = 'ieee' as const;
  readonly bits: number;
  readonly bias: number;
  /** Smallest normal exponent 1 - bias and largest exponent bias. */
  readonly emin: number;
  readonly emax: number;
  readonly maxFinite: number;
  readonly nanBits: number;
  readonly infBits: number;
  private readonly signBit: number;
  private valuesCache?: Float64Array;

  constructor(
    readonly id: string,
    readonly expBits: number,
    readonly fracBits: number,
  ) {
    this.bits = 1 + expBits + fracBits;
    this.bias = 2 ** (expBits - 1) - 1;
    this.emin = 1 - this.bias;
    this.emax = this.bias;
    this.maxFinite = (2 - pow2(-fracBits)) * pow2(this.emax);
    this.signBit = 2 ** (this.bits - 1);
    this.infBits = (2 ** expBits - 1) * 2 ** fracBits;
    this.nanBits = this.infBits + 2 ** (fracBits - 1);
  }

  encode(x: number): number {
    if (x !== x) return this.nanBits;
    const neg = x < 0 || Object.is(x, -0);
    const m = Math.abs(x);
    const s = neg ? this.signBit : 0;
    if (m === 0) return s;
    if (m === Infinity) return s + this.infBits;
    const E = exponentOf(m);
    const fb = this.fracBits;
    if (E < this.emin) {
      // Subnormal grid 2^(emin - fb); a carry to 2^fb lands on the smallest normal pattern.
      return s + roundHalfEven(m * pow2(fb - this.emin));
    }
    if (E > this.emax) return s + this.infBits;
    const r = roundHalfEven(m * pow2(fb - E)); // in [2^fb, 2^(fb+1)]
    // A carry out of the fraction bumps the exponent; past emax that is the Inf pattern.
    return s + (E + this.bias) * 2 ** fb + (r - 2 ** fb);
  }

  decode(bits: number): number {
    const fb = this.fracBits;
    const sign = bits >= this.signBit ? -1 : 1;
    const mag = bits >= this.signBit ? bits - this.signBit : bits;
    const be = Math.floor(mag / 2 ** fb);
    const f = mag - be * 2 ** fb;
    if (be === 2 ** this.expBits - 1) return f === 0 ? sign * Infinity : NaN;
    if (be === 0) return sign * f * pow2(this.emin - fb);
    return sign * (2 ** fb + f) * pow2(be - this.bias - fb);
  }

  values(): Float64Array | undefined {
    if (this.valuesCache === undefined) this.valuesCache = enumerateValues(this);
    return this.valuesCache;
  }

  quantize<T extends FloatArray>(src: FloatArray, dst?: T): T {
    const out = allocLike(src, dst);
    if (this.expBits === 8 && this.fracBits === 7 && src instanceof Float32Array) {
      // bfloat16 is the top half of a float32, so rounding a float32 source is one integer add.
      for (let i = 0; i < src.length; i++) {
        const b = float32Bits(src[i]!);
        if ((b & 0x7f800000) === 0x7f800000) {
          out[i] = src[i]!; // Inf and NaN pass through
          continue;
        }
        const r = (b + 0x7fff + ((b >>> 16) & 1)) & 0xffff0000;
        out[i] = float32FromBits(r);
      }
      return out;
    }
    for (let i = 0; i < src.length; i++) out[i] = this.decode(this.encode(src[i]!));
    return out;
  }
}

/** bfloat16: 8 exponent bits, 7 fraction bits (float32's range, 8-bit significand). */
export const bfloat16 = new IeeeFormat('bfloat16', 8, 7);
/** IEEE binary16: 5 exponent bits, 10 fraction bits, subnormals down to 2^-24. */
export const float16 = new IeeeFormat('float16', 5, 10);
