export { importModel, decodeModelProto, typeFromProto, ONNX_META, type ImportOptions } from './import.js';
export { exportModel, irVersionForOpset, type ExportOptions } from './export.js';
export { loadModel, saveModel } from './io.js';
export { tensorFromProto, tensorToProto, type TensorProtoLike } from './tensor-proto.js';
export { ONNX_SCHEMA, onnxRoot, ModelProto, TensorProtoType } from './schema.js';
