import type { DType } from './dtype.js';
import { Tensor } from './tensor.js';

/** A dimension: a number when known, a symbol (e.g. 'N') when named, null when unknown. */
export type Dim = number | string | null;

export interface ValueType {
  dtype: DType;
  /** undefined when the rank itself is unknown. */
  shape?: Dim[];
}

/** Attribute values, tagged with their ONNX kind so that export writes the right field. */
export type Attribute =
  | { kind: 'int'; value: number }
  | { kind: 'float'; value: number }
  | { kind: 'string'; value: string }
  | { kind: 'tensor'; value: Tensor }
  | { kind: 'graph'; value: Graph }
  | { kind: 'ints'; value: number[] }
  | { kind: 'floats'; value: number[] }
  | { kind: 'strings'; value: string[] }
  | { kind: 'tensors'; value: Tensor[] }
  | { kind: 'graphs'; value: Graph[] }
  | { kind: 'sparse_tensor'; value: { values: Tensor; indices: Tensor; dims: number[] } }
  | { kind: 'type_proto'; value: ValueType }
  | { kind: 'type_protos'; value: ValueType[] };

export type AttributeKind = Attribute['kind'];

/** What the core needs to know of a number format; @tessera/numerics implements the full NumberFormat. */
export interface NumberFormatRef {
  /** e.g. 'posit<8,2>', 'fixed<4,2>', 'pow2<4>', 'bfloat16'. */
  readonly id: string;
  readonly bits: number;
}

export interface Use {
  node: Node;
  index: number;
}

/**
 * A value in the graph: a graph input, an initializer (const), or a node output. It knows its
 * producer and its uses, so rewrites can walk both ways.
 */
export class Value {
  producer: Node | null = null;
  /** Index of this value among its producer's outputs. */
  producerIndex = -1;
  readonly uses = new Set<Use>();
  /** Set for initializers (parameters, constants): the value's data. */
  initializer?: Tensor;
  /** The number format the value's elements are represented in, when not plain IEEE (set by quantisation passes). */
  format?: NumberFormatRef;
  /** Free-form annotations: frozen flag, parameter group... (kept through clone). */
  readonly meta = new Map<string, unknown>();

  constructor(
    public name: string,
    public type?: ValueType,
    readonly graph?: Graph,
  ) {}

  get isInitializer(): boolean {
    return this.initializer !== undefined;
  }

  get isGraphInput(): boolean {
    return this.graph?.inputs.includes(this) ?? false;
  }

  get isGraphOutput(): boolean {
    return this.graph?.outputs.includes(this) ?? false;
  }

  get dtype(): DType | undefined {
    return this.type?.dtype;
  }

  get shape(): Dim[] | undefined {
    return this.type?.shape;
  }

  /** The consumers in a stable order. */
  consumers(): Node[] {
    return [...new Set([...this.uses].map((u) => u.node))];
  }

  /** Points every use of this value at `other` instead (graph outputs included). */
  replaceAllUsesWith(other: Value): void {
    if (other === this) return;
    for (const use of [...this.uses]) use.node.setInput(use.index, other);
    const g = this.graph;
    if (g) {
      g.version++;
      for (let i = 0; i < g.outputs.length; i++) if (g.outputs[i] === this) g.outputs[i] = other;
    }
  }

  toString(): string {
    return `%${this.name}`;
  }
}

export interface NodeInit {
  op: string;
  domain?: string;
  name?: string;
  inputs?: (Value | null)[];
  attrs?: Record<string, Attribute>;
  /** Output names, or a number of outputs to create with fresh names. */
  outputs?: string[] | number;
  docString?: string;
}

export class Node {
  readonly inputs: (Value | null)[] = [];
  readonly outputs: Value[] = [];
  readonly attrs: Map<string, Attribute>;
  readonly meta = new Map<string, unknown>();
  docString?: string;

  constructor(
    readonly graph: Graph,
    public op: string,
    public domain: string,
    public name: string,
    attrs: Record<string, Attribute>,
  ) {
    this.attrs = new Map(Object.entries(attrs));
  }

  /** `op` with its domain when the domain is not the default ONNX one. */
  get opId(): string {
    return this.domain === '' || this.domain === 'ai.onnx' ? this.op : `${this.domain}::${this.op}`;
  }

  setInput(index: number, v: Value | null): void {
    this.graph.version++;
    const old = this.inputs[index];
    if (old) for (const u of old.uses) if (u.node === this && u.index === index) old.uses.delete(u);
    this.inputs[index] = v;
    if (v) v.uses.add({ node: this, index });
  }

  input(i: number): Value | null {
    return this.inputs[i] ?? null;
  }

