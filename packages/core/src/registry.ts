import type { AttributeKind, Graph, Node, Value, ValueType } from './graph.js';
import type { Tensor } from './tensor.js';
import type { GraphBuilder } from './builder.js';

export interface InferContext {
  node: Node;
  /** Types of the inputs (undefined for an omitted optional input or an unknown type). */
  inputs: (ValueType | undefined)[];
  /** The data of input i when it is known before running (initializer or Constant). */
  constant(i: number): Tensor | undefined;
}

export interface KernelContext {
  node: Node;
  inputs: (Tensor | undefined)[];
  /** Runs a nested graph (If / Loop / Scan bodies) with the given feeds; outer values resolve by name. */
  runGraph(graph: Graph, feeds: Map<string, Tensor>): Tensor[];
  /**
   * Input tensors whose storage the kernel may overwrite (and return as its output): the interpreter
   * drops them after this node, and no feed, initializer, constant attribute, fetch or other live
   * value shares their buffer. Kernels check membership of the very tensor they write into.
   */
  donated?: ReadonlySet<Tensor>;
  /**
   * Zero-filled float storage of `n` elements for an output, recycled from the buffers of values that
   * died earlier in this graph (saves page faults and GC on large activations). Absent outside the
   * interpreter; kernels then allocate.
   */
  alloc?: FloatAlloc;
}

/** Output storage provider: a Float32Array or Float64Array of n zeros. */
export interface FloatAlloc {
  (dtype: 'float32', n: number): Float32Array;
  (dtype: 'float64', n: number): Float64Array;
}

export type Kernel = (ctx: KernelContext) => Tensor[];
export type ShapeInference = (ctx: InferContext) => (ValueType | undefined)[];

export interface GradientContext {
  b: GraphBuilder;
  node: Node;
  /** Gradient of the loss w.r.t. each output of the node (null where no gradient flows). */
  outputGrads: (Value | null)[];
  /** Which inputs need a gradient; rules may skip work for the others. */
  needsGrad: boolean[];
}

/** Returns one gradient per input of the node; null for inputs without one. */
export type GradientRule = (ctx: GradientContext) => (Value | null)[];

export interface OpCost {
  /** Multiply-accumulates. */
  macs?: number;
  /** Floating-point operations other than MACs (elementwise, reductions...). */
  flops?: number;
  /** Elements read and written, for memory-traffic models. */
  elementsRead?: number;
  elementsWritten?: number;
}

export type CostRule = (node: Node) => OpCost;

export interface IoSpec {
  name: string;
  optional?: boolean;
  variadic?: boolean;
}

export interface AttrSpec {
  type: AttributeKind;
  required?: boolean;
  default?: unknown;
}

/** Everything about one op, declared once. */
export interface OpSchema {
  op: string;
  /** '' is the default ONNX domain. */
  domain?: string;
  /** Opset version that introduced the semantics implemented here. */
  since?: number;
  doc?: string;
  inputs: IoSpec[];
  outputs: IoSpec[];
  attrs?: Record<string, AttrSpec>;
  infer: ShapeInference;
  kernel: Kernel;
  /** Alternative kernels selectable per node via node.meta.get('kernel') (e.g. approximate multipliers). */
  variants?: Record<string, Kernel>;
  gradient?: GradientRule;
  cost?: CostRule;
  /** Non-differentiable ops (comparisons, Shape, integer ops) say so explicitly. */
  differentiable?: boolean;
}

function key(op: string, domain = ''): string {
  return domain === '' || domain === 'ai.onnx' ? op : `${domain}::${op}`;
}

/**
 * A set of op schemas. Registries are values, never process globals: a pipeline run owns one
 * (usually `standardOps().extend()`), and plugins add their ops to that one.
 */
export class OpRegistry {
  private readonly own = new Map<string, OpSchema>();
  private frozen = false;

  constructor(private readonly parent?: OpRegistry) {}

  register(schema: OpSchema): this {
    if (this.frozen) throw new Error(`op registry is frozen: extend() it to add ${key(schema.op, schema.domain)}`);
    const k = key(schema.op, schema.domain);
    if (this.own.has(k)) throw new Error(`op ${k} is already registered in this registry`);
    this.own.set(k, schema);
    return this;
  }

  /** Adds a gradient or cost rule, or a kernel variant, to an op that already exists here or in a parent. */
  augment(op: string, extra: Partial<Pick<OpSchema, 'gradient' | 'cost' | 'variants'>>, domain = ''): this {
    const base = this.get(op, domain);
    if (!base) throw new Error(`cannot augment unknown op ${key(op, domain)}`);
    const merged: OpSchema = { ...base, ...extra, variants: { ...base.variants, ...extra.variants } };
    this.own.set(key(op, domain), merged);
    return this;
  }

  get(op: string, domain = ''): OpSchema | undefined {
    return this.own.get(key(op, domain)) ?? this.parent?.get(op, domain);
  }

  /** Like get, but throws a one-line error naming the node and op. */
  require(node: Pick<Node, 'op' | 'domain'> & { describe?: () => string }): OpSchema {
    const s = this.get(node.op, node.domain);
    if (!s) {
      const where = node.describe ? ` (node ${node.describe()})` : '';
      throw new Error(`unknown op ${key(node.op, node.domain)}${where}: not in the op registry (${this.size} ops known; see registry.list())`);
    }
    return s;
  }

  has(op: string, domain = ''): boolean {
    return this.get(op, domain) !== undefined;
  }

  list(): OpSchema[] {
    const all = new Map<string, OpSchema>();
    for (const s of this.parent?.list() ?? []) all.set(key(s.op, s.domain), s);
    for (const [k, s] of this.own) all.set(k, s);
    return [...all.values()].sort((a, b) => key(a.op, a.domain).localeCompare(key(b.op, b.domain)));
  }

  get size(): number {
    return this.list().length;
  }

  freeze(): this {
    this.frozen = true;
    return this;
  }

  /** A child registry: sees every op here, adds its own without touching this one. */
  extend(): OpRegistry {
    return new OpRegistry(this);
  }
}
