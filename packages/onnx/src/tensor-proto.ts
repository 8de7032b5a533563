import type protobuf from 'protobufjs';
import { allocate, bytesPerElement, dtypeFromOnnxCode, ONNX_DTYPE_CODE, Tensor, type DType, type TensorData } from '@tessera/core';

type Long = protobuf.Long;

/** The subset of a decoded TensorProto this module reads (protobufjs message, camelCase fields). */
export interface TensorProtoLike {
  dims?: (Long | number)[];
  dataType?: number;
  segment?: unknown;
  floatData?: number[];
  int32Data?: number[];
  stringData?: Uint8Array[];
  int64Data?: (Long | number)[];
  name?: string;
  rawData?: Uint8Array;
  externalData?: { key: string; value: string }[];
  dataLocation?: number;
  doubleData?: number[];
  uint64Data?: (Long | number)[];
}

const ONNX_TYPE_NAMES: Record<number, string> = {
  14: 'complex64', 15: 'complex128', 17: 'float8e4m3fn', 18: 'float8e4m3fnuz', 19: 'float8e5m2', 20: 'float8e5m2fnuz', 21: 'uint4', 22: 'int4',
};

export function toNumber(x: Long | number | undefined | null): number {
  if (x === undefined || x === null) return 0;
  return typeof x === 'number' ? x : x.high * 4294967296 + (x.low >>> 0);
}

export function toBigInt(x: Long | number, unsigned = false): bigint {
  if (typeof x === 'number') return BigInt(x);
  const v = (BigInt(x.high >>> 0) << 32n) | BigInt(x.low >>> 0);
  return unsigned ? BigInt.asUintN(64, v) : BigInt.asIntN(64, v);
}

/** An ONNX element type code as a Tessera dtype; `where` names the tensor or value in the error. */
export function dtypeOf(code: number, where: string): DType {
  try {
    return dtypeFromOnnxCode(code);
  } catch {
    const name = ONNX_TYPE_NAMES[code] ?? `code ${code}`;
    throw new Error(`${where}: element type ${name} is not supported (supported: float32, float64, float16, bfloat16, int8..int64, uint8..uint64, bool, string)`);
  }
}

const utf8 = new TextDecoder();
const utf8enc = new TextEncoder();

/**
 * Decodes a TensorProto into a Tensor. raw_data is little-endian; when its bytes are aligned for
 * the element type the tensor views the model's buffer, otherwise they are copied once.
 */
export function tensorFromProto(tp: TensorProtoLike, where: string): Tensor {
  const name = tp.name ? `${where} '${tp.name}'` : where;
  if (tp.dataLocation === 1 || (tp.externalData?.length ?? 0) > 0) {
    const loc = tp.externalData?.find((e) => e.key === 'location')?.value;
    throw new Error(`${name}: external data${loc ? ` ('${loc}')` : ''} is not supported; save the model with all tensors inside the file (onnx.save_model(m, path, save_as_external_data=False))`);
  }
  if (tp.segment) throw new Error(`${name}: segmented tensors are not supported`);
  const dtype = dtypeOf(tp.dataType ?? 0, name);
  const shape = (tp.dims ?? []).map(toNumber);
  let n = 1;
  for (const d of shape) n *= d;
  const raw = tp.rawData;
  if (raw && raw.length > 0) {
    if (dtype === 'string') throw new Error(`${name}: string tensors cannot use raw_data`);
    const bpe = bytesPerElement(dtype);
    if (raw.length !== n * bpe) throw new Error(`${name}: raw_data has ${raw.length} bytes, shape [${shape.join(', ')}] of ${dtype} needs ${n * bpe}`);
    return new Tensor(dtype, shape, viewRaw(dtype, raw, n));
  }
  const data = allocate(dtype, n);
  const src = fieldFor(dtype, tp);
  if (src.length !== n) {
    throw new Error(`${name}: has ${src.length} values, shape [${shape.join(', ')}] needs ${n}`);
  }
  switch (dtype) {
    case 'string': {
      const out = data as string[];
      for (let i = 0; i < n; i++) out[i] = utf8.decode(src[i] as Uint8Array);
      break;
    }
    case 'int64': case 'uint64': {
      const out = data as BigInt64Array | BigUint64Array;
      const uns = dtype === 'uint64';
      for (let i = 0; i < n; i++) out[i] = toBigInt(src[i] as Long | number, uns);
      break;
    }
    case 'uint32': {
      const out = data as Uint32Array;
      for (let i = 0; i < n; i++) out[i] = toNumber(src[i] as Long | number);
      break;
    }
    default: {
      const out = data as Exclude<TensorData, string[] | BigInt64Array | BigUint64Array>;
      for (let i = 0; i < n; i++) out[i] = src[i] as number;
    }
  }
  return new Tensor(dtype, shape, data);
}

