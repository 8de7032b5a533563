import { allocLike, checkInt, type FloatArray, type NumberFormat } from './format.js';
import { pow2, roundHalfEven } from './float-bits.js';

/**
 * Two's-complement fixed point: n bits, `frac` of them after the binary point, so the grid is
 * k·2^-frac for k in [-2^(n-1), 2^(n-1) - 1]. Round to nearest even on the grid, saturate at
 * both ends. NaN encodes to the zero pattern (there is no NaN pattern); quantize keeps NaN.
 */
export class FixedFormat implements NumberFormat {
  readonly kind = 'fixed' as const;
  readonly id: string;
  readonly bits: number;
  /** Grid step 2^-frac. */
  readonly step: number;
  /** Smallest and largest integer codes. */
  readonly minCode: number;
  readonly maxCode: number;
  private readonly scaleUp: number;

  constructor(
    readonly n: number,
    readonly frac: number,
  ) {
    checkInt(`fixed(n=${n}, frac=${frac})`, 'n', n, 1, 32);
    checkInt(`fixed(n=${n}, frac=${frac})`, 'frac', frac, -64, 64);
    this.id = `fixed<${n},${frac}>`;
    this.bits = n;
    this.step = pow2(-frac);
    this.scaleUp = pow2(frac);
    this.minCode = -(2 ** (n - 1));
    this.maxCode = 2 ** (n - 1) - 1;
  }

  /** Integer code of x (before two's-complement packing); x·2^frac is exact, so one rounding. */
  code(x: number): number {
    if (x !== x) return 0;
    const q = x * this.scaleUp;
    if (q >= this.maxCode) return this.maxCode;
    if (q <= this.minCode) return this.minCode;
    return roundHalfEven(q);
  }

  encode(x: number): number {
    const c = this.code(x);
    return c < 0 ? c + 2 ** this.n : c;
  }

  decode(bits: number): number {
    const c = bits >= 2 ** (this.n - 1) ? bits - 2 ** this.n : bits;
    return c * this.step;
  }

  values(): Float64Array | undefined {
    if (this.n > 16) return undefined;
    const out = new Float64Array(2 ** this.n);
    for (let i = 0; i < out.length; i++) out[i] = (this.minCode + i) * this.step;
    return out;
  }

  quantize<T extends FloatArray>(src: FloatArray, dst?: T): T {
    const out = allocLike(src, dst);
    for (let i = 0; i < src.length; i++) {
      const x = src[i]!;
      out[i] = x !== x ? NaN : this.code(x) * this.step;
    }
    return out;
  }
}

export function fixed(n: number, frac: number): FixedFormat {
  return new FixedFormat(n, frac);
}
