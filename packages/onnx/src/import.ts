import {
  Graph, inferNode, standardOps, Tensor, type Attribute, type Dim, type Node, type OpRegistry, type ValueType,
} from '@tessera/core';
import type protobuf from 'protobufjs';
import { ModelProto } from './schema.js';
import { dtypeOf, tensorFromProto, toNumber, type TensorProtoLike } from './tensor-proto.js';

type Long = protobuf.Long;

export interface ImportOptions {
  /** Ops are checked against this registry (default: core's standardOps()). */
  registry?: OpRegistry;
  /**
   * What to do with an op the registry does not declare: 'error' (default) fails with one line
   * naming the node; 'keep' imports it as an opaque node, which still exports and runs on
   * onnxruntime but not on the reference interpreter.
   */
  unknownOps?: 'error' | 'keep';
  /** Fill in missing value types with the registry's shape inference (default true). */
  inferShapes?: boolean;
  /** How errors name the model (default 'model.onnx'; loadModel passes the path). */
  source?: string;
}

/** Keys under which the importer keeps model-level facts in `graph.meta`, for a faithful export. */
export const ONNX_META = {
  irVersion: 'onnx.irVersion',
  producerName: 'onnx.producerName',
  producerVersion: 'onnx.producerVersion',
  modelDomain: 'onnx.domain',
  modelVersion: 'onnx.modelVersion',
  modelDocString: 'onnx.docString',
  metadataProps: 'onnx.metadataProps',
} as const;

interface AttributeProtoLike {
  name: string;
  refAttrName?: string;
  type?: number;
  f?: number;
  i?: Long | number;
  s?: Uint8Array;
  t?: TensorProtoLike;
  g?: GraphProtoLike;
  sparseTensor?: SparseTensorProtoLike;
  tp?: TypeProtoLike;
  floats?: number[];
  ints?: (Long | number)[];
  strings?: Uint8Array[];
  tensors?: TensorProtoLike[];
  graphs?: GraphProtoLike[];
  sparseTensors?: SparseTensorProtoLike[];
  typeProtos?: TypeProtoLike[];
}
interface SparseTensorProtoLike { values?: TensorProtoLike; indices?: TensorProtoLike; dims?: (Long | number)[] }
interface TypeProtoLike {
  tensorType?: { elemType?: number; shape?: { dim?: { value?: 'dimValue' | 'dimParam'; dimValue?: Long | number | null; dimParam?: string | null }[] } };
  sequenceType?: unknown;
  mapType?: unknown;
  optionalType?: unknown;
  sparseTensorType?: unknown;
}
interface ValueInfoLike { name: string; type?: TypeProtoLike; docString?: string }
interface NodeProtoLike {
  input: string[];
  output: string[];
  name?: string;
  opType: string;
  domain?: string;
  attribute: AttributeProtoLike[];
  docString?: string;
}
interface GraphProtoLike {
  node: NodeProtoLike[];
  name?: string;
  initializer: TensorProtoLike[];
  sparseInitializer: SparseTensorProtoLike[];
  docString?: string;
  input: ValueInfoLike[];
  output: ValueInfoLike[];
  valueInfo: ValueInfoLike[];
}
interface ModelProtoLike {
  irVersion?: Long | number;
  opsetImport: { domain?: string; version?: Long | number }[];
  producerName?: string;
  producerVersion?: string;
  domain?: string;
  modelVersion?: Long | number;
  docString?: string;
  graph?: GraphProtoLike;
  metadataProps: { key: string; value: string }[];
  trainingInfo: unknown[];
  functions: { name?: string; domain?: string }[];
}

const utf8 = new TextDecoder();

/** Decodes ModelProto bytes; a damaged file gives one line naming the byte where decoding stopped. */
export function decodeModelProto(bytes: Uint8Array, source = 'model.onnx'): ModelProtoLike {
  try {
    return ModelProto.decode(bytes) as unknown as ModelProtoLike;
  } catch (e) {
    const msg = (e as Error).message;
    const trunc = /index out of range: (\d+) \+ (\d+) > (\d+)/.exec(msg);
    if (trunc) throw new Error(`${source}: not a valid ONNX model (protobuf truncated at byte ${trunc[1]})`);
    const wire = /invalid wire type (\d+) at offset (\d+)/.exec(msg);
    if (wire) throw new Error(`${source}: not a valid ONNX model (invalid protobuf wire type ${wire[1]} at byte ${wire[2]})`);
    throw new Error(`${source}: not a valid ONNX model (${msg.split('\n')[0]})`);
  }
}

