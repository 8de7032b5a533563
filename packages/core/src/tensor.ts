import {
  allocate, bfloat16BitsToFloat32, float16BitsToFloat32, float32ToBfloat16Bits, float32ToFloat16Bits,
  isBigIntDType, type DType, type TensorData,
} from './dtype.js';

export type Shape = readonly number[];

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major strides of a shape. */
export function stridesOf(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/**
 * A dense, row-major tensor. Storage follows onnxruntime's conventions so that tensors cross to
 * a session without copies: int64 as BigInt64Array, float16/bfloat16 as raw bits in Uint16Array,
 * bool as Uint8Array of 0/1.
 */
export class Tensor {
  readonly size: number;

  constructor(
    readonly dtype: DType,
    readonly shape: Shape,
    readonly data: TensorData,
  ) {
    this.size = sizeOf(shape);
    if (data.length !== this.size) {
      throw new Error(`Tensor(${dtype}, [${shape.join(', ')}]): data has ${data.length} elements, the shape needs ${this.size}`);
    }
  }

  get rank(): number {
    return this.shape.length;
  }

  static zeros(dtype: DType, shape: Shape): Tensor {
    return new Tensor(dtype, shape, allocate(dtype, sizeOf(shape)));
  }

  /** Builds a tensor from plain numbers (or bigints / booleans / strings), converting to the storage type. */
  static from(values: ArrayLike<number | bigint | boolean | string>, shape: Shape, dtype: DType = 'float32'): Tensor {
    const t = Tensor.zeros(dtype, shape);
    if (values.length !== t.size) {
      throw new Error(`Tensor.from(${dtype}, [${shape.join(', ')}]): got ${values.length} values, the shape needs ${t.size}`);
    }
    for (let i = 0; i < t.size; i++) t.setFlat(i, values[i] as number);
    return t;
  }

  static scalar(value: number | bigint | boolean, dtype: DType = 'float32'): Tensor {
    return Tensor.from([value as number], [], dtype);
  }

  /** The element at flat index i as a JS number (int64 converted; NaN-safe for float16/bfloat16). */
  getFlat(i: number): number {
    const d = this.data;
    switch (this.dtype) {
      case 'float16': return float16BitsToFloat32((d as Uint16Array)[i]!);
      case 'bfloat16': return bfloat16BitsToFloat32((d as Uint16Array)[i]!);
      case 'int64': case 'uint64': return Number((d as BigInt64Array)[i]!);
      case 'string': throw new Error('getFlat on a string tensor: use .data');
      default: return (d as Float64Array)[i]!;
    }
  }

  setFlat(i: number, v: number | bigint | boolean | string): void {
    const d = this.data;
    switch (this.dtype) {
      case 'float16': (d as Uint16Array)[i] = float32ToFloat16Bits(Number(v)); return;
      case 'bfloat16': (d as Uint16Array)[i] = float32ToBfloat16Bits(Number(v)); return;
      case 'int64': case 'uint64':
        (d as BigInt64Array)[i] = typeof v === 'bigint' ? v : BigInt(Math.trunc(Number(v)));
        return;
      case 'bool': (d as Uint8Array)[i] = v ? 1 : 0; return;
      case 'string': (d as string[])[i] = String(v); return;
      default: (d as Float64Array)[i] = Number(v);
    }
  }

  /** All elements as float64 numbers (a copy). */
  toFloat64(): Float64Array {
    const out = new Float64Array(this.size);
    for (let i = 0; i < this.size; i++) out[i] = this.getFlat(i);
    return out;
  }

  /** All elements as JS numbers; for int64 index/shape tensors. */
  toNumbers(): number[] {
    const out = new Array<number>(this.size);
    for (let i = 0; i < this.size; i++) out[i] = this.getFlat(i);
    return out;
  }

  reshape(shape: Shape): Tensor {
    return new Tensor(this.dtype, shape, this.data);
  }

  clone(): Tensor {
    const d = this.data;
    return new Tensor(this.dtype, [...this.shape], Array.isArray(d) ? [...d] : (d.slice() as TensorData));
  }

  /** Converts to another dtype with ONNX Cast semantics for in-range values. */
  cast(dtype: DType): Tensor {
    if (dtype === this.dtype) return this.clone();
    const out = Tensor.zeros(dtype, this.shape);
    if (isBigIntDType(dtype) && isBigIntDType(this.dtype)) {
      for (let i = 0; i < this.size; i++) (out.data as BigInt64Array)[i] = (this.data as BigInt64Array)[i]!;
      return out;
    }
    for (let i = 0; i < this.size; i++) out.setFlat(i, this.getFlat(i));
    return out;
  }

  toString(): string {
    return `Tensor<${this.dtype}>[${this.shape.join(', ')}]`;
  }
}
