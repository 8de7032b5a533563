import type { Dim, Graph, Node, Value, ValueType } from './graph.js';
import type { OpRegistry } from './registry.js';
import { constantOf } from './builder.js';

/** One finding about a graph. `message` is a complete line naming the node (or value) first. */
export interface Diagnostic {
  severity: 'error' | 'warning';
  /** Stable machine-readable kind, e.g. 'unknown-op', 'dangling-input', 'type-mismatch'. */
  code: string;
  message: string;
  node?: string;
  op?: string;
  value?: string;
}

/** How diagnostics name a node: `node "conv1" (Conv)`. */
export function nodeLabel(n: Node): string {
  return `node "${n.name}" (${n.opId})`;
}

export function nodeDiagnostic(n: Node, code: string, text: string, severity: Diagnostic['severity'] = 'error'): Diagnostic {
  return { severity, code, message: `${nodeLabel(n)}: ${text}`, node: n.name, op: n.opId };
}

/**
 * Checks a graph against its op registry and returns every finding (empty when valid): unknown
 * ops, input/attribute arity, dangling values (neither graph input, initializer, nor produced by an
 * earlier node), cycles and nodes out of topological order, duplicate node or value names, graph
 * outputs nobody defines, and types: inference is re-run on each node's current input types and
 * must agree with the stored output dtypes and shapes (an inference error, such as operand dtypes
 * a schema requires to agree, is reported for the node). Nested graphs are checked too.
 */
export function verifyGraph(graph: Graph, registry: OpRegistry): Diagnostic[] {
  return verifyInto(graph, registry, '', []);
}

