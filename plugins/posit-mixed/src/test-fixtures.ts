/** Small real-data fixtures shared by the tests (not part of the public entry). */
import type { Graph } from '@tessera/core';
import { loadFashionMnist, sampleSubset } from '@tessera/data';
import { buildLeNet5, buildMlp } from '@tessera/models';
import { createExecutor, type Executor } from '@tessera/runtime';
import { adam, Trainer, type Examples } from '@tessera/train';

let cached: Promise<{ train: Examples; test: Examples }> | undefined;

/** 1,024 train and 256 test Fashion-MNIST images (stratified, seed 0), [N, 1, 28, 28]. */
export function fashionSmall(): Promise<{ train: Examples; test: Examples }> {
  return (cached ??= Promise.resolve().then(() => ({
    train: sampleSubset(loadFashionMnist('train'), 1024, 0),
    test: sampleSubset(loadFashionMnist('test'), 256, 0),
  })));
}

/** A model trained for one short epoch so that gradients and errors are those of a real network. */
export async function pretrained(kind: 'lenet' | 'mlp', executor: Executor = createExecutor('ort-node')): Promise<{ graph: Graph; train: Examples; test: Examples }> {
  const d = await fashionSmall();
  const { train, test } = d;
  const g = kind === 'mlp' ? buildMlp({ hidden: [32] }, { seed: 1 }) : buildLeNet5({}, { seed: 1 });
  const t = await Trainer.create({ forward: g, optimizer: adam({ lr: 3e-3 }), batchSize: 64, seed: 1, executor });
  await t.fit(train, { epochs: 1, progress: false });
  return { graph: t.currentGraph(), train, test };
}
