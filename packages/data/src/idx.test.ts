import { describe, expect, it } from 'vitest';
import { parseIdx } from './idx.js';

function idx(typeCode: number, dims: number[], payload: number[]): Uint8Array {
  const buf = new Uint8Array(4 + 4 * dims.length + payload.length);
  const view = new DataView(buf.buffer);
  buf[2] = typeCode;
  buf[3] = dims.length;
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d));
  buf.set(payload, 4 + 4 * dims.length);
  return buf;
}

describe('parseIdx', () => {
  it('reads dims and payload of an unsigned-byte array', () => {
    const a = parseIdx(idx(0x08, [2, 3], [1, 2, 3, 4, 5, 6]), 'toy', 2);
    expect(a.dims).toEqual([2, 3]);
    expect([...a.data]).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('rejects a wrong magic number, a wrong rank and a truncated payload, naming the file', () => {
    expect(() => parseIdx(idx(0x0d, [2], [0, 0]), 'f.idx')).toThrow(/f\.idx: magic number 0x00000d01 is not an unsigned-byte IDX header/);
    expect(() => parseIdx(idx(0x08, [2], [0, 0]), 'labels.idx', 3)).toThrow(/labels\.idx: magic number 0x00000801 says rank 1, expected 0x00000803/);
    expect(() => parseIdx(idx(0x08, [4], [0, 0]), 'short.idx')).toThrow(/short\.idx: dims \[4\] need 12 bytes, the file has 10/);
  });
});
