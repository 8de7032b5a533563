import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** `process.env.TESSERA_SHARED ?? <repo>/../shared`, then reference/polar. */
export function referenceDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const repo = resolve(here, '..', '..', '..');
  return join(process.env.TESSERA_SHARED ?? resolve(repo, '..', 'shared'), 'reference', 'polar');
}

export interface ReferencePoint {
  ebn0Db: number;
  fer: number;
  ber: number;
  frames: number;
  frameErrors: number;
}

/** Reads one AFF3CT reference table (`ebn0_db,fer,ber,frames,frame_errors`). */
export function readReferenceTable(file: string): ReferencePoint[] {
  const text = readFileSync(join(referenceDir(), file), 'utf8');
  const [head, ...rows] = text.trim().split(/\r?\n/);
  if (head?.trim() !== 'ebn0_db,fer,ber,frames,frame_errors') {
    throw new Error(`${file}: unexpected header '${head}', expected ebn0_db,fer,ber,frames,frame_errors`);
  }
  return rows.map((r) => {
    const [e, fer, ber, frames, fe] = r.split(',').map(Number);
    return { ebn0Db: e!, fer: fer!, ber: ber!, frames: frames!, frameErrors: fe! };
  });
}
