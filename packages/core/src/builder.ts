import type { DType } from './dtype.js';
import { Graph, Node, type Attribute, type Dim, type Value, type ValueType } from './graph.js';
import type { OpRegistry, OpSchema } from './registry.js';
import { Tensor } from './tensor.js';
import { standardOps } from './ops/index.js';

export type AttrInput = number | string | number[] | string[] | Tensor | Graph | Tensor[] | Graph[] | Attribute | boolean;

export interface OpOptions {
  domain?: string;
  name?: string;
  /** Number of outputs to create (default: the schema's non-variadic output count, at least 1). */
  outputs?: number;
}

/** Converts plain JS attribute values to tagged attributes, using the schema's declared kinds. */
export function toAttribute(name: string, v: AttrInput, schema?: OpSchema): Attribute {
  if (typeof v === 'object' && v !== null && 'kind' in v && !(v instanceof Tensor) && !(v instanceof Graph)) return v as Attribute;
  const declared = schema?.attrs?.[name]?.type;
  if (declared) {
    switch (declared) {
      case 'int': return { kind: 'int', value: typeof v === 'boolean' ? (v ? 1 : 0) : Number(v) };
      case 'float': return { kind: 'float', value: Number(v) };
      case 'string': return { kind: 'string', value: String(v) };
      case 'ints': return { kind: 'ints', value: (v as number[]).map(Number) };
      case 'floats': return { kind: 'floats', value: (v as number[]).map(Number) };
      case 'strings': return { kind: 'strings', value: (v as string[]).map(String) };
      case 'tensor': return { kind: 'tensor', value: v as Tensor };
      case 'graph': return { kind: 'graph', value: v as Graph };
      case 'tensors': return { kind: 'tensors', value: v as Tensor[] };
      case 'graphs': return { kind: 'graphs', value: v as Graph[] };
      default: break;
    }
  }
  if (typeof v === 'boolean') return { kind: 'int', value: v ? 1 : 0 };
  if (typeof v === 'number') return Number.isInteger(v) ? { kind: 'int', value: v } : { kind: 'float', value: v };
  if (typeof v === 'string') return { kind: 'string', value: v };
  if (v instanceof Tensor) return { kind: 'tensor', value: v };
  if (v instanceof Graph) return { kind: 'graph', value: v };
  if (Array.isArray(v)) {
    if (v.length === 0 || typeof v[0] === 'number') {
      const nums = v as number[];
      return nums.every(Number.isInteger) ? { kind: 'ints', value: nums } : { kind: 'floats', value: nums };
    }
    if (typeof v[0] === 'string') return { kind: 'strings', value: v as string[] };
    if (v[0] instanceof Tensor) return { kind: 'tensors', value: v as Tensor[] };
    return { kind: 'graphs', value: v as Graph[] };
  }
  throw new Error(`attribute '${name}': cannot convert ${String(v)}`);
}

/** The data of a value when it is known without running: an initializer or a Constant's output. */
export function constantOf(v: Value | null | undefined): Tensor | undefined {
  if (!v) return undefined;
  if (v.initializer) return v.initializer;
  const p = v.producer;
  if (p && p.op === 'Constant' && p.domain === '') {
    const t = p.tensor('value');
    if (t) return t;
    const a = p.attrs;
    if (a.has('value_float')) return Tensor.scalar(p.float('value_float'), 'float32');
    if (a.has('value_int')) return Tensor.scalar(p.int('value_int'), 'int64');
    if (a.has('value_floats')) { const f = p.floats('value_floats'); return Tensor.from(f, [f.length], 'float32'); }
    if (a.has('value_ints')) { const f = p.ints('value_ints'); return Tensor.from(f, [f.length], 'int64'); }
  }
  return undefined;
}

/** Runs the registry's shape and dtype inference for one node and stores the result on its outputs. */
export function inferNode(node: Node, registry: OpRegistry): void {
  const schema = registry.require(node);
  let types: (ValueType | undefined)[];
  try {
    types = schema.infer({
      node,
      inputs: node.inputs.map((v) => v?.type),
      constant: (i) => constantOf(node.inputs[i]),
    });
  } catch (e) {
    throw new Error(`shape inference failed at ${node.describe()}: ${(e as Error).message}`);
  }
  node.outputs.forEach((o, i) => {
    const t = types[i];
    if (t) o.type = t;
  });
}

/**
 * Builds graphs through the op registry: every op call checks the op exists, converts attributes
 * by the schema, and infers output types at once, so a wrong shape fails where it is written.
 */
export class GraphBuilder {
  /** Nodes are inserted before this node when set (rewrites), else appended. */
  insertionPoint?: Node;

  constructor(
    readonly graph: Graph = new Graph(),
    readonly registry: OpRegistry = standardOps(),
  ) {}

  input(name: string, dtype: DType, shape: Dim[]): Value {
    return this.graph.addInput(name, { dtype, shape });
  }

  /** A named initializer (a parameter when floating point). */
  param(name: string, tensor: Tensor): Value {
    return this.graph.addInitializer(this.graph.uniqueName(name), tensor);
  }

  /** An anonymous constant initializer. */
  constant(value: Tensor | number, dtype: DType = 'float32', name = 'const'): Value {
    const t = value instanceof Tensor ? value : Tensor.scalar(value, dtype);
    return this.graph.addInitializer(this.graph.uniqueName(name), t);
  }

  /** An int64 1-D constant, as shape-like inputs (Reshape, Slice, ...) need. */
  ints(values: number[], name = 'ints'): Value {
    return this.constant(Tensor.from(values, [values.length], 'int64'), 'int64', name);
  }

  op(op: string, inputs: (Value | null)[], attrs: Record<string, AttrInput | undefined> = {}, opts: OpOptions = {}): Value {
    return this.opMulti(op, inputs, attrs, opts)[0]!;
  }

  opMulti(op: string, inputs: (Value | null)[], attrs: Record<string, AttrInput | undefined> = {}, opts: OpOptions = {}): Value[] {
    const domain = opts.domain ?? '';
    const schema = this.registry.get(op, domain);
    if (!schema) throw new Error(`unknown op ${domain ? `${domain}::` : ''}${op}: not in the op registry`);
    const converted: Record<string, Attribute> = {};
    for (const [k, v] of Object.entries(attrs)) if (v !== undefined) converted[k] = toAttribute(k, v, schema);
    const nOut = opts.outputs ?? Math.max(1, schema.outputs.filter((o) => !o.optional && !o.variadic).length);
    const node = this.graph.addNode({ op, domain, name: opts.name ?? op.toLowerCase(), inputs, attrs: converted, outputs: nOut }, this.insertionPoint);
    inferNode(node, this.registry);
    return node.outputs;
  }

  output(v: Value, name?: string): Value {
    if (name && v.name !== name) this.graph.renameValue(v, name);
    this.graph.addOutput(v);
    return v;
  }
}
