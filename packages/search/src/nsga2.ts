import { Rng } from '@tessera/core';
import { crowdingDistance, nonDominatedSort, paretoRanks, type Objectives } from './pareto.js';
import { genomeKey, randomGenome, spaceSize, validateSpace, type CategoricalSpace, type Genome, type Trial } from './space.js';

export interface Nsga2Options {
  /** Number of evaluations (unique genomes evaluated), the budget. */
  evaluations: number;
  /** Population size (default 40). */
  population?: number;
  /** Probability of uniform crossover per child (default 0.9, as B3 prescribes for categorical genes). */
  crossover?: number;
  /** Per-gene mutation probability (default 1 / number of genes). */
  mutation?: number;
  seed?: number;
  /**
   * Checked before each evaluation (each batch with `evaluateBatch`): once aborted, the search
   * stops and returns what it has evaluated, with `interrupted: true`.
   */
  signal?: AbortSignal;
}

export interface Nsga2Result {
  /** Every evaluated candidate, in evaluation order. */
  trials: Trial<number[]>[];
  /** The final population (indices into trials). */
  population: number[];
  /** The non-dominated trials among everything evaluated. */
  front: Trial<number[]>[];
  /** True when `signal` stopped the search before its budget. */
  interrupted: boolean;
}

export type Evaluate = (genome: Genome) => Objectives | Promise<Objectives>;

/**
 * Scores a whole batch at once, e.g. on parallel workers: one objective vector per genome, in
 * order. `round` is the generation the batch belongs to (0: the initial population).
 */
export type EvaluateBatch = (genomes: Genome[], round: number) => Promise<readonly Objectives[]>;

/**
 * NSGA-II (Deb et al. 2002) over a categorical space: binary tournament on (rank, crowding),
 * uniform crossover, per-gene mutation to a different option, elitist merge of parents and
 * children. Each genome is evaluated once (a duplicate child is re-mutated, then dropped), so
 * `evaluations` counts evaluated genomes.
 *
 * `evaluate` is either one genome at a time, or `{ evaluateBatch }`, which receives each
 * generation whole (the initial population, then each generation's children: they depend only on
 * the parents; a generation that bred nothing new is not passed). Both give exactly the same trials for the same options; a batch trial's `wallMs`
 * is its share of the batch's wall time.
 */