/** Throws the first error of verifyGraph as one line (with the count of the others). */
export function assertValid(graph: Graph, registry: OpRegistry): void {
  const errors = verifyGraph(graph, registry).filter((d) => d.severity === 'error');
  if (errors.length === 0) return;
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more error(s); verifyGraph lists them)` : '';
  throw new Error(`graph "${graph.name}" is invalid: ${errors[0]!.message}${more}`);
}

function verifyInto(graph: Graph, registry: OpRegistry, prefix: string, out: Diagnostic[]): Diagnostic[] {
  const push = (d: Diagnostic) => out.push(prefix ? { ...d, message: prefix + d.message } : d);
  const nodes = graph.nodes;
  const index = new Map<Node, number>();
  nodes.forEach((n, i) => index.set(n, i));

  // Duplicate names.
  const nodeNames = new Map<string, number>();
  for (const n of nodes) nodeNames.set(n.name, (nodeNames.get(n.name) ?? 0) + 1);
  for (const [name, count] of nodeNames) {
    if (count > 1) {
      const n = nodes.find((x) => x.name === name)!;
      push(nodeDiagnostic(n, 'duplicate-name', `node name "${name}" is used by ${count} nodes`));
    }
  }
  const valueOwners = new Map<string, string>();
  const claim = (v: Value, owner: string, n?: Node) => {
    if (v.name === '') return;
    const prev = valueOwners.get(v.name);
    if (prev !== undefined) {
      const text = `value name '${v.name}' is defined twice (${prev} and ${owner})`;
      push(n ? { ...nodeDiagnostic(n, 'duplicate-name', text), value: v.name } : { severity: 'error', code: 'duplicate-name', message: `graph "${graph.name}": ${text}`, value: v.name });
    } else valueOwners.set(v.name, owner);
  };
  for (const v of graph.inputs) claim(v, 'a graph input');
  for (const v of graph.initializers.values()) if (!graph.inputs.includes(v)) claim(v, 'an initializer');
  for (const n of nodes) for (const o of n.outputs) claim(o, `an output of node "${n.name}"`, n);

  const isOuter = (v: Value): boolean => {
    for (let g = graph.parent; g; g = g.parent) if (v.graph === g || g.value(v.name) === v) return true;
    return false;
  };

  let outOfOrder = false;
  for (let i = 0; i < nodes.length; i++) {
    const n = nodes[i]!;
    n.inputs.forEach((v, k) => {
      if (!v) return;
      const p = v.producer;
      if (p) {
        if (p.graph !== graph) {
          if (!isOuter(v)) push({ ...nodeDiagnostic(n, 'dangling-input', `input ${k} %${v.name} is produced in another graph`), value: v.name });
          return;
        }
        const at = index.get(p);
        if (at === undefined) {
          push({ ...nodeDiagnostic(n, 'dangling-input', `input ${k} %${v.name} is produced by node "${p.name}", which is no longer in the graph`), value: v.name });
        } else if (at >= i) {
          outOfOrder = true;
          push({ ...nodeDiagnostic(n, 'topological-order', `input ${k} %${v.name} is produced by node "${p.name}" at position ${at}, after this node (position ${i})`), value: v.name });
        }
        return;
      }
      const defined = graph.inputs.includes(v) || graph.initializers.get(v.name) === v || isOuter(v);
      if (!defined) {
        push({ ...nodeDiagnostic(n, 'dangling-input', `input ${k} %${v.name} is neither a graph input, an initializer, nor produced by an earlier node`), value: v.name });
      }
    });

    const schema = registry.get(n.op, n.domain);
    if (!schema) {
      push(nodeDiagnostic(n, 'unknown-op', `op ${n.opId} is not in the op registry (${registry.size} ops known)`));
    } else {
      checkArity(n, schema, push);
      checkTypes(n, schema, push);
    }

    for (const [name, a] of n.attrs) {
      const subs = a.kind === 'graph' ? [a.value] : a.kind === 'graphs' ? a.value : [];
      for (const s of subs) verifyInto(s, registry, `${prefix}${nodeLabel(n)} attribute '${name}': `, out);
    }
  }

  if (outOfOrder) {
    const cycle = findCycle(nodes);
    if (cycle) {
      const first = cycle[0]!;
      push(nodeDiagnostic(first, 'cycle', `is on a cycle: ${cycle.map((c) => `"${c.name}"`).join(' -> ')} -> "${first.name}"`));
    }
  }

  for (const v of graph.outputs) {
    const ok = (v.producer && index.has(v.producer)) || graph.inputs.includes(v) || graph.initializers.get(v.name) === v || isOuter(v);
    if (!ok) push({ severity: 'error', code: 'dangling-output', message: `graph "${graph.name}": output %${v.name} is not defined by any node, input or initializer`, value: v.name });
  }
  return out;
}

type Schema = NonNullable<ReturnType<OpRegistry['get']>>;

function checkArity(n: Node, schema: Schema, push: (d: Diagnostic) => void): void {
  const variadic = schema.inputs.some((s) => s.variadic);
  schema.inputs.forEach((spec, k) => {
    if (!spec.optional && !spec.variadic && !n.inputs[k]) push(nodeDiagnostic(n, 'arity', `required input ${k} '${spec.name}' is missing`));
  });
  if (!variadic && n.inputs.length > schema.inputs.length) {
    push(nodeDiagnostic(n, 'arity', `has ${n.inputs.length} inputs, the schema allows at most ${schema.inputs.length}`));
  }
  for (const [name, spec] of Object.entries(schema.attrs ?? {})) {
    const a = n.attrs.get(name);
    if (!a) {
      if (spec.required) push(nodeDiagnostic(n, 'attribute', `required attribute '${name}' (${spec.type}) is missing`));
      continue;
    }
    const intAsFloat = spec.type === 'float' && a.kind === 'int';
    if (a.kind !== spec.type && !intAsFloat) push(nodeDiagnostic(n, 'attribute', `attribute '${name}' is ${a.kind}, the schema expects ${spec.type}`));
  }
}

function checkTypes(n: Node, schema: Schema, push: (d: Diagnostic) => void): void {
  if (n.inputs.some((v) => v && !v.type)) return; // nothing to re-infer from; ShapeInferencePass fills types
  let inferred: (ValueType | undefined)[];
  try {
    inferred = schema.infer({ node: n, inputs: n.inputs.map((v) => v?.type), constant: (i) => constantOf(n.inputs[i]) });
  } catch (e) {
    push(nodeDiagnostic(n, 'type-mismatch', `inference rejects the input types ${fmtInputs(n)}: ${(e as Error).message}`));
    return;
  }
  n.outputs.forEach((o, k) => {
    const want = inferred[k];
    if (!want || o.name === '') return;
    const have = o.type;
    if (!have) {
      push({ ...nodeDiagnostic(n, 'missing-type', `output ${k} %${o.name} has no type (inference gives ${fmtType(want)}); run ShapeInferencePass`, 'warning'), value: o.name });
      return;
    }
    if (have.dtype !== want.dtype) {
      push({ ...nodeDiagnostic(n, 'type-mismatch', `output ${k} %${o.name} is ${have.dtype}, inference from the inputs gives ${want.dtype}`), value: o.name });
    } else if (!shapesAgree(have.shape, want.shape)) {
      push({ ...nodeDiagnostic(n, 'shape-mismatch', `output ${k} %${o.name} has shape ${fmtShape(have.shape)}, inference from the inputs gives ${fmtShape(want.shape)}`), value: o.name });
    }
  });
}

/** Shapes agree unless both ranks are known and differ, or a dimension is a different number in each. */
export function shapesAgree(a: Dim[] | undefined, b: Dim[] | undefined): boolean {
  if (!a || !b) return true;
  if (a.length !== b.length) return false;
  return a.every((d, i) => typeof d !== 'number' || typeof b[i] !== 'number' || d === b[i]);
}

function findCycle(nodes: readonly Node[]): Node[] | undefined {
  const inGraph = new Set(nodes);
  const state = new Map<Node, 1 | 2>();
  const stack: Node[] = [];
  const visit = (n: Node): Node[] | undefined => {
    state.set(n, 1);
    stack.push(n);
    for (const v of n.inputs) {
      const p = v?.producer;
      if (!p || !inGraph.has(p)) continue;
      const s = state.get(p);
      if (s === 1) return stack.slice(stack.indexOf(p)).reverse();
      if (s === undefined) {
        const c = visit(p);
        if (c) return c;
      }
    }
    stack.pop();
    state.set(n, 2);
    return undefined;
  };
  for (const n of nodes) {
    if (!state.has(n)) {
      const c = visit(n);
      if (c) return c;
    }
  }
  return undefined;
}

function fmtShape(s: Dim[] | undefined): string {
  return s ? `[${s.map((d) => d ?? '?').join(', ')}]` : '[*]';
}

function fmtType(t: ValueType): string {
  return `${t.dtype}${fmtShape(t.shape)}`;
}

function fmtInputs(n: Node): string {
  return `(${n.inputs.map((v) => (v?.type ? fmtType(v.type) : '_')).join(', ')})`;
}
