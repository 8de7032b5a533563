import type { Rng } from '@tessera/core';

/** A categorical search space: each gene picks one of its options. Genomes hold option indices. */
export interface CategoricalSpace {
  genes: readonly { name: string; options: readonly unknown[] }[];
}

export type Genome = number[];

/** One evaluated candidate, as every searcher logs it. */
export interface Trial<V> {
  /** 0-based order of evaluation. */
  id: number;
  genome: Genome;
  value: V;
  /** Wall time of the evaluation in milliseconds. */
  wallMs: number;
  /** NSGA-II generation (0 = initial population) or TPE iteration (0 = random start). */
  round: number;
}

export function validateSpace(space: CategoricalSpace): void {
  if (space.genes.length === 0) throw new Error('search space: needs at least one gene');
  for (const g of space.genes) {
    if (g.options.length === 0) throw new Error(`search space: gene '${g.name}' has no options`);
  }
}

export function spaceSize(space: CategoricalSpace): number {
  return space.genes.reduce((n, g) => n * g.options.length, 1);
}

export function randomGenome(space: CategoricalSpace, rng: Rng): Genome {
  return space.genes.map((g) => rng.int(g.options.length));
}

export function genomeKey(g: Genome): string {
  return g.join(',');
}

/** The options a genome selects, by gene name. */
export function decodeGenome(space: CategoricalSpace, genome: Genome): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  space.genes.forEach((g, i) => {
    const k = genome[i];
    if (k === undefined || k < 0 || k >= g.options.length) {
      throw new Error(`genome [${genome.join(', ')}]: gene '${g.name}' index ${String(k)} is outside 0..${g.options.length - 1}`);
    }
    out[g.name] = g.options[k];
  });
  return out;
}

/** Every genome of a small space, in lexicographic order (for ground-truth fronts in tests). */
export function enumerateSpace(space: CategoricalSpace, limit = 1_000_000): Genome[] {
  const n = spaceSize(space);
  if (n > limit) throw new Error(`enumerateSpace: ${n} genomes exceed the limit of ${limit}`);
  const out: Genome[] = [];
  const g = space.genes.map(() => 0);
  for (let i = 0; i < n; i++) {
    out.push([...g]);
    for (let d = g.length - 1; d >= 0; d--) {
      g[d]!++;
      if (g[d]! < space.genes[d]!.options.length) break;
      g[d] = 0;
    }
  }
  return out;
}
