/**
 * The content-addressed step cache (`<outDir>/.cache`). An entry is a directory named by the
 * step's key: `entry.json` (artefacts, plot and file names, the output graph's hash),
 * `graph.onnx` (the output graph, via @tessera/onnx), `graph.annotations.json` (number formats and
 * meta, which ONNX has no field for), `plots/*.svg` and `files/*` (what the step wrote). Entries are
 * written to a temporary directory and renamed into place, so an interrupted run never leaves a
 * half-written entry behind and every entry that exists is complete.
 */
import { randomBytes } from 'node:crypto';
import { cp, mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Graph, OpRegistry } from '@tessera/core';
import { exportModel, importModel } from '@tessera/onnx';
import { canonicalJson } from './hash.js';

export interface CacheEntryMeta {
  key: string;
  step: string;
  plugin: string;
  pluginVersion: string;
  options: Record<string, unknown>;
  /** Hash of the output graph (null when the step produced none). */
  graphHash: string | null;
  artefacts: Record<string, unknown>;
  plots: string[];
  files: string[];
  /** How long the step took when it actually ran. */
  seconds: number;
}

export interface CacheEntry extends CacheEntryMeta {
  graph?: Graph;
  /** Plot SVGs by name. */
  plotSvgs: Record<string, string>;
  /** Directory holding the step's files. */
  filesDir: string;
}

interface Annotations {
  graph: Record<string, unknown>;
  values: Record<string, { format?: { id: string; bits: number }; meta?: Record<string, unknown> }>;
  nodes: Record<string, Record<string, unknown>>;
}

function jsonable(v: unknown): boolean {
  try {
    return JSON.stringify(v) !== undefined;
  } catch {
    return false;
  }
}

function metaToJson(meta: Map<string, unknown>): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  for (const [k, v] of meta) if (!k.startsWith('onnx.') && jsonable(v)) out[k] = v;
  return Object.keys(out).length ? out : undefined;
}

function annotationsOf(g: Graph): Annotations {
  const a: Annotations = { graph: metaToJson(g.meta) ?? {}, values: {}, nodes: {} };
  for (const v of g.allValues()) {
    const meta = metaToJson(v.meta);
    if (v.format || meta) a.values[v.name] = { ...(v.format ? { format: { id: v.format.id, bits: v.format.bits } } : {}), ...(meta ? { meta } : {}) };
  }
  for (const n of g.nodes) {
    const meta = metaToJson(n.meta);
    if (meta) a.nodes[n.name] = meta;
  }
  return a;
}

function applyAnnotations(g: Graph, a: Annotations): void {
  for (const [k, v] of Object.entries(a.graph)) g.meta.set(k, v);
  for (const [name, ann] of Object.entries(a.values)) {
    const v = g.value(name);
    if (!v) continue;
    if (ann.format) v.format = ann.format;
    for (const [k, m] of Object.entries(ann.meta ?? {})) v.meta.set(k, m);
  }
  const nodes = new Map(g.nodes.map((n) => [n.name, n]));
  for (const [name, meta] of Object.entries(a.nodes)) {
    const n = nodes.get(name);
    if (n) for (const [k, m] of Object.entries(meta)) n.meta.set(k, m);
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

export class StepCache {
  constructor(
    readonly dir: string,
    private readonly registry?: OpRegistry,
  ) {}

  entryDir(key: string): string {
    return join(this.dir, key);
  }

  async has(key: string): Promise<boolean> {
    return exists(join(this.entryDir(key), 'entry.json'));
  }

  async load(key: string): Promise<CacheEntry | undefined> {
    const dir = this.entryDir(key);
    let meta: CacheEntryMeta;
    try {
      meta = JSON.parse(await readFile(join(dir, 'entry.json'), 'utf8')) as CacheEntryMeta;
    } catch {
      return undefined;
    }
    let graph: Graph | undefined;
    if (meta.graphHash) {
      graph = importModel(await readFile(join(dir, 'graph.onnx')), { registry: this.registry, unknownOps: 'keep', source: join(dir, 'graph.onnx') });
      applyAnnotations(graph, JSON.parse(await readFile(join(dir, 'graph.annotations.json'), 'utf8')) as Annotations);
    }
    const plotSvgs: Record<string, string> = {};
    for (const p of meta.plots) plotSvgs[p] = await readFile(join(dir, 'plots', `${p}.svg`), 'utf8');
    return { ...meta, graph, plotSvgs, filesDir: join(dir, 'files') };
  }

  /**
   * Stores an entry atomically: everything is written under a temporary name in the cache
   * directory, then renamed to the key. `filesFrom` (the step's work directory) is copied in.
   */
  async store(meta: Omit<CacheEntryMeta, 'files'>, graph: Graph | undefined, plotSvgs: Record<string, string>, filesFrom?: string): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const tmp = join(this.dir, `.tmp-${meta.key.slice(0, 16)}-${process.pid}-${randomBytes(4).toString('hex')}`);
    try {
      await mkdir(join(tmp, 'plots'), { recursive: true });
      await mkdir(join(tmp, 'files'), { recursive: true });
      if (graph) {
        await writeFile(join(tmp, 'graph.onnx'), exportModel(graph));
        await writeFile(join(tmp, 'graph.annotations.json'), JSON.stringify(annotationsOf(graph)));
      }
      for (const [name, svg] of Object.entries(plotSvgs)) await writeFile(join(tmp, 'plots', `${name}.svg`), svg);
      let files: string[] = [];
      if (filesFrom && (await exists(filesFrom))) {
        await cp(filesFrom, join(tmp, 'files'), { recursive: true });
        files = (await readdir(join(tmp, 'files'), { recursive: true, withFileTypes: true }))
          .filter((d) => d.isFile())
          .map((d) => join(d.parentPath, d.name).slice(join(tmp, 'files').length + 1))
          .sort();
      }
      const full: CacheEntryMeta = { ...meta, plots: Object.keys(plotSvgs), files };
      await writeFile(join(tmp, 'entry.json'), `${canonicalJson(full)}\n`);
      if (await exists(this.entryDir(meta.key))) await rm(tmp, { recursive: true, force: true });
      else await rename(tmp, this.entryDir(meta.key));
    } catch (e) {
      await rm(tmp, { recursive: true, force: true });
      throw e;
    }
  }

  /** Removes temporary directories left by runs that were killed mid-write (not those of live processes). */
  async sweep(): Promise<void> {
    if (!(await exists(this.dir))) return;
    for (const name of await readdir(this.dir)) {
      const m = /^\.tmp-[0-9a-f]+-(\d+)-/.exec(name);
      if (m && !processAlive(Number(m[1]))) await rm(join(this.dir, name), { recursive: true, force: true });
    }
  }
}

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
