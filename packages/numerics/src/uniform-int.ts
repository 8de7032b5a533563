import { allocLike, checkInt, type FloatArray, type NumberFormat } from './format.js';
import { roundHalfEven } from './float-bits.js';

export interface UniformIntOptions {
  bits: number;
  /** Symmetric: codes -(2^(b-1)-1) .. 2^(b-1)-1 (narrow range, zero point 0). Asymmetric: codes 0 .. 2^b-1. */
  symmetric: boolean;
  /** Step between levels (default 1). */
  scale?: number;
  /** Code of the real value 0 (asymmetric only; default 0). */
  zeroPoint?: number;
}

/**
 * Uniform integer quantiser. Symmetric: q(x) = s·clamp(round(x/s), -n, n), n = 2^(b-1)-1.
 * Asymmetric: q(x) = s·(clamp(round(x/s) + z, 0, 2^b-1) - z). round is half-to-even (as ONNX
 * Round), applied to x/s computed in float64. NaN encodes to the code of 0; quantize keeps NaN.
 */
export class UniformIntFormat implements NumberFormat {
  readonly kind = 'int' as const;
  readonly id: string;
  readonly bits: number;
  readonly symmetric: boolean;
  readonly scale: number;
  readonly zeroPoint: number;
  readonly minCode: number;
  readonly maxCode: number;

  constructor(opts: UniformIntOptions) {
    const { bits, symmetric } = opts;
    const call = `uniformInt({bits: ${bits}, symmetric: ${symmetric}})`;
    checkInt(call, 'bits', bits, 2, 32);
    const scale = opts.scale ?? 1;
    if (!(scale > 0) || !Number.isFinite(scale)) throw new RangeError(`${call}: scale must be a finite number > 0 (got ${scale})`);
    this.bits = bits;
    this.symmetric = symmetric;
    this.scale = scale;
    if (symmetric) {
      if ((opts.zeroPoint ?? 0) !== 0) throw new RangeError(`${call}: zeroPoint must be 0 for a symmetric quantiser (got ${opts.zeroPoint})`);
      this.zeroPoint = 0;
      this.maxCode = 2 ** (bits - 1) - 1;
      this.minCode = -this.maxCode;
    } else {
      const zp = opts.zeroPoint ?? 0;
      checkInt(call, 'zeroPoint', zp, 0, 2 ** bits - 1);
      this.zeroPoint = zp;
      this.minCode = 0;
      this.maxCode = 2 ** bits - 1;
    }
    this.id = `int<${bits},${symmetric ? 'sym' : 'asym'}>`;
  }

  /** Integer code (before two's-complement packing for the symmetric case). */
  code(x: number): number {
    if (x !== x) return this.zeroPoint;
    const q = x / this.scale + this.zeroPoint;
    if (q >= this.maxCode) return this.maxCode;
    if (q <= this.minCode) return this.minCode;
    // round(x/s) + z: z is an integer, so rounding after adding it is the same rounding.
    return roundHalfEven(x / this.scale) + this.zeroPoint;
  }

  encode(x: number): number {
    const c = this.code(x);
    return c < 0 ? c + 2 ** this.bits : c;
  }

  decode(bits: number): number {
    const c = this.symmetric && bits >= 2 ** (this.bits - 1) ? bits - 2 ** this.bits : bits;
    return (c - this.zeroPoint) * this.scale;
  }

  values(): Float64Array | undefined {
    if (this.bits > 16) return undefined;
    const out = new Float64Array(this.maxCode - this.minCode + 1);
    for (let i = 0; i < out.length; i++) out[i] = (this.minCode + i - this.zeroPoint) * this.scale;
    return out;
  }

  quantize<T extends FloatArray>(src: FloatArray, dst?: T): T {
    const out = allocLike(src, dst);
    for (let i = 0; i < src.length; i++) {
      const x = src[i]!;
      out[i] = x !== x ? NaN : (this.code(x) - this.zeroPoint) * this.scale;
    }
    return out;
  }
}

export function uniformInt(opts: UniformIntOptions): UniformIntFormat {
  return new UniformIntFormat(opts);
}

/**
 * Scale (and zero point) from data. Symmetric: s = max|x| / (2^(b-1)-1). Asymmetric: the range
 * [min(x,0), max(x,0)] is spread over 2^b-1 steps and z = round(-min/s), so 0 is exactly a level.
 * An all-zero input gets s = 1.
 */
export function calibrateUniformInt(data: ArrayLike<number>, opts: { bits: number; symmetric: boolean }): UniformIntFormat {
  let lo = 0;
  let hi = 0;
  for (let i = 0; i < data.length; i++) {
    const x = data[i]!;
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  if (opts.symmetric) {
    const m = Math.max(-lo, hi);
    return new UniformIntFormat({ ...opts, scale: m > 0 ? m / (2 ** (opts.bits - 1) - 1) : 1 });
  }
  const levels = 2 ** opts.bits - 1;
  const scale = hi > lo ? (hi - lo) / levels : 1;
  const zeroPoint = Math.min(levels, Math.max(0, roundHalfEven(-lo / scale)));
  return new UniformIntFormat({ ...opts, scale, zeroPoint });
}

export interface PerChannelResult<T extends FloatArray> {
  values: T;
  /** One format (scale, zero point) per channel along `axis`. */
  formats: UniformIntFormat[];
}

/**
 * Per-channel fake quantisation of a row-major tensor: channel c along `axis` uses its own scale
 * and zero point, given in `scales` / `zeroPoints` or calibrated from that channel's data.
 */
export function quantizePerChannel<T extends FloatArray>(
  src: T,
  shape: readonly number[],
  axis: number,
  opts: { bits: number; symmetric: boolean; scales?: readonly number[]; zeroPoints?: readonly number[] },
): PerChannelResult<T> {
  const rank = shape.length;
  checkInt(`quantizePerChannel(shape=[${shape.join(',')}])`, 'axis', axis, 0, rank - 1);
  const total = shape.reduce((a, b) => a * b, 1);
  if (total !== src.length) throw new RangeError(`quantizePerChannel: shape [${shape.join(',')}] has ${total} elements, data has ${src.length}`);
  const channels = shape[axis]!;
  let inner = 1;
  for (let d = axis + 1; d < rank; d++) inner *= shape[d]!;
  if (opts.scales && opts.scales.length !== channels) throw new RangeError(`quantizePerChannel: scales has ${opts.scales.length} entries, axis ${axis} has ${channels} channels`);
  const formats: UniformIntFormat[] = [];
  for (let c = 0; c < channels; c++) {
    if (opts.scales) {
      formats.push(new UniformIntFormat({ bits: opts.bits, symmetric: opts.symmetric, scale: opts.scales[c]!, zeroPoint: opts.zeroPoints?.[c] ?? 0 }));
    } else {
      const slice: number[] = [];
      for (let i = c * inner; i < total; i += channels * inner) for (let j = 0; j < inner; j++) slice.push(src[i + j]!);
      formats.push(calibrateUniformInt(slice, opts));
    }
  }
  const out = (src instanceof Float32Array ? new Float32Array(total) : new Float64Array(total)) as T;
  for (let i = 0; i < total; i++) {
    const f = formats[Math.floor(i / inner) % channels]!;
    const x = src[i]!;
    out[i] = x !== x ? NaN : (f.code(x) - f.zeroPoint) * f.scale;
  }
  return { values: out, formats };
}
