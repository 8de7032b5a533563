import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

/** An IDX array (the LeCun MNIST file format): unsigned bytes with their dimensions. */
export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

/**
 * Parses an (already decompressed) IDX file holding unsigned bytes. The magic number is
 * 0x0000 08 <rank>; `expectRank` checks it (1 for label files, 3 for image files), so a swapped
 * or truncated file fails naming what it found.
 */
export function parseIdx(buf: Uint8Array, what = 'IDX data', expectRank?: number): IdxArray {
  if (buf.length < 4) throw new Error(`${what}: ${buf.length} bytes, too short for an IDX header`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const magic = view.getUint32(0);
  const typeCode = buf[2]!;
  const rank = buf[3]!;
  if (buf[0] !== 0 || buf[1] !== 0 || typeCode !== 0x08) {
    throw new Error(`${what}: magic number 0x${magic.toString(16).padStart(8, '0')} is not an unsigned-byte IDX header (0x000008nn)`);
  }
  if (expectRank !== undefined && rank !== expectRank) {
    throw new Error(`${what}: magic number 0x${magic.toString(16).padStart(8, '0')} says rank ${rank}, expected 0x0000080${expectRank} (rank ${expectRank})`);
  }
  const header = 4 + 4 * rank;
  if (buf.length < header) throw new Error(`${what}: ${buf.length} bytes, too short for a rank-${rank} IDX header`);
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(view.getUint32(4 + 4 * i));
  const count = dims.reduce((a, b) => a * b, 1);
  if (buf.length !== header + count) {
    throw new Error(`${what}: dims [${dims.join(', ')}] need ${header + count} bytes, the file has ${buf.length}`);
  }
  return { dims, data: buf.subarray(header) };
}

/** Reads and parses a gzipped IDX file (as Debian's dataset packages ship them). */
export function readIdxGz(path: string, expectRank?: number): IdxArray {
  return parseIdx(gunzipSync(readFileSync(path)), path, expectRank);
}
