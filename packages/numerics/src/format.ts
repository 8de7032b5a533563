/** Float arrays that a format can quantise in place or into a destination. */
export type FloatArray = Float32Array | Float64Array;

/** The kind of grid a format puts values on; cost models and lowerings switch on it. */
export type FormatKind = 'posit' | 'fixed' | 'pow2' | 'ieee' | 'int';

/**
 * A number format as a value: `posit(8, 2)`, `fixed(4, 2)`, `pow2(4)`, `bfloat16`, `float16`,
 * `uniformInt({ bits: 8, symmetric: true })`.
 */
export interface NumberFormat {
  /** Canonical name, e.g. `posit<8,2>`, `fixed<4,2>`, `pow2<4>`, `bfloat16`, `int<8,sym>`. */
  readonly id: string;
  readonly kind: FormatKind;
  /** Width of one encoded value in bits. */
  readonly bits: number;
  /** float64 -> bit pattern (unsigned, right-aligned), correctly rounded under the format's rule. */
  encode(x: number): number;
  /** bit pattern -> float64 value (NaN for NaR / NaN patterns). */
  decode(bits: number): number;
  /**
   * Sorted distinct finite representable values (ascending, one zero), or undefined when the
   * format has more than 2^16 patterns: enumerating those would cost more than it serves.
   */
  values(): Float64Array | undefined;
  /** Fake-quantise: dst[i] = decode(encode(src[i])); NaN stays NaN. Returns dst (default: new array of src's type). */
  quantize<T extends FloatArray>(src: FloatArray, dst?: T): T;
}

/** One clear line naming the call, the argument and its valid range. */
export function checkInt(call: string, name: string, v: number, lo: number, hi: number): void {
  if (!Number.isInteger(v) || v < lo || v > hi) {
    throw new RangeError(`${call}: ${name} must be an integer in ${lo}..${hi} (got ${String(v)})`);
  }
}

export function allocLike<T extends FloatArray>(src: FloatArray, dst?: T): T {
  if (dst) {
    if (dst.length !== src.length) throw new RangeError(`quantize: dst has length ${dst.length}, src has ${src.length}`);
    return dst;
  }
  return (src instanceof Float32Array ? new Float32Array(src.length) : new Float64Array(src.length)) as T;
}

/** Sorted distinct finite values of a format with at most 2^16 patterns, by decoding every pattern. */
export function enumerateValues(format: Pick<NumberFormat, 'bits' | 'decode'>): Float64Array | undefined {
  if (format.bits > 16) return undefined;
  const seen = new Set<number>();
  const count = 2 ** format.bits;
  for (let p = 0; p < count; p++) {
    const v = format.decode(p);
    if (Number.isFinite(v)) seen.add(v === 0 ? 0 : v); // -0 and +0 are one value
  }
  return Float64Array.from(seen).sort();
}