function fieldFor(dtype: DType, tp: TensorProtoLike): unknown[] {
  switch (dtype) {
    case 'float32': return tp.floatData ?? [];
    case 'float64': return tp.doubleData ?? [];
    case 'int64': return tp.int64Data ?? [];
    case 'uint32': case 'uint64': return tp.uint64Data ?? [];
    case 'string': return tp.stringData ?? [];
    default: return tp.int32Data ?? []; // int8..int32, uint8, uint16, bool, float16/bfloat16 bits
  }
}

function viewRaw(dtype: DType, raw: Uint8Array, n: number): TensorData {
  const bpe = bytesPerElement(dtype);
  const aligned = raw.byteOffset % bpe === 0;
  // Node Buffers' slice() is a view, so copy through a fresh Uint8Array when realigning.
  const buf = aligned ? raw.buffer : new Uint8Array(raw).buffer;
  const off = aligned ? raw.byteOffset : 0;
  switch (dtype) {
    case 'float32': return new Float32Array(buf, off, n);
    case 'float64': return new Float64Array(buf, off, n);
    case 'float16': case 'bfloat16': case 'uint16': return new Uint16Array(buf, off, n);
    case 'int8': return new Int8Array(buf, off, n);
    case 'int16': return new Int16Array(buf, off, n);
    case 'int32': return new Int32Array(buf, off, n);
    case 'int64': return new BigInt64Array(buf, off, n);
    case 'uint32': return new Uint32Array(buf, off, n);
    case 'uint64': return new BigUint64Array(buf, off, n);
    case 'bool': {
      const b = new Uint8Array(buf, off, n);
      for (let i = 0; i < n; i++) if (b[i]! > 1) return Uint8Array.from(b, (x) => (x ? 1 : 0));
      return b;
    }
    default: return new Uint8Array(buf, off, n);
  }
}

/** Encodes a Tensor as a TensorProto object: numbers as raw_data (little-endian), strings as string_data. */
export function tensorToProto(t: Tensor, name?: string): Record<string, unknown> {
  const proto: Record<string, unknown> = {
    dims: t.shape.map((d) => d),
    dataType: ONNX_DTYPE_CODE[t.dtype],
  };
  if (name) proto.name = name;
  if (t.dtype === 'string') {
    proto.stringData = (t.data as string[]).map((s) => utf8enc.encode(s));
  } else {
    const d = t.data as Exclude<TensorData, string[]>;
    proto.rawData = new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
  }
  return proto;
}

/** An int64 attribute value; numbers outside int64 saturate (as numpy does when onnx stores INT64_MAX). */
export function longOf(v: number): Long {
  if (!Number.isFinite(v)) throw new Error(`int attribute value ${v} is not finite`);
  if (v >= 9223372036854775807) return { low: -1, high: 0x7fffffff, unsigned: false };
  if (v <= -9223372036854775808) return { low: 0, high: -0x80000000, unsigned: false };
  const big = BigInt.asUintN(64, BigInt(Math.trunc(v)));
  return { low: Number(big & 0xffffffffn) | 0, high: Number(big >> 32n) | 0, unsigned: false };
}
