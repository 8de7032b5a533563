import { createHash, type Hash } from 'node:crypto';
import type { Attribute, Graph, Tensor, ValueType } from '@tessera/core';

/**
 * The session cache key of a graph: a SHA-256 over everything that changes what a session
 * computes — opset imports, graph inputs (names and types), outputs, initializer names, dtypes,
 * shapes and bytes, and every node (op, domain, name, input and output names, attributes with
 * tensor bytes, nested graphs, the per-node kernel variant `node.meta.get('kernel')` and value
 * number formats). Free-form meta and doc strings are left out. Cost: one pass over the nodes
 * plus hashing the initializer bytes (about 1 ms per 2 MB of weights here).
 */
export function graphKey(graph: Graph): string {
  const h = createHash('sha256');
  hashGraph(h, graph);
  return h.digest('hex');
}

function typeStr(t: ValueType | undefined): string {
  return t ? `${t.dtype}[${t.shape ? t.shape.map((d) => d ?? '?').join(',') : '*'}]` : '-';
}

function hashTensor(h: Hash, t: Tensor): void {
  h.update(`T${t.dtype}[${t.shape.join(',')}]`);
  if (Array.isArray(t.data)) h.update(JSON.stringify(t.data));
  else h.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
}

function hashAttr(h: Hash, a: Attribute): void {
  switch (a.kind) {
    case 'tensor': hashTensor(h, a.value); break;
    case 'tensors': for (const t of a.value) hashTensor(h, t); break;
    case 'graph': hashGraph(h, a.value); break;
    case 'graphs': for (const g of a.value) hashGraph(h, g); break;
    case 'sparse_tensor': hashTensor(h, a.value.values); hashTensor(h, a.value.indices); h.update(a.value.dims.join(',')); break;
    case 'type_proto': h.update(typeStr(a.value)); break;
    case 'type_protos': h.update(a.value.map(typeStr).join(';')); break;
    default: h.update(JSON.stringify(a.value));
  }
}

function hashGraph(h: Hash, g: Graph): void {
  const parts: string[] = [`G${g.name}`, g.opsets.map((o) => `${o.domain}:${o.version}`).join(',')];
  for (const v of g.inputs) parts.push(`I${v.name}:${typeStr(v.type)}${v.format ? `@${v.format.id}` : ''}`);
  for (const v of g.outputs) parts.push(`O${v.name}`);
  h.update(parts.join('\n'));
  for (const v of g.initializers.values()) {
    h.update(`\nW${v.name}${v.format ? `@${v.format.id}` : ''}`);
    hashTensor(h, v.initializer!);
  }
  for (const n of g.nodes) {
    const kernel = n.meta.get('kernel');
    h.update(`\nN${n.domain}:${n.op}:${n.name}(${n.inputs.map((v) => v?.name ?? '').join(',')})->(${n.outputs.map((o) => `${o.name}${o.format ? `@${o.format.id}` : ''}`).join(',')})${kernel !== undefined ? `#${String(kernel)}` : ''}`);
    for (const [k, a] of n.attrs) {
      h.update(`\nA${k}:${a.kind}=`);
      hashAttr(h, a);
    }
  }
}