/** Reads ONNX ModelProto bytes into a Tessera Graph (opset imports, initializers, subgraphs and types kept). */
export function importModel(bytes: Uint8Array, opts: ImportOptions = {}): Graph {
  const source = opts.source ?? 'model.onnx';
  const model = decodeModelProto(bytes, source);
  try {
    return importModelProto(model, opts);
  } catch (e) {
    throw new Error(`${source}: ${(e as Error).message}`);
  }
}

function importModelProto(model: ModelProtoLike, opts: ImportOptions): Graph {
  if (!model.graph) throw new Error('not a valid ONNX model (ModelProto has no graph)');
  if (model.functions.length > 0) {
    const f = model.functions[0]!;
    throw new Error(`model-local function '${f.domain ? `${f.domain}::` : ''}${f.name}' is not supported; inline functions before import (onnx.inliner)`);
  }
  if (model.trainingInfo.length > 0) throw new Error('training_info (ONNX training extensions) is not supported');
  const opsets = model.opsetImport.map((o) => ({ domain: o.domain === 'ai.onnx' ? '' : o.domain ?? '', version: toNumber(o.version) }));
  const ctx: ImportContext = {
    registry: opts.registry ?? standardOps(),
    unknownOps: opts.unknownOps ?? 'error',
    inferShapes: opts.inferShapes ?? true,
  };
  const g = importGraph(model.graph, ctx, undefined, opsets);
  g.meta.set(ONNX_META.irVersion, toNumber(model.irVersion));
  if (model.producerName) g.meta.set(ONNX_META.producerName, model.producerName);
  if (model.producerVersion) g.meta.set(ONNX_META.producerVersion, model.producerVersion);
  if (model.domain) g.meta.set(ONNX_META.modelDomain, model.domain);
  if (model.modelVersion) g.meta.set(ONNX_META.modelVersion, toNumber(model.modelVersion));
  if (model.docString) g.meta.set(ONNX_META.modelDocString, model.docString);
  if (model.metadataProps.length) g.meta.set(ONNX_META.metadataProps, model.metadataProps.map((p) => ({ key: p.key, value: p.value })));
  return g;
}

interface ImportContext {
  registry: OpRegistry;
  unknownOps: 'error' | 'keep';
  inferShapes: boolean;
}

function describeNode(np: NodeProtoLike, index: number): string {
  const op = np.domain && np.domain !== 'ai.onnx' ? `${np.domain}::${np.opType}` : np.opType;
  return np.name ? `node "${np.name}" (${op})` : `node #${index} (${op})`;
}

