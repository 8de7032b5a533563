import { ONNX_DTYPE_CODE, type Attribute, type Graph, type Value, type ValueType } from '@tessera/core';
import { ONNX_META } from './import.js';
import { ModelProto } from './schema.js';
import { longOf, tensorToProto } from './tensor-proto.js';

export interface ExportOptions {
  /** ModelProto.producer_name (default: the imported model's, else 'tessera'). */
  producerName?: string;
  /** Write value_info for intermediate values whose type is known (default false: onnxruntime infers them). */
  valueInfo?: boolean;
}

/** The lowest IR version that can carry a given default-domain opset (from the ONNX versioning table). */
export function irVersionForOpset(opset: number): number {
  if (opset <= 8) return 3;
  if (opset <= 10) return 5;
  if (opset <= 11) return 6;
  if (opset <= 14) return 7;
  if (opset <= 18) return 8;
  if (opset <= 20) return 9;
  return 10;
}

const ATTR_TYPE: Record<Attribute['kind'], number> = {
  float: 1, int: 2, string: 3, tensor: 4, graph: 5, sparse_tensor: 11, type_proto: 13,
  floats: 6, ints: 7, strings: 8, tensors: 9, graphs: 10, type_protos: 14,
};

const utf8 = new TextEncoder();

/** Writes a Graph as ONNX ModelProto bytes with the graph's own opset imports. */
export function exportModel(graph: Graph, opts: ExportOptions = {}): Uint8Array {
  const opsets = graph.opsets.map((o) => ({ domain: o.domain, version: o.version }));
  const domains = new Set<string>();
  collectDomains(graph, domains);
  for (const d of domains) if (!opsets.some((o) => o.domain === d)) opsets.push({ domain: d, version: 1 });
  const defaultOpset = opsets.find((o) => o.domain === '')?.version ?? 17;
  const metaIr = graph.meta.get(ONNX_META.irVersion);
  const irVersion = Math.max(typeof metaIr === 'number' ? metaIr : 0, irVersionForOpset(defaultOpset));
  const model: Record<string, unknown> = {
    irVersion: longOf(irVersion),
    opsetImport: opsets.map((o) => ({ domain: o.domain, version: longOf(o.version) })),
    producerName: opts.producerName ?? (graph.meta.get(ONNX_META.producerName) as string | undefined) ?? 'tessera',
    graph: graphToProto(graph, opts),
  };
  const pv = graph.meta.get(ONNX_META.producerVersion);
  if (typeof pv === 'string') model.producerVersion = pv;
  const md = graph.meta.get(ONNX_META.modelDomain);
  if (typeof md === 'string') model.domain = md;
  const mv = graph.meta.get(ONNX_META.modelVersion);
  if (typeof mv === 'number') model.modelVersion = longOf(mv);
  const doc = graph.meta.get(ONNX_META.modelDocString);
  if (typeof doc === 'string') model.docString = doc;
  const props = graph.meta.get(ONNX_META.metadataProps);
  if (Array.isArray(props)) model.metadataProps = props;
  return ModelProto.encode(model).finish();
}

function collectDomains(g: Graph, out: Set<string>): void {
  for (const n of g.nodes) {
    if (n.domain !== '') out.add(n.domain);
    for (const a of n.attrs.values()) {
      if (a.kind === 'graph') collectDomains(a.value, out);
      else if (a.kind === 'graphs') for (const s of a.value) collectDomains(s, out);
    }
  }
}

function typeToProto(t: ValueType | undefined): Record<string, unknown> | undefined {
  if (!t) return undefined;
  const tensorType: Record<string, unknown> = { elemType: ONNX_DTYPE_CODE[t.dtype] };
  if (t.shape) {
    tensorType.shape = {
      dim: t.shape.map((d) => (typeof d === 'number' ? { dimValue: longOf(d) } : typeof d === 'string' ? { dimParam: d } : {})),
    };
  }
  return { tensorType };
}

function valueInfo(v: Value): Record<string, unknown> {
  const vi: Record<string, unknown> = { name: v.name };
  const type = typeToProto(v.type);
  if (type) vi.type = type;
  return vi;
}

function graphToProto(g: Graph, opts: ExportOptions): Record<string, unknown> {
  const inputSet = new Set(g.inputs);
  const nodes = g.nodes.map((n) => {
    const np: Record<string, unknown> = {
      input: n.inputs.map((v) => v?.name ?? ''),
      output: n.outputs.map((o) => o.name),
      name: n.name,
      opType: n.op,
      attribute: [...n.attrs].map(([name, a]) => attributeToProto(name, a, opts)),
    };
    if (n.domain) np.domain = n.domain;
    if (n.docString) np.docString = n.docString;
    return np;
  });
  const proto: Record<string, unknown> = {
    node: nodes,
    name: g.name,
    initializer: [...g.initializers.values()].map((v) => tensorToProto(v.initializer!, v.name)),
    input: g.inputs.map(valueInfo),
    output: g.outputs.map(valueInfo),
  };
  if (g.docString) proto.docString = g.docString;
  if (opts.valueInfo) {
    const outs = new Set(g.outputs);
    proto.valueInfo = g.nodes.flatMap((n) => n.outputs).filter((o) => o.name !== '' && o.type && !outs.has(o) && !inputSet.has(o)).map(valueInfo);
  }
  return proto;
}

function attributeToProto(name: string, a: Attribute, opts: ExportOptions): Record<string, unknown> {
  const ap: Record<string, unknown> = { name, type: ATTR_TYPE[a.kind] };
  switch (a.kind) {
    case 'float': ap.f = a.value; break;
    case 'int': ap.i = longOf(a.value); break;
    case 'string': ap.s = utf8.encode(a.value); break;
    case 'tensor': ap.t = tensorToProto(a.value); break;
    case 'graph': ap.g = graphToProto(a.value, opts); break;
    case 'sparse_tensor': ap.sparseTensor = {
      values: tensorToProto(a.value.values), indices: tensorToProto(a.value.indices), dims: a.value.dims.map(longOf),
    }; break;
    case 'type_proto': ap.tp = typeToProto(a.value); break;
    case 'floats': ap.floats = a.value; break;
    case 'ints': ap.ints = a.value.map(longOf); break;
    case 'strings': ap.strings = a.value.map((s) => utf8.encode(s)); break;
    case 'tensors': ap.tensors = a.value.map((t) => tensorToProto(t)); break;
    case 'graphs': ap.graphs = a.value.map((sg) => graphToProto(sg, opts)); break;
    case 'type_protos': ap.typeProtos = a.value.map((t) => typeToProto(t)); break;
  }
  return ap;
}
