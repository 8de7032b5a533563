import { loadFashionMnist, sampleSubset } from '@tessera/data';
import { buildLeNet5 } from '@tessera/models';
import { describe, expect, it } from 'vitest';
import { adamw } from './optimizers.js';
import { cosine, linearWarmup } from './schedules.js';
import { Trainer } from './trainer.js';

// The fast member of bench/zoo.ts (`pnpm zoo`): LeNet-5 on real Fashion-MNIST through the Trainer.

describe('model zoo on real data', () => {
  it('LeNet-5, 6 000 Fashion-MNIST train images, 1 epoch: at least 80 % on the official 10 000 test images', async () => {
    const train = sampleSubset(loadFashionMnist('train'), 6000, 1);
    const test = loadFashionMnist('test');
    const batchSize = 16;
    const steps = Math.floor(6000 / batchSize);
    const t = await Trainer.create({
      forward: buildLeNet5({}, { seed: 0 }), batchSize, seed: 0,
      optimizer: adamw({ lr: 3e-3, weightDecay: 1e-4 }), schedule: linearWarmup(20, cosine({ total: steps - 20, floor: 0.05 })),
    });
    await t.fit(train, { epochs: 1, progress: false });
    const { accuracy } = await t.evaluate(test);
    await t.executor.dispose();
    if (process.env.TESSERA_REPORT) console.log(`LeNet-5 6k Fashion-MNIST, 1 epoch (${steps} steps): test accuracy ${accuracy.toFixed(4)}`);
    expect(accuracy).toBeGreaterThanOrEqual(0.8);
  }, 30_000);
});
