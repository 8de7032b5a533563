import { open, readFile, rename, unlink } from 'node:fs/promises';
import { Tensor, type DType, type TensorData } from '@tessera/core';

const MAGIC = 'TSRCKPT1';

export interface CheckpointHeader {
  version: 1;
  [key: string]: unknown;
}

/**
 * Writes named tensors and a JSON header to `path` atomically: a temp file next to it is written,
 * flushed to disk, then renamed over the target, so a crash leaves the old checkpoint or the new one.
 * Layout: 'TSRCKPT1', uint32 header length, JSON header, zero padding to 8 bytes, raw tensor data.
 */
export async function writeCheckpoint(path: string, header: Record<string, unknown>, tensors: Record<string, Tensor>): Promise<void> {
  const index: { name: string; dtype: DType; shape: number[]; offset: number; bytes: number }[] = [];
  let offset = 0;
  const chunks: Uint8Array[] = [];
  for (const [name, t] of Object.entries(tensors)) {
    if (Array.isArray(t.data)) throw new Error(`checkpoint tensor '${name}': string tensors are not supported`);
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    index.push({ name, dtype: t.dtype, shape: [...t.shape], offset, bytes: bytes.byteLength });
    chunks.push(bytes);
    const pad = (8 - (bytes.byteLength % 8)) % 8;
    if (pad) chunks.push(new Uint8Array(pad));
    offset += bytes.byteLength + pad;
  }
  const json = new TextEncoder().encode(JSON.stringify({ version: 1, ...header, tensors: index }));
  const head = new Uint8Array(12 + json.byteLength + ((8 - ((12 + json.byteLength) % 8)) % 8));
  head.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(head.buffer).setUint32(8, json.byteLength, true);
  head.set(json, 12);
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  const fh = await open(tmp, 'w');
  try {
    await fh.write(head);
    for (const c of chunks) await fh.write(c);
    await fh.sync();
  } catch (e) {
    await fh.close();
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fh.close();
  await rename(tmp, path);
}

export async function readCheckpoint(path: string): Promise<{ header: CheckpointHeader; tensors: Map<string, Tensor> }> {
  const buf = await readFile(path);
  const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  if (new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) throw new Error(`${path}: not a Tessera checkpoint (expected magic ${MAGIC})`);
  const len = new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + len))) as CheckpointHeader & { tensors: { name: string; dtype: DType; shape: number[]; offset: number; bytes: number }[] };
  const base = 12 + len + ((8 - ((12 + len) % 8)) % 8);
  const tensors = new Map<string, Tensor>();
  for (const e of header.tensors) {
    const t = Tensor.zeros(e.dtype, e.shape);
    const dst = t.data as Exclude<TensorData, string[]>;
    new Uint8Array(dst.buffer, dst.byteOffset, dst.byteLength).set(bytes.subarray(base + e.offset, base + e.offset + e.bytes));
    tensors.set(e.name, t);
  }
  return { header, tensors };
}
