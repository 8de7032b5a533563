// Test support: reads the shared reference vectors at test time (never copied into the repo).
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** `$TESSERA_SHARED/reference/numerics`, defaulting to `<repo>/../shared`. */
export const referenceDir = join(process.env.TESSERA_SHARED ?? resolve(repoRoot, '../shared'), 'reference', 'numerics');

export function readBytes(rel: string): Uint8Array {
  const b = readFileSync(join(referenceDir, rel));
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

export function readU16(rel: string): Uint16Array {
  const b = readBytes(rel);
  const out = new Uint16Array(b.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = b[2 * i]! | (b[2 * i + 1]! << 8);
  return out;
}

/** Rows of a CSV with a header line, as records of strings. */
export function readCsv(rel: string): Record<string, string>[] {
  const lines = readFileSync(join(referenceDir, rel), 'utf8').trim().split('\n');
  const header = lines[0]!.split(',');
  return lines.slice(1).map((line) => {
    const cells = line.split(',');
    const row: Record<string, string> = {};
    header.forEach((h, i) => (row[h] = cells[i]!));
    return row;
  });
}

/** Parses C99 hexfloat (`0x1.8p-3`, `-0x0.0000000000001p-1022`), `nan`, `inf`. */
export function parseHexFloat(s: string): number {
  const t = s.trim().toLowerCase();
  if (t === 'nan' || t === '-nan') return NaN;
  if (t === 'inf') return Infinity;
  if (t === '-inf') return -Infinity;
  const m = /^(-?)0x([0-9a-f]+)(?:\.([0-9a-f]*))?p([+-]?\d+)$/.exec(t);
  if (!m) throw new Error(`not a hexfloat: ${s}`);
  const frac = m[3] ?? '';
  const mant = BigInt(`0x${m[2]}${frac}`);
  const exp = Number(m[4]) - 4 * frac.length;
  // mant has at most 53 significant bits here, so Number(mant) is exact; scale in two steps to
  // reach subnormals without an intermediate underflow.
  let v = Number(mant);
  const half = Math.trunc(exp / 2);
  v = v * 2 ** half * 2 ** (exp - half);
  return m[1] === '-' ? -v : v;
}
