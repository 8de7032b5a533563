/** Content hashes for the step cache: canonical JSON and a structural hash of a graph. */
import { createHash, type Hash } from 'node:crypto';
import type { Attribute, Graph, Tensor } from '@tessera/core';

/** JSON with object keys sorted, so equal values hash equally whatever their key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (typeof v === 'bigint') return `${v}n`;
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(v).sort()) out[k] = (v as Record<string, unknown>)[k];
      return out;
    }
    return v;
  });
}

export function sha256(...parts: string[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex');
}

function updateTensor(h: Hash, t: Tensor): void {
  h.update(`${t.dtype}[${t.shape.join(',')}]`);
  const d = t.data;
  if (Array.isArray(d)) h.update(JSON.stringify(d));
  else h.update(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
}

function updateAttr(h: Hash, a: Attribute): void {
  h.update(a.kind);
  switch (a.kind) {
    case 'tensor': updateTensor(h, a.value); break;
    case 'tensors': a.value.forEach((t) => updateTensor(h, t)); break;
    case 'graph': h.update(graphHash(a.value)); break;
    case 'graphs': a.value.forEach((g) => h.update(graphHash(g))); break;
    case 'sparse_tensor': updateTensor(h, a.value.values); updateTensor(h, a.value.indices); h.update(a.value.dims.join(',')); break;
    default: h.update(canonicalJson(a.value));
  }
}

function jsonMeta(meta: Map<string, unknown>): string {
  const plain: Record<string, unknown> = {};
  for (const [k, v] of meta) {
    try {
      plain[k] = JSON.parse(canonicalJson(v) ?? 'null');
    } catch {
      plain[k] = String(v);
    }
  }
  return canonicalJson(plain);
}

/**
 * A hash of everything that defines what a graph computes: inputs, initializer bytes, nodes with
 * attributes, outputs, number formats and annotations. Two graphs with equal hashes run the same.
 */
export function graphHash(g: Graph): string {
  const h = createHash('sha256');
  h.update(`opsets:${canonicalJson(g.opsets)}`);
  for (const v of g.inputs) h.update(`in:${v.name}:${canonicalJson(v.type ?? null)}`);
  for (const v of [...g.initializers.values()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    h.update(`init:${v.name}:${canonicalJson(v.format ?? null)}:${jsonMeta(v.meta)}`);
    updateTensor(h, v.initializer!);
  }
  for (const n of g.nodes) {
    h.update(`node:${n.domain}::${n.op}:${n.inputs.map((v) => v?.name ?? '').join(',')}->${n.outputs.map((v) => `${v.name}${v.format ? `@${v.format.id}` : ''}`).join(',')}:${jsonMeta(n.meta)}`);
    for (const k of [...n.attrs.keys()].sort()) {
      h.update(`@${k}`);
      updateAttr(h, n.attrs.get(k)!);
    }
  }
  h.update(`out:${g.outputs.map((v) => v.name).join(',')}`);
  return h.digest('hex');
}
