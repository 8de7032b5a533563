import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Tensor } from '@tessera/core';
import type { Dataset } from './dataset.js';
import { readIdxGz } from './idx.js';

/** Where Debian's `dataset-fashion-mnist` package installs the gzipped IDX files. */
export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

export const FASHION_MNIST_CLASSES = [
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
] as const;

const FILES = {
  train: ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz'],
  test: ['t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'],
} as const;

export interface FashionMnistOptions {
  /** Directory holding the four .gz files (default: Debian's location). */
  dir?: string;
}

/** True when the four Fashion-MNIST files are present. */
export function fashionMnistAvailable(opts: FashionMnistOptions = {}): boolean {
  const dir = opts.dir ?? FASHION_MNIST_DIR;
  return [...FILES.train, ...FILES.test].every((f) => existsSync(join(dir, f)));
}

/**
 * Loads one official split of Fashion-MNIST (60000 train / 10000 test images). Pixels become
 * float32 in [0, 1] with shape [N, 1, 28, 28]; labels int64 [N].
 */
export function loadFashionMnist(split: 'train' | 'test', opts: FashionMnistOptions = {}): Dataset {
  const dir = opts.dir ?? FASHION_MNIST_DIR;
  const [imgFile, lblFile] = FILES[split];
  const imgPath = join(dir, imgFile);
  const lblPath = join(dir, lblFile);
  for (const p of [imgPath, lblPath]) {
    if (!existsSync(p)) throw new Error(`Fashion-MNIST file ${p} is missing: install it with \`apt-get install dataset-fashion-mnist\``);
  }
  const images = readIdxGz(imgPath, 3);
  const labels = readIdxGz(lblPath, 1);
  const [n, h, w] = images.dims as [number, number, number];
  if (labels.dims[0] !== n) throw new Error(`Fashion-MNIST ${split}: ${lblPath} has ${labels.dims[0]} labels, ${imgPath} has ${n} images`);
  const x = new Float32Array(images.data.length);
  for (let i = 0; i < x.length; i++) x[i] = images.data[i]! / 255;
  const y = new BigInt64Array(n);
  for (let i = 0; i < n; i++) {
    const c = labels.data[i]!;
    if (c > 9) throw new Error(`Fashion-MNIST ${split}: label ${c} at index ${i} of ${lblPath} is outside 0..9`);
    y[i] = BigInt(c);
  }
  return {
    name: `fashion-mnist/${split}`,
    x: new Tensor('float32', [n, 1, h, w], x),
    y: new Tensor('int64', [n], y),
    classes: FASHION_MNIST_CLASSES,
    source: {
      description: 'Fashion-MNIST (Xiao, Rasul, Vollgraf 2017, Zalando Research), from Debian package dataset-fashion-mnist',
      licence: 'MIT',
      url: 'https://github.com/zalandoresearch/fashion-mnist',
    },
  };
}