  output(i = 0): Value {
    const v = this.outputs[i];
    if (!v) throw new Error(`node ${this.describe()} has no output ${i}`);
    return v;
  }

  attr(name: string): Attribute | undefined {
    return this.attrs.get(name);
  }

  int(name: string, fallback?: number): number {
    return this.typed(name, 'int', fallback) as number;
  }

  float(name: string, fallback?: number): number {
    const a = this.attrs.get(name);
    if (a?.kind === 'int') return a.value; // ONNX files sometimes store integral floats as ints
    return this.typed(name, 'float', fallback) as number;
  }

  string(name: string, fallback?: string): string {
    return this.typed(name, 'string', fallback) as string;
  }

  ints(name: string, fallback?: number[]): number[] {
    return this.typed(name, 'ints', fallback) as number[];
  }

  floats(name: string, fallback?: number[]): number[] {
    return this.typed(name, 'floats', fallback) as number[];
  }

  strings(name: string, fallback?: string[]): string[] {
    return this.typed(name, 'strings', fallback) as string[];
  }

  tensor(name: string): Tensor | undefined {
    const a = this.attrs.get(name);
    return a?.kind === 'tensor' ? a.value : undefined;
  }

  subgraph(name: string): Graph {
    const a = this.attrs.get(name);
    if (a?.kind !== 'graph') throw new Error(`node ${this.describe()}: attribute '${name}' must be a graph`);
    return a.value;
  }

  setAttr(name: string, a: Attribute): void {
    this.attrs.set(name, a);
  }

  /** 'Conv "conv1"' — how errors name a node. */
  describe(): string {
    return `${this.opId} "${this.name}"`;
  }

  private typed(name: string, kind: AttributeKind, fallback: unknown): unknown {
    const a = this.attrs.get(name);
    if (a === undefined) {
      if (fallback === undefined) throw new Error(`node ${this.describe()}: required attribute '${name}' (${kind}) is missing`);
      return fallback;
    }
    if (a.kind !== kind) throw new Error(`node ${this.describe()}: attribute '${name}' is ${a.kind}, expected ${kind}`);
    return a.value;
  }
}

export interface OpsetImport {
  domain: string;
  version: number;
}

/**
 * The one graph type of Tessera: inference, training (backward nodes live here too), cost models
 * and export all use it. Nodes are kept in topological order by construction; editing while
 * iterating is safe because `nodes` returns a snapshot.
 */
export class Graph {
  name: string;
  readonly inputs: Value[] = [];
  readonly outputs: Value[] = [];
  readonly initializers = new Map<string, Value>();
  opsets: OpsetImport[] = [{ domain: '', version: 17 }];
  readonly meta = new Map<string, unknown>();
  docString?: string;
  /** Graphs nested in If/Loop/Scan see their parent's values by name. */
  parent?: Graph;
  /** Bumped on every structural edit, so caches (execution plans, hashes) know when to recompute. */
  version = 0;

  private nodeList: Node[] = [];
  private readonly values = new Map<string, Value>();
  private readonly usedNames = new Set<string>();
  private counter = 0;

  constructor(name = 'graph') {
    this.name = name;
  }

  /** A snapshot of the nodes in order: safe to add or remove nodes while iterating it. */
  get nodes(): readonly Node[] {
    return [...this.nodeList];
  }

  get nodeCount(): number {
    return this.nodeList.length;
  }

  /** Looks a value up by name here, then in enclosing graphs. */
  value(name: string): Value | undefined {
    return this.values.get(name) ?? this.parent?.value(name);
  }

  hasValue(name: string): boolean {
    return this.values.has(name);
  }

  allValues(): Value[] {
    return [...this.values.values()];
  }

  /** A name not used yet in this graph, derived from `base`. */
  uniqueName(base: string): string {
    let name = base;
    while (this.usedNames.has(name) || this.values.has(name)) name = `${base}_${++this.counter}`;
    this.usedNames.add(name);
    return name;
  }

  /** Creates a free value (not yet produced by anything). */
  createValue(name: string, type?: ValueType): Value {
    if (this.values.has(name)) throw new Error(`graph "${this.name}": value name '${name}' is already used`);
    const v = new Value(name, type, this);
    this.values.set(name, v);
    this.usedNames.add(name);
    return v;
  }

  addInput(name: string, type?: ValueType): Value {
    const v = this.createValue(name, type);
    this.inputs.push(v);
    return v;
  }

  addInitializer(name: string, tensor: Tensor): Value {
    const v = this.createValue(name, { dtype: tensor.dtype, shape: [...tensor.shape] });
    v.initializer = tensor;
    this.initializers.set(name, v);
    return v;
  }

