import type { CategoricalSpace, Genome } from './space.js';

/**
 * The enumerable toy problem of spec B3 (shared/specs/compression-nas-hw.md): 6 genes x 4 options
 * = 4096 genomes and two closed-form conflicting objectives, shaped like a bit-width search:
 * a cost that grows quadratically with each gene's level and an error that falls as 1/level,
 * with different weights per gene so the trade-off is not symmetric.
 */
export const toySpace: CategoricalSpace = {
  genes: Array.from({ length: 6 }, (_, i) => ({ name: `layer${i}`, options: [1, 2, 3, 4] })),
};

const COST = [1, 3, 2, 5, 1, 4];
const ERROR = [4, 1, 3, 2, 5, 2];

export function toyObjectives(g: Genome): [number, number] {
  let cost = 0;
  let error = 0;
  for (let i = 0; i < 6; i++) {
    const level = g[i]! + 1;
    cost += COST[i]! * level * level;
    error += ERROR[i]! / level;
  }
  return [cost, error];
}

/** Reference point for hypervolume: just beyond the worst value of each objective over the space. */
export const toyReference: [number, number] = [COST.reduce((a, b) => a + b, 0) * 16 + 1, ERROR.reduce((a, b) => a + b, 0) + 1];
