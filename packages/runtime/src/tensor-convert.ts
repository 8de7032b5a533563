import { Tensor, type DType, type TensorData } from '@tessera/core';
import type { Tensor as OrtTensor } from 'onnxruntime-node';

/** The ORT module surface this package uses (onnxruntime-node and onnxruntime-web share it). */
export type OrtModule = typeof import('onnxruntime-node');

const ORT_TYPES = new Set<DType>(['float32', 'float64', 'float16', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64', 'bool', 'string']);

/** Wraps a Tessera tensor as an ORT tensor without copying (both share the storage conventions). */
export function toOrtTensor(ort: OrtModule, t: Tensor, backend: string, name: string): OrtTensor {
  if (!ORT_TYPES.has(t.dtype)) {
    throw new Error(`${backend}: input '${name}' is ${t.dtype}, which onnxruntime's JavaScript API cannot carry (supported: ${[...ORT_TYPES].join(', ')})`);
  }
  return new ort.Tensor(t.dtype as 'float32', t.data as Float32Array, t.shape as number[]) as unknown as OrtTensor;
}

/** Views an ORT output as a Tessera tensor (no copy: the typed array is adopted). */
export function fromOrtTensor(t: OrtTensor, backend: string, name: string): Tensor {
  const type = t.type as string;
  if (!ORT_TYPES.has(type as DType)) throw new Error(`${backend}: output '${name}' has element type ${type}, which Tessera tensors do not hold`);
  return new Tensor(type as DType, [...t.dims], t.data as TensorData);
}