function importGraph(gp: GraphProtoLike, ctx: ImportContext, parent: Graph | undefined, opsets: Graph['opsets']): Graph {
  const g = new Graph(gp.name || 'graph');
  g.opsets = opsets.map((o) => ({ ...o }));
  if (parent) g.parent = parent;
  if (gp.docString) g.docString = gp.docString;
  const where = parent ? `subgraph "${g.name}"` : `graph "${g.name}"`;

  const inits = new Map<string, Tensor>();
  for (const tp of gp.initializer) {
    if (!tp.name) throw new Error(`${where}: an initializer has no name`);
    inits.set(tp.name, tensorFromProto(tp, `initializer`));
  }
  for (const sp of gp.sparseInitializer) {
    const name = sp.values?.name;
    if (!name) throw new Error(`${where}: a sparse initializer has no name`);
    inits.set(name, densify(sp, `sparse initializer '${name}'`));
  }
  for (const vi of gp.input) {
    const type = vi.type ? typeFromProto(vi.type, `${where} input '${vi.name}'`) : undefined;
    const init = inits.get(vi.name);
    if (init) {
      // An initializer listed as an input (IR < 4 style): a default value the caller may override.
      const v = g.addInitializer(vi.name, init);
      if (type) v.type = type;
      g.inputs.push(v);
      inits.delete(vi.name);
    } else {
      g.addInput(vi.name, type);
    }
  }
  for (const [name, t] of inits) g.addInitializer(name, t);

  const valueInfo = new Map<string, ValueInfoLike>();
  for (const vi of gp.valueInfo) valueInfo.set(vi.name, vi);
  for (const vi of gp.output) valueInfo.set(vi.name, vi);

  // Pass 1: nodes and their outputs (so that unsorted graphs still import); pass 2: inputs, subgraphs.
  const nodes: Node[] = [];
  gp.node.forEach((np, i) => {
    const domain = np.domain === 'ai.onnx' ? '' : np.domain ?? '';
    if (!ctx.registry.has(np.opType, domain) && ctx.unknownOps === 'error') {
      throw new Error(`${describeNode(np, i)}: unknown op; not in the op registry`);
    }
    for (const o of np.output) {
      if (o !== '' && g.hasValue(o)) throw new Error(`${describeNode(np, i)} output '${o}' is already defined (ONNX graphs assign each name once)`);
    }
    const n = g.addNode({ op: np.opType, domain, name: np.name || undefined, outputs: [...np.output], docString: np.docString || undefined });
    for (const o of n.outputs) {
      const vi = valueInfo.get(o.name);
      if (vi?.type) o.type = typeFromProto(vi.type, `value '${o.name}'`);
    }
    nodes.push(n);
  });
  gp.node.forEach((np, i) => {
    const n = nodes[i]!;
    np.input.forEach((name, k) => {
      if (name === '') { n.setInput(k, null); return; }
      const v = g.value(name);
      if (!v) throw new Error(`${describeNode(np, i)} input '${name}' is neither a graph input, an initializer nor a node output`);
      n.setInput(k, v);
    });
    for (const ap of np.attribute) n.setAttr(ap.name, attributeFromProto(ap, `${describeNode(np, i)} attribute '${ap.name}'`, ctx, g));
  });
  if (nodes.length > 1) {
    try { g.sortTopologically(); } catch (e) { throw new Error(`${where}: ${(e as Error).message}`); }
  }

  for (const vi of gp.output) {
    const v = g.value(vi.name);
    if (!v) throw new Error(`${where} output '${vi.name}' is neither a graph input, an initializer nor a node output`);
    if (vi.type && !v.type) v.type = typeFromProto(vi.type, `${where} output '${vi.name}'`);
    g.addOutput(v);
  }

  if (ctx.inferShapes) {
    for (const n of g.nodes) {
      if (!n.outputs.some((o) => o.name !== '' && !o.type) || !ctx.registry.has(n.op, n.domain)) continue;
      const known = n.outputs.map((o) => o.type);
      inferNode(n, ctx.registry);
      // Declared types (value_info / graph outputs) win over inferred ones.
      n.outputs.forEach((o, k) => { if (known[k]) o.type = known[k]; });
    }
  }
  return g;
}

export function typeFromProto(tp: TypeProtoLike, where: string): ValueType | undefined {
  if (tp.sequenceType) throw new Error(`${where}: sequence types are not supported (only tensor types)`);
  if (tp.mapType) throw new Error(`${where}: map types are not supported (only tensor types)`);
  if (tp.optionalType) throw new Error(`${where}: optional types are not supported (only tensor types)`);
  if (tp.sparseTensorType) throw new Error(`${where}: sparse tensor types are not supported (only dense tensor types)`);
  const tt = tp.tensorType;
  if (!tt) return undefined;
  const dtype = dtypeOf(tt.elemType ?? 0, where);
  if (!tt.shape) return { dtype };
  const shape: Dim[] = (tt.shape.dim ?? []).map((d) => {
    // protobufjs puts oneof defaults on the prototype: the `value` discriminator says which field is set.
    if (d.value === 'dimValue') return toNumber(d.dimValue);
    if (d.value === 'dimParam') return d.dimParam || null;
    return null;
  });
  return { dtype, shape };
}

function densify(sp: SparseTensorProtoLike, where: string): Tensor {
  if (!sp.values || !sp.indices) throw new Error(`${where}: needs values and indices`);
  const values = tensorFromProto(sp.values, where);
  const indices = tensorFromProto(sp.indices, where);
  const dims = (sp.dims ?? []).map(toNumber);
  const out = Tensor.zeros(values.dtype, dims);
  const strides = dims.map((_, i) => dims.slice(i + 1).reduce((a, b) => a * b, 1));
  const nnz = values.size;
  for (let k = 0; k < nnz; k++) {
    let flat: number;
    if (indices.rank === 1) flat = indices.getFlat(k);
    else {
      flat = 0;
      for (let j = 0; j < dims.length; j++) flat += indices.getFlat(k * dims.length + j) * strides[j]!;
    }
    if (values.dtype === 'string') (out.data as string[])[flat] = (values.data as string[])[k]!;
    else if (values.dtype === 'int64' || values.dtype === 'uint64') (out.data as BigInt64Array)[flat] = (values.data as BigInt64Array)[k]!;
    else (out.data as Float32Array)[flat] = (values.data as Float32Array)[k]!;
  }
  return out;
}

