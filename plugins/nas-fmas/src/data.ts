import { segmentationScenes } from '@tessera/data';
import type { FmasData } from './fmas.js';

export interface SegmentationSplitOptions {
  size?: number;
  classes?: number;
  train?: number;
  val?: number;
  test?: number;
  seed?: number;
}

/** Three disjoint synthetic segmentation splits (independent generator seeds): train, val (search), test (final report only). */
export function segmentationSplits(o: SegmentationSplitOptions = {}): FmasData {
  const seed = o.seed ?? 0;
  const make = (n: number, salt: number) => segmentationScenes({ n, size: o.size ?? 32, classes: o.classes ?? 5, seed: seed * 1000 + salt });
  return { train: make(o.train ?? 1000, 1), val: make(o.val ?? 400, 2), test: make(o.test ?? 400, 3) };
}