export async function nsga2(space: CategoricalSpace, evaluate: Evaluate | { evaluateBatch: EvaluateBatch }, opts: Nsga2Options): Promise<Nsga2Result> {
  validateSpace(space);
  const rng = new Rng(opts.seed ?? 0);
  const nGenes = space.genes.length;
  const budget = Math.min(opts.evaluations, spaceSize(space));
  const popSize = Math.min(opts.population ?? 40, budget);
  const pc = opts.crossover ?? 0.9;
  const pm = opts.mutation ?? 1 / nGenes;
  if (popSize < 2) throw new Error(`nsga2: population must be at least 2 (got ${popSize})`);

  const trials: Trial<number[]>[] = [];
  let interrupted = false;
  /** Evaluates a generation's genomes, appends their trials, returns their ids (fewer if the signal stopped the search). */
  const run = async (genomes: Genome[], round: number): Promise<number[]> => {
    const ids: number[] = [];
    const push = (genome: Genome, objectives: Objectives, wallMs: number): void => {
      ids.push(trials.length);
      trials.push({ id: trials.length, genome, value: [...objectives], wallMs, round });
    };
    if (typeof evaluate === 'function') {
      for (const g of genomes) {
        if (opts.signal?.aborted) {
          interrupted = true;
          break;
        }
        const t0 = performance.now();
        const value = await evaluate(g);
        push(g, value, performance.now() - t0);
      }
      return ids;
    }
    if (genomes.length === 0) return ids;
    if (opts.signal?.aborted) {
      interrupted = true;
      return ids;
    }
    const t0 = performance.now();
    const values = await evaluate.evaluateBatch(genomes, round);
    if (values.length !== genomes.length) throw new Error(`nsga2: evaluateBatch returned ${values.length} objective vectors for ${genomes.length} genomes; return one per genome, in order`);
    const share = (performance.now() - t0) / genomes.length;
    genomes.forEach((g, i) => push(g, values[i]!, share));
    return ids;
  };

  const seen = new Set<string>();
  const first: Genome[] = [];
  while (first.length < popSize) {
    const g = randomGenome(space, rng);
    const k = genomeKey(g);
    if (seen.has(k)) continue;
    seen.add(k);
    first.push(g);
  }
  let pop = await run(first, 0);

  const mutate = (g: Genome): void => {
    for (let i = 0; i < nGenes; i++) {
      const n = space.genes[i]!.options.length;
      if (n > 1 && rng.uniform() < pm) g[i] = (g[i]! + 1 + rng.int(n - 1)) % n;
    }
  };

  let generation = 0;
  while (!interrupted && trials.length < budget) {
    generation++;
    const objs = pop.map((i) => trials[i]!.value);
    const rank = paretoRanks(objs);
    const crowd = new Float64Array(pop.length);
    for (const front of nonDominatedSort(objs)) {
      const d = crowdingDistance(front.map((i) => objs[i]!));
      front.forEach((i, j) => (crowd[i] = d[j]!));
    }
    const tournament = (): number => {
      const a = rng.int(pop.length);
      const b = rng.int(pop.length);
      if (rank[a]! !== rank[b]!) return rank[a]! < rank[b]! ? a : b;
      return crowd[a]! >= crowd[b]! ? a : b;
    };
    // Children depend only on the parents (never on each other's objectives), so the whole
    // generation is bred first and then evaluated: one batch, or one genome after another.
    const children: Genome[] = [];
    let attempts = 0;
    while (children.length < popSize && trials.length + children.length < budget && attempts < popSize * 20) {
      attempts++;
      const p1 = trials[pop[tournament()]!]!.genome;
      const p2 = trials[pop[tournament()]!]!.genome;
      const child = rng.uniform() < pc ? p1.map((v, i) => (rng.uniform() < 0.5 ? v : p2[i]!)) : [...p1];
      mutate(child);
      for (let retry = 0; retry < 5 && seen.has(genomeKey(child)); retry++) mutate(child);
      const k = genomeKey(child);
      if (seen.has(k)) continue;
      seen.add(k);
      children.push(child);
    }
    if (children.length === 0) {
      // The population has converged onto evaluated genomes: inject a random newcomer.
      const g = randomGenome(space, rng);
      if (!seen.has(genomeKey(g))) {
        seen.add(genomeKey(g));
        children.push(g);
      }
    }
    const ids = await run(children, generation);
    if (interrupted) break;
    pop = selectSurvivors([...pop, ...ids], trials, popSize);
  }

  const front = trials.length ? nonDominatedSort(trials.map((t) => t.value))[0]!.map((i) => trials[i]!) : [];
  return { trials, population: pop, front, interrupted };
}

/** Elitist environmental selection: whole fronts first, the last one by descending crowding distance. */
export function selectSurvivors(candidates: number[], trials: readonly Trial<number[]>[], size: number): number[] {
  const objs = candidates.map((i) => trials[i]!.value);
  const next: number[] = [];
  for (const front of nonDominatedSort(objs)) {
    if (next.length + front.length <= size) {
      for (const i of front) next.push(candidates[i]!);
      continue;
    }
    const d = crowdingDistance(front.map((i) => objs[i]!));
    const order = front.map((_, j) => j).sort((a, b) => d[b]! - d[a]! || a - b);
    for (const j of order.slice(0, size - next.length)) next.push(candidates[front[j]!]!);
    break;
  }
  return next;
}

/** Random sampling of unique genomes with the same logging, the baseline every searcher must beat. */
export async function randomSearch(space: CategoricalSpace, evaluate: Evaluate, opts: { evaluations: number; seed?: number }): Promise<Nsga2Result> {
  validateSpace(space);
  const rng = new Rng(opts.seed ?? 0);
  const budget = Math.min(opts.evaluations, spaceSize(space));
  const trials: Trial<number[]>[] = [];
  const seen = new Set<string>();
  while (trials.length < budget) {
    const g = randomGenome(space, rng);
    if (seen.has(genomeKey(g))) continue;
    seen.add(genomeKey(g));
    const t0 = performance.now();
    const value = [...(await evaluate(g))];
    trials.push({ id: trials.length, genome: g, value, wallMs: performance.now() - t0, round: 0 });
  }
  const front = nonDominatedSort(trials.map((t) => t.value))[0]!.map((i) => trials[i]!);
  return { trials, population: trials.map((t) => t.id), front, interrupted: false };
}
