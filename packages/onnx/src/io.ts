import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Graph } from '@tessera/core';
import { exportModel, type ExportOptions } from './export.js';
import { importModel, type ImportOptions } from './import.js';

/** Reads an .onnx file into a Graph; errors start with the path. */
export async function loadModel(path: string, opts: ImportOptions = {}): Promise<Graph> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new Error(`${path}: cannot read ONNX model (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return importModel(bytes, { ...opts, source: opts.source ?? path });
}

/**
 * Writes a Graph as an .onnx file atomically: the bytes go to a temporary file in the same
 * directory, which is then renamed over the target, so readers never see a half-written model.
 */
export async function saveModel(graph: Graph, path: string, opts: ExportOptions = {}): Promise<void> {
  const bytes = exportModel(graph, opts);
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw new Error(`${path}: cannot write ONNX model (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}
