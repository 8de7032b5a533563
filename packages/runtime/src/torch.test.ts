import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Graph, Tensor } from '@tessera/core';
import { importModel, loadModel, saveModel, tensorFromProto, TensorProtoType, type TensorProtoLike } from '@tessera/onnx';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareTensors } from './test-util.js';
import { BACKENDS, createExecutor, fromOrtTensor, loadOrtWeb, toOrtTensor } from './index.js';

// Models made outside Tessera: PyTorch 1.13's torch.onnx.export (Debian's /usr/bin/python3).
const PYTHON = '/usr/bin/python3';
const NEED_TORCH = `${PYTHON} has no PyTorch: apt-get install python3-torch`;
const script = join(dirname(fileURLToPath(import.meta.url)), '..', 'scripts', 'torch_models.py');

function hasTorch(): boolean {
  try {
    execFileSync(PYTHON, ['-c', 'import torch, onnx'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const available = hasTorch();

describe('PyTorch-exported models', () => {
  if (!available && !process.env.CI) {
    it.skip(NEED_TORCH, () => {});
    return;
  }
  let dir: string;
  const executors = Object.fromEntries(BACKENDS.map((b) => [b, createExecutor(b)]));
  beforeAll(() => {
    if (!available) throw new Error(NEED_TORCH);
    dir = mkdtempSync(join(tmpdir(), 'tessera-torch-'));
    try {
      execFileSync(PYTHON, [script, dir], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
    } catch (e) {
      const last = String((e as { stderr?: string }).stderr ?? '').trim().split('\n').pop();
      throw new Error(`${PYTHON} ${script} failed: ${last || (e as Error).message.split('\n')[0]}`);
    }
  });
  afterAll(async () => {
    for (const e of Object.values(executors)) await e.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  const pb = (name: string): Tensor => tensorFromProto(TensorProtoType.decode(readFileSync(join(dir, name))) as unknown as TensorProtoLike, name);

  it.each([
    ['cnn', 13],
    ['transformer', 17],
  ] as const)('%s (opset %i): all backends match PyTorch, and our re-export runs on onnxruntime-web', async (name, opset) => {
    const graph: Graph = await loadModel(join(dir, `${name}.onnx`));
    expect(graph.opsets.find((o) => o.domain === '')?.version).toBe(opset);
    const x = pb(`${name}_input_0.pb`);
    const torchY = pb(`${name}_output_0.pb`);
    for (const b of BACKENDS) {
      const y = (await executors[b]!.run(graph, { x })).y!;
      compareTensors(y, torchY, { rtol: 1e-4, atol: 1e-5 }, `${name} on ${b} vs PyTorch`);
    }
    // Export back to a file, then give onnxruntime-web the bytes of that file, as a browser would.
    const path = join(dir, `${name}.tessera.onnx`);
    await saveModel(graph, path);
    const ort = await loadOrtWeb();
    const session = await ort.InferenceSession.create(readFileSync(path));
    const out = await session.run({ x: toOrtTensor(ort, x, 'ort-web', 'x') });
    compareTensors(fromOrtTensor(out.y!, 'ort-web', 'y'), torchY, { rtol: 1e-4, atol: 1e-5 }, `${name} re-exported on ort-web vs PyTorch`);
    await session.release();
    expect(importModel(readFileSync(path)).nodeCount).toBe(graph.nodeCount);
  });
});
