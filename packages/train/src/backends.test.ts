import { loadImageClassification, sampleSubset } from '@tessera/data';
import { buildLeNet5, buildMlp } from '@tessera/models';
import { describe, expect, it } from 'vitest';
import { adamw } from './optimizers.js';
import { Trainer } from './trainer.js';

// The same training steps on onnxruntime-node and onnxruntime-web (wasm) agree within float32 noise.

describe('ort-node and ort-web run the same training steps', () => {
  const data = sampleSubset(loadImageClassification('fashion-mnist', { onNotice: () => undefined }).train, 256, 4);
  for (const [name, build] of [['MLP', () => buildMlp({ hidden: [64] }, { seed: 1 })], ['LeNet-5', () => buildLeNet5({}, { seed: 1 })]] as const) {
    it(`${name}: 3 AdamW steps, losses and parameters within 1e-5`, async () => {
      const run = async (backend: 'ort-node' | 'ort-web') => {
        const t = await Trainer.create({ forward: build(), batchSize: 64, optimizer: adamw({ lr: 1e-3 }), backend, seed: 2 });
        const losses = (await t.fit(data, { epochs: 1, maxSteps: 3, progress: false })).map((r) => r.loss);
        const params = t.flatTrainable();
        await t.executor.dispose();
        return { losses, params };
      };
      const node = await run('ort-node');
      const web = await run('ort-web');
      node.losses.forEach((l, i) => expect(Math.abs(l - web.losses[i]!)).toBeLessThan(1e-5));
      let worst = 0;
      for (let i = 0; i < node.params.length; i++) worst = Math.max(worst, Math.abs(node.params[i]! - web.params[i]!));
      expect(worst).toBeLessThan(1e-5);
    });
  }
});