function sparseFromProto(sp: SparseTensorProtoLike, where: string): { values: Tensor; indices: Tensor; dims: number[] } {
  if (!sp.values || !sp.indices) throw new Error(`${where}: a sparse tensor needs values and indices`);
  return { values: tensorFromProto(sp.values, where), indices: tensorFromProto(sp.indices, where), dims: (sp.dims ?? []).map(toNumber) };
}

const ATTR_KIND: Record<number, Attribute['kind'] | 'sparse_tensors'> = {
  1: 'float', 2: 'int', 3: 'string', 4: 'tensor', 5: 'graph', 11: 'sparse_tensor', 13: 'type_proto',
  6: 'floats', 7: 'ints', 8: 'strings', 9: 'tensors', 10: 'graphs', 12: 'sparse_tensors', 14: 'type_protos',
};

function attributeFromProto(ap: AttributeProtoLike, where: string, ctx: ImportContext, owner: Graph): Attribute {
  if (ap.refAttrName) throw new Error(`${where}: refers to function attribute '${ap.refAttrName}', which only exists inside a FunctionProto`);
  let kind = ap.type ? ATTR_KIND[ap.type] : undefined;
  if (!kind) {
    // IR < 3 files carry no type tag: infer it from the field that is set.
    if (ap.g) kind = 'graph';
    else if (ap.t) kind = 'tensor';
    else if (ap.sparseTensor) kind = 'sparse_tensor';
    else if (ap.tp) kind = 'type_proto';
    else if (ap.s && ap.s.length) kind = 'string';
    else if (ap.floats?.length) kind = 'floats';
    else if (ap.ints?.length) kind = 'ints';
    else if (ap.strings?.length) kind = 'strings';
    else if (ap.tensors?.length) kind = 'tensors';
    else if (ap.graphs?.length) kind = 'graphs';
    else if (ap.i !== undefined && toNumber(ap.i) !== 0) kind = 'int';
    else if (ap.f) kind = 'float';
    else throw new Error(`${where}: attribute type is not set (AttributeProto.type, code ${ap.type ?? 0})`);
  }
  switch (kind) {
    case 'float': return { kind, value: ap.f ?? 0 };
    case 'int': return { kind, value: toNumber(ap.i) };
    case 'string': return { kind, value: utf8.decode(ap.s ?? new Uint8Array()) };
    case 'tensor': return { kind, value: tensorFromProto(ap.t ?? {}, where) };
    case 'graph': return { kind, value: importGraph(ap.g!, ctx, owner, owner.opsets) };
    case 'sparse_tensor': return { kind, value: sparseFromProto(ap.sparseTensor ?? {}, where) };
    case 'type_proto': return { kind, value: requireType(ap.tp, where) };
    case 'floats': return { kind, value: [...(ap.floats ?? [])] };
    case 'ints': return { kind, value: (ap.ints ?? []).map(toNumber) };
    case 'strings': return { kind, value: (ap.strings ?? []).map((s) => utf8.decode(s)) };
    case 'tensors': return { kind, value: (ap.tensors ?? []).map((t) => tensorFromProto(t, where)) };
    case 'graphs': return { kind, value: (ap.graphs ?? []).map((sg) => importGraph(sg, ctx, owner, owner.opsets)) };
    case 'type_protos': return { kind, value: (ap.typeProtos ?? []).map((t) => requireType(t, where)) };
    case 'sparse_tensors': throw new Error(`${where}: sparse_tensors attributes are not supported (Tessera attributes hold one sparse tensor)`);
  }
}

function requireType(tp: TypeProtoLike | undefined, where: string): ValueType {
  const t = tp ? typeFromProto(tp, where) : undefined;
  if (!t) throw new Error(`${where}: type proto has no tensor type`);
  return t;
}

