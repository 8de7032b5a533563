/**
 * NSGA-II with generation-wide batches and a resumable JSONL log. The algorithm is
 * @tessera/search's `nsga2` step for step — same random stream, tournament, crossover, mutation,
 * duplicate handling and `selectSurvivors` — except that a generation's children are generated
 * first and evaluated together (they depend only on the parents), so a batch can go to parallel
 * workers. A test checks it returns exactly `nsga2`'s trials.
 *
 * Resume: every finished evaluation is appended to the log at once. A rerun with the same log
 * replays the deterministic search; genomes already in the log take their logged objectives
 * instead of being evaluated again, so an interrupted search ends where an uninterrupted one does.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Rng } from '@tessera/core';
import {
  crowdingDistance, genomeKey, nonDominatedSort, paretoRanks, randomGenome, selectSurvivors, spaceSize, validateSpace,
  type CategoricalSpace, type Genome, type Trial,
} from '@tessera/search';

/** One logged evaluation: the genome, its objectives (minimised), its wall time, and extra fields. */
export interface EvaluationRecord<X = Record<string, unknown>> {
  id: number;
  round: number;
  genome: Genome;
  objectives: number[];
  wallMs: number;
  extra: X;
}

export interface BatchOutcome<X> {
  objectives: number[];
  wallMs: number;
  extra: X;
}

/** Evaluates a batch; may report each result early through `onResult` (index in the batch), which the log uses. */
export type EvaluateBatch<X> = (genomes: Genome[], onResult: (index: number, outcome: BatchOutcome<X>) => void) => Promise<BatchOutcome<X>[]>;

export interface BatchedNsga2Options {
  evaluations: number;
  population?: number;
  crossover?: number;
  mutation?: number;
  seed?: number;
  /** JSONL file: a header line, then one line per evaluated candidate. Reused (resumed) when it exists. */
  log?: string;
  /** Anything that identifies the search (space, data, options): a log written for another search is refused. */
  fingerprint?: unknown;
  /** Checked between batches: an aborted search stops after the batch in flight, its results logged. */
  signal?: AbortSignal;
}

export interface BatchedNsga2Result<X> {
  /** Every candidate in evaluation order (ids 0..n-1), from the log or evaluated in this run. */
  trials: (Trial<number[]> & { extra: X })[];
  population: number[];
  front: (Trial<number[]> & { extra: X })[];
  /** How many candidates this run evaluated (the rest came from the log). */
  evaluatedNow: number;
  /** True when the signal stopped the search before its budget. */
  interrupted: boolean;
}

function readLog<X>(path: string, fingerprint: string): Map<string, EvaluationRecord<X>> {
  const cache = new Map<string, EvaluationRecord<X>>();
  if (!existsSync(path)) return cache;
  const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l.trim());
  lines.forEach((line, i) => {
    let rec: { type?: string; fingerprint?: string } & Partial<EvaluationRecord<X>>;
    try {
      rec = JSON.parse(line);
    } catch {
      // A search killed mid-write leaves at most a torn last line: cut it so appends start on a fresh line.
      if (i === lines.length - 1) {
        writeFileSync(path, lines.slice(0, -1).map((l) => `${l}\n`).join(''));
        return;
      }
      throw new Error(`fmas: search log ${path} line ${i + 1} is not JSON; delete the log or choose another path`);
    }
    if (i === 0) {
      if (rec.type !== 'header') throw new Error(`fmas: search log ${path} has no header line; it was not written by fmas-search`);
      if (rec.fingerprint !== fingerprint) throw new Error(`fmas: search log ${path} was written by a different search (space, data, seed or options differ); use a new log path`);
      return;
    }
    cache.set(genomeKey(rec.genome!), rec as EvaluationRecord<X>);
  });
  return cache;
}

export async function batchedNsga2<X>(space: CategoricalSpace, evaluate: EvaluateBatch<X>, opts: BatchedNsga2Options): Promise<BatchedNsga2Result<X>> {
  validateSpace(space);
  const rng = new Rng(opts.seed ?? 0);
  const nGenes = space.genes.length;
  const budget = Math.min(opts.evaluations, spaceSize(space));
  const popSize = Math.min(opts.population ?? 40, budget);
  const pc = opts.crossover ?? 0.9;
  const pm = opts.mutation ?? 1 / nGenes;
  if (popSize < 2) throw new Error(`fmas: population must be at least 2 (got ${popSize})`);
  const fingerprint = JSON.stringify({ fingerprint: opts.fingerprint ?? null, seed: opts.seed ?? 0, budget, popSize, pc, pm, genes: space.genes });
  const cache = opts.log ? readLog<X>(opts.log, fingerprint) : new Map<string, EvaluationRecord<X>>();
  if (opts.log && !existsSync(opts.log)) {
    mkdirSync(dirname(opts.log), { recursive: true });
    writeFileSync(opts.log, `${JSON.stringify({ type: 'header', fingerprint })}\n`);
  }

  const trials: (Trial<number[]> & { extra: X })[] = [];
  let evaluatedNow = 0;
  let interrupted = false;
  const run = async (genomes: Genome[], round: number): Promise<number[]> => {
    const base = trials.length;
    const missing = genomes.map((g, i) => ({ g, id: base + i })).filter(({ g }) => !cache.has(genomeKey(g)));
    if (missing.length && opts.signal?.aborted) {
      interrupted = true;
      return [];
    }
    // Each result is logged as soon as it arrives, so a kill loses only the candidates in flight.
    const record = (j: number, o: BatchOutcome<X>): void => {
      const { g, id } = missing[j]!;
      if (cache.has(genomeKey(g))) return;
      const rec: EvaluationRecord<X> = { id, round, genome: g, objectives: [...o.objectives], wallMs: o.wallMs, extra: o.extra };
      cache.set(genomeKey(g), rec);
      evaluatedNow++;
      if (opts.log) appendFileSync(opts.log, `${JSON.stringify(rec)}\n`);
    };
    if (missing.length) {
      const outcomes = await evaluate(missing.map((m) => m.g), record);
      outcomes.forEach((o, j) => record(j, o));
    }
    return genomes.map((g) => {
      const rec = cache.get(genomeKey(g))!;
      const id = trials.length;
      trials.push({ id, genome: g, value: rec.objectives, wallMs: rec.wallMs, round, extra: rec.extra });
      return id;
    });
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
  return { trials, population: pop, front, evaluatedNow, interrupted };
}

/** The evaluation records of a search log (header skipped), in the order they were written. */
export function readSearchLog<X = Record<string, unknown>>(path: string): EvaluationRecord<X>[] {
  return readFileSync(path, 'utf8').split('\n').filter((l) => l.trim()).slice(1).flatMap((l) => {
    try {
      return [JSON.parse(l) as EvaluationRecord<X>];
    } catch {
      return [];
    }
  });
}
