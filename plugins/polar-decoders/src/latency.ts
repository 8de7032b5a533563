/**
 * Latency and complexity model [R] (model estimates; papers report hardware latency).
 *
 * Time steps assume a fully parallel datapath (one processing element per LLR of a stage):
 *  - every f or g stage of a node takes 1 step, whatever its width; partial sums are combinational (0);
 *  - SC leaves decide combinationally (0 steps);
 *  - single-path fast nodes: Rate-0 0, Rate-1 1, REP 1, SPC 1 (hard decision / parity / flip);
 *  - list decoders: every list pruning (keep L of 2ℓ) costs 1 step; an information leaf is one pruning;
 *    a frozen leaf 0; Rate-0 1 (metric update); REP 2 (sum, then one pruning); Rate-1 with t
 *    enumerated bits max(t,1); SPC with b bits (the parity-fix bit included) 1 + (b − 1)
 *    (parity, then one pruning per further bit);
 *  - flip decoders restart from the root: each attempt costs a full decoding.
 * Scalar operations (complexity) count one per f or g output per path, one per bit of a fast node per
 * path, and for each pruning 2ℓ metric updates plus 2ℓ·⌈log2(2ℓ)⌉ comparisons.
 * GRAND family: one query = one syndrome check; a P-checker datapath tests P patterns per cycle,
 * cycles = ⌈queries / P⌉ (step-GRAND: a step of c patterns takes ⌈c / P⌉ cycles).
 */
export const LATENCY_MODEL = Object.freeze({
  fStage: 1,
  gStage: 1,
  combine: 0,
  scLeaf: 0,
  scRate0: 0,
  scRate1: 1,
  scRep: 1,
  scSpc: 1,
  listPrune: 1,
  listFrozenLeaf: 0,
  listRate0: 1,
  listRep: 2,
});

export function pruneComplexity(activePaths: number): number {
  const c = 2 * activePaths;
  return c + c * Math.ceil(Math.log2(c));
}
