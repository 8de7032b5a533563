import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CachingExecutor, BACKENDS, type BackendName, type Executor, type ExecutorOptions } from './executor.js';
import { OrtSessionFactory } from './ort-backend.js';
import { ReferenceSessionFactory } from './reference-backend.js';
import type { OrtModule } from './tensor-convert.js';

let ortNode: Promise<OrtModule> | undefined;
let ortWeb: Promise<OrtModule> | undefined;

export function loadOrtNode(): Promise<OrtModule> {
  return (ortNode ??= import('onnxruntime-node') as Promise<OrtModule>);
}

/**
 * onnxruntime-web on wasm, one thread (wasm threads need cross-origin isolation in browsers and
 * workers in Node), with its .wasm files loaded from the installed package rather than a CDN.
 */
export function loadOrtWeb(): Promise<OrtModule> {
  return (ortWeb ??= (async () => {
    const ort = (await import('onnxruntime-web')) as unknown as OrtModule & { env: { wasm: { numThreads?: number; wasmPaths?: unknown; proxy?: boolean } } };
    const dist = dirname(createRequire(import.meta.url).resolve('onnxruntime-web'));
    ort.env.wasm.numThreads = 1;
    ort.env.wasm.proxy = false;
    ort.env.wasm.wasmPaths = `${pathToFileURL(dist).href}/`;
    return ort;
  })());
}

/**
 * An Executor on one backend: 'ort-node' (default; fastest in Node), 'ort-web' (onnxruntime-web,
 * wasm, portable) or 'reference' (core's interpreter: bit-exact custom arithmetic, kernel variants).
 */
export function createExecutor(backend: BackendName = 'ort-node', opts: ExecutorOptions = {}): Executor {
  const threads = opts.threads ?? Number(process.env.TESSERA_THREADS ?? 1);
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`createExecutor: threads must be a positive integer (got ${threads}; check TESSERA_THREADS)`);
  if (backend === 'ort-web' && opts.threads !== undefined && opts.threads !== 1) {
    throw new Error(`createExecutor('ort-web'): threads: ${opts.threads} is not supported; onnxruntime-web runs wasm on 1 thread here (use 'ort-node' for more)`);
  }
  const o = { ...opts, threads };
  switch (backend) {
    case 'reference': return new CachingExecutor(backend, new ReferenceSessionFactory(o), o.maxSessions);
    case 'ort-node': return new CachingExecutor(backend, new OrtSessionFactory(backend, loadOrtNode, o), o.maxSessions);
    case 'ort-web': return new CachingExecutor(backend, new OrtSessionFactory(backend, loadOrtWeb, o), o.maxSessions);
    default: throw new Error(`createExecutor: unknown backend '${String(backend)}' (valid: ${BACKENDS.join(', ')})`);
  }
}