  /** Replaces an initializer's data (for example new weights after training) keeping its uses. */
  setInitializer(name: string, tensor: Tensor): void {
    const v = this.initializers.get(name);
    if (!v) throw new Error(`graph "${this.name}": no initializer named '${name}'`);
    v.initializer = tensor;
    v.type = { dtype: tensor.dtype, shape: [...tensor.shape] };
  }

  removeInitializer(name: string): void {
    this.version++;
    const v = this.initializers.get(name);
    if (!v) return;
    if (v.uses.size > 0) throw new Error(`graph "${this.name}": initializer '${name}' still has ${v.uses.size} use(s)`);
    this.initializers.delete(name);
    this.values.delete(name);
    delete v.initializer;
  }

  addOutput(v: Value): void {
    this.version++;
    this.outputs.push(v);
  }

  /** Appends a node (or inserts it before `before`). Outputs get fresh, unique names. */
  addNode(init: NodeInit, before?: Node): Node {
    this.version++;
    const name = this.uniqueName(init.name ?? init.op.toLowerCase());
    const node = new Node(this, init.op, init.domain ?? '', name, init.attrs ?? {});
    node.docString = init.docString;
    (init.inputs ?? []).forEach((v, i) => node.setInput(i, v));
    const outs = init.outputs ?? 1;
    const names = typeof outs === 'number' ? Array.from({ length: outs }, (_, i) => (outs === 1 ? name : `${name}_${i}`)) : outs;
    for (let i = 0; i < names.length; i++) {
      const outName = names[i]!;
      // An empty name marks an omitted optional output, as in ONNX.
      const v = outName === '' ? new Value('', undefined, this) : this.createValue(typeof outs === 'number' ? this.uniqueName(outName) : outName);
      v.producer = node;
      v.producerIndex = i;
      node.outputs.push(v);
    }
    if (before) {
      const at = this.nodeList.indexOf(before);
      if (at < 0) throw new Error(`graph "${this.name}": insert point ${before.describe()} is not in this graph`);
      this.nodeList.splice(at, 0, node);
    } else {
      this.nodeList.push(node);
    }
    return node;
  }

  /** Moves an existing node right before `ref` (used by rewrites that must keep topological order). */
  moveBefore(node: Node, ref: Node): void {
    this.version++;
    this.nodeList.splice(this.nodeList.indexOf(node), 1);
    this.nodeList.splice(this.nodeList.indexOf(ref), 0, node);
  }

  /**
   * Removes a node. With `safe`, refuses when an output is still used or is a graph output,
   * naming the node; without it, the caller promises to have rewired the uses.
   */
  removeNode(node: Node, opts: { safe?: boolean } = {}): void {
    this.version++;
    if (opts.safe) {
      for (const o of node.outputs) {
        if (o.uses.size > 0 || this.outputs.includes(o)) {
          throw new Error(`cannot remove ${node.describe()}: its output '${o.name}' is still used`);
        }
      }
    }
    node.inputs.forEach((_, i) => node.setInput(i, null));
    const at = this.nodeList.indexOf(node);
    if (at >= 0) this.nodeList.splice(at, 1);
    for (const o of node.outputs) {
      if (this.values.get(o.name) === o) this.values.delete(o.name);
      o.producer = null;
    }
  }

  /** Renames a value, keeping the name index consistent. */
  renameValue(v: Value, name: string): void {
    this.version++;
    if (v.name === name) return;
    if (this.values.has(name)) throw new Error(`graph "${this.name}": value name '${name}' is already used`);
    this.values.delete(v.name);
    if (v.isInitializer) {
      this.initializers.delete(v.name);
      this.initializers.set(name, v);
    }
    v.name = name;
    this.values.set(name, v);
    this.usedNames.add(name);
  }

  /** Re-orders the node list topologically (stable); throws naming a node on a cycle. */
  sortTopologically(): void {
    this.version++;
    const order: Node[] = [];
    const state = new Map<Node, 1 | 2>();
    const visit = (n: Node, path: Node[]): void => {
      const s = state.get(n);
      if (s === 2) return;
      if (s === 1) throw new Error(`graph "${this.name}" has a cycle through ${n.describe()} (${path.map((p) => p.name).join(' -> ')})`);
      state.set(n, 1);
      for (const v of n.inputs) if (v?.producer && v.producer.graph === this) visit(v.producer, [...path, n]);
      state.set(n, 2);
      order.push(n);
    };
    for (const n of this.nodeList) visit(n, []);
    this.nodeList = order;
  }

