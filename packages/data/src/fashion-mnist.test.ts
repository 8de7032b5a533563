import { describe, expect, it } from 'vitest';
import { classCounts } from './dataset.js';
import { FASHION_MNIST_DIR, fashionMnistAvailable, loadFashionMnist } from './fashion-mnist.js';

// Real-data tests need Debian's dataset-fashion-mnist; CI installs it, so there they always run.
const haveData = fashionMnistAvailable() || Boolean(process.env.CI);
if (!haveData) console.log(`fashion-mnist tests skipped: ${FASHION_MNIST_DIR} is absent (apt-get install dataset-fashion-mnist)`);

describe.runIf(haveData)('Fashion-MNIST from the Debian IDX files', () => {
  it('reads 60000 training images and labels with the known first image and pixel total', () => {
    const train = loadFashionMnist('train');
    expect(train.x.shape).toEqual([60000, 1, 28, 28]);
    expect(train.y.shape).toEqual([60000]);
    expect(classCounts(train)).toEqual(new Array(10).fill(6000));
    expect([...train.y.data.slice(0, 10)].map(Number)).toEqual([9, 0, 0, 3, 0, 2, 7, 2, 5, 5]);
    const x = train.x.data as Float32Array;
    let first = 0;
    for (let i = 0; i < 784; i++) first += Math.round(x[i]! * 255);
    // Byte sums computed once from the files (train-images-idx3-ubyte.gz, Fashion-MNIST release 2017).
    expect(first).toBe(76247);
    let total = 0;
    for (let i = 0; i < x.length; i++) total += Math.round(x[i]! * 255);
    expect(total).toBe(3431114169);
    expect(Math.min(...x.subarray(0, 784))).toBe(0);
    expect(Math.max(...x.subarray(0, 784))).toBe(1);
  });

  it('reads the 10000 official test images, labels 0..9, 1000 per class', () => {
    const test = loadFashionMnist('test');
    expect(test.x.shape).toEqual([10000, 1, 28, 28]);
    expect(classCounts(test)).toEqual(new Array(10).fill(1000));
    let first = 0;
    for (let i = 0; i < 784; i++) first += Math.round((test.x.data as Float32Array)[i]! * 255);
    expect(first).toBe(33456);
    expect(test.source.licence).toBe('MIT');
  });
});

describe('Fashion-MNIST when the package is missing', () => {
  it('fails with one line naming the file and the apt package', () => {
    expect(() => loadFashionMnist('train', { dir: '/nonexistent/fmnist' })).toThrow(
      /^Fashion-MNIST file \/nonexistent\/fmnist\/train-images-idx3-ubyte\.gz is missing: install it with `apt-get install dataset-fashion-mnist`$/,
    );
  });
});
