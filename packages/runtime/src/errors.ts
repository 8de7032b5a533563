import type { Graph, Node } from '@tessera/core';

function allNodes(graph: Graph): Node[] {
  const out: Node[] = [];
  for (const n of graph.nodes) {
    out.push(n);
    for (const a of n.attrs.values()) {
      if (a.kind === 'graph') out.push(...allNodes(a.value));
      else if (a.kind === 'graphs') for (const s of a.value) out.push(...allNodes(s));
    }
  }
  return out;
}

/** Finds a node by name in a graph or its nested graphs. */
export function findNode(graph: Graph, name: string): Node | undefined {
  for (const n of graph.nodes) {
    if (n.name === name) return n;
    for (const a of n.attrs.values()) {
      const subs = a.kind === 'graph' ? [a.value] : a.kind === 'graphs' ? a.value : [];
      for (const s of subs) {
        const found = findNode(s, name);
        if (found) return found;
      }
    }
  }
  return undefined;
}

/**
 * Turns onnxruntime's error text into one line naming the node and op of our graph, e.g.
 * `ort-node: node "conv1" (Conv): X num_dims does not match W num_dims`.
 */
export function ortErrorMessage(backend: string, raw: string, graph: Graph): string {
  const text = raw.replace(/\s+/g, ' ').replace(/^(failed to call OrtRun\(\)|Can't create a session)\. ERROR_CODE: \d+, ERROR_MESSAGE: /, '').trim();
  let name: string | undefined;
  let op: string | undefined;
  let detail = text;
  let m: RegExpExecArray | null;
  if ((m = /running (\S+) node\. Name:'([^']*)' Status Message: (.*)$/.exec(text))) {
    [op, name, detail] = [m[1], m[2], m[3]!];
  } else if ((m = /Node \(([^)]*)\) Op \(([^)]*)\) (.*)$/.exec(text))) {
    [name, op, detail] = [m[1], m[2], m[3]!];
  } else if ((m = /In Node, \("([^"]*)", ([^,]+), "[^"]*", -?\d+\) : .*?, (.*)$/.exec(text))) {
    [name, op, detail] = [m[1], m[2], m[3]!];
  } else if ((m = /Could not find an implementation for (\w+)\((\d+)\) node with name '([^']*)'/.exec(text))) {
    [op, name] = [m[1], m[3]];
    detail = `onnxruntime has no kernel for ${m[1]} at opset ${m[2]} with these input types`;
  } else if ((m = /Fatal error: ([\w.]*):(\w+)\((-?\d+)\) is not a registered function\/op/.exec(text))) {
    op = m[2];
    detail = `op ${m[1] ? `${m[1]}::` : ''}${m[2]} (opset ${m[3]}) is not supported by onnxruntime`;
  }
  // onnxruntime-web reports run failures without the node: infer the op from the source file
  // (".../reshape_helper.h:93") and name the node when the graph has exactly one of that op.
  const src = /\/([a-z0-9_]+)\.(?:cc|h|cpp):\d+ /.exec(text);
  if (name === undefined && src) {
    const stem = src[1]!.replace(/_(helper|op|impl|base|kernel)$/g, '').replace(/_/g, '');
    const nodes = allNodes(graph).filter((n) => n.op.toLowerCase() === stem);
    if (nodes.length === 1) [name, op] = [nodes[0]!.name, nodes[0]!.op];
    else if (nodes.length > 1) op = `${nodes[0]!.op} (one of nodes ${nodes.map((n) => `"${n.name}"`).join(', ')})`;
  }
  // Drop onnxruntime's source locations and C++ signatures ("/.../matmul_helper.h:61 onnxruntime::X::f(...) ").
  detail = detail.replace(/^\[ONNXRuntimeError\] : \d+ : \w+ : /, '')
    .replace(/\S+\.(?:cc|h|cpp):\d+ (?:[\w:~<>]+\([^)]*\)(?: const)? )?/g, '').trim();
  if (name !== undefined) {
    const node = findNode(graph, name);
    const opId = node?.opId ?? op;
    return `${backend}: node "${name}" (${opId}): ${detail}`;
  }
  if (op !== undefined) return `${backend}: op ${op}: ${detail}`;
  return `${backend}: ${detail}`;
}