  /** A deep copy: new values and nodes; tensors are shared (they are treated as immutable). */
  clone(): Graph {
    const g = new Graph(this.name);
    g.opsets = this.opsets.map((o) => ({ ...o }));
    g.docString = this.docString;
    g.parent = this.parent;
    for (const [k, v] of this.meta) g.meta.set(k, v);
    const map = new Map<Value, Value>();
    const copyMeta = (from: Value, to: Value) => {
      to.format = from.format;
      for (const [k, m] of from.meta) to.meta.set(k, m);
    };
    const get = (v: Value | null): Value | null => {
      if (!v) return null;
      const m = map.get(v);
      if (m) return m;
      if (v.graph !== this) return v; // captured from an enclosing graph
      throw new Error(`graph "${this.name}": value '${v.name}' is used before it is defined`);
    };
    for (const v of this.inputs) {
      const c = g.addInput(v.name, v.type && cloneType(v.type));
      copyMeta(v, c);
      map.set(v, c);
    }
    for (const v of this.initializers.values()) {
      const c = g.addInitializer(v.name, v.initializer!);
      c.type = v.type && cloneType(v.type);
      copyMeta(v, c);
      map.set(v, c);
    }
    for (const n of this.nodeList) {
      const attrs: Record<string, Attribute> = {};
      for (const [k, a] of n.attrs) {
        if (a.kind === 'graph') attrs[k] = { kind: 'graph', value: a.value.cloneNested(g) };
        else if (a.kind === 'graphs') attrs[k] = { kind: 'graphs', value: a.value.map((s) => s.cloneNested(g)) };
        else attrs[k] = a;
      }
      const c = g.addNode({ op: n.op, domain: n.domain, name: n.name, attrs, outputs: n.outputs.map((o) => o.name), docString: n.docString });
      n.inputs.forEach((v, i) => c.setInput(i, get(v)));
      for (const [k, m] of n.meta) c.meta.set(k, m);
      n.outputs.forEach((o, i) => {
        const co = c.outputs[i]!;
        co.type = o.type && cloneType(o.type);
        copyMeta(o, co);
        map.set(o, co);
      });
    }
    for (const v of this.outputs) g.outputs.push(get(v)!);
    return g;
  }

  private cloneNested(parent: Graph): Graph {
    const saved = this.parent;
    const c = this.clone();
    c.parent = parent;
    this.parent = saved;
    return c;
  }

  /** The graph's parameters: initializers whose dtype is floating point. */
  parameters(): Value[] {
    return [...this.initializers.values()].filter((v) => /^(float|bfloat)/.test(v.initializer!.dtype));
  }

  toString(): string {
    const lines = [`graph ${this.name}(${this.inputs.map(fmtValue).join(', ')}) {`];
    for (const n of this.nodeList) {
      const attrs = [...n.attrs].map(([k, a]) => `${k}=${fmtAttr(a)}`).join(', ');
      lines.push(`  ${n.outputs.map((o) => `%${o.name}`).join(', ')} = ${n.opId}(${n.inputs.map((v) => (v ? `%${v.name}` : '_')).join(', ')})${attrs ? ` {${attrs}}` : ''}`);
    }
    lines.push(`  return ${this.outputs.map((o) => `%${o.name}`).join(', ')}`, '}');
    return lines.join('\n');
  }
}

function cloneType(t: ValueType): ValueType {
  return t.shape ? { dtype: t.dtype, shape: [...t.shape] } : { dtype: t.dtype };
}

function fmtValue(v: Value): string {
  return v.type ? `%${v.name}: ${v.type.dtype}[${v.type.shape?.map((d) => d ?? '?').join(',') ?? '*'}]` : `%${v.name}`;
}

function fmtAttr(a: Attribute): string {
  switch (a.kind) {
    case 'tensor': return a.value.toString();
    case 'graph': return `graph(${a.value.name})`;
    case 'graphs': return `graphs(${a.value.length})`;
    case 'tensors': return `tensors(${a.value.length})`;
    default: return JSON.stringify(a.value);
  }
}

/** Shorthands for writing attributes by hand. */
export const attr = {
  int: (value: number): Attribute => ({ kind: 'int', value }),
  float: (value: number): Attribute => ({ kind: 'float', value }),
  string: (value: string): Attribute => ({ kind: 'string', value }),
  ints: (value: number[]): Attribute => ({ kind: 'ints', value }),
  floats: (value: number[]): Attribute => ({ kind: 'floats', value }),
  strings: (value: string[]): Attribute => ({ kind: 'strings', value }),
  tensor: (value: Tensor): Attribute => ({ kind: 'tensor', value }),
  graph: (value: Graph): Attribute => ({ kind: 'graph', value }),
};
