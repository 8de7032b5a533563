/**
 * A resumable NSGA-II: @tessera/search's `nsga2` with batch evaluation (a generation's candidates
 * go to parallel workers together), plus a JSONL log of every evaluation.
 *
 * Resume: every finished evaluation is appended to the log at once. A rerun with the same log
 * replays the deterministic search; genomes already in the log take their logged objectives
 * instead of being evaluated again, so an interrupted search ends where an uninterrupted one does.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { genomeKey, nsga2, spaceSize, type CategoricalSpace, type Genome, type Nsga2Options, type Trial } from '@tessera/search';

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

export interface ResumableNsga2Options extends Nsga2Options {
  /** JSONL file: a header line, then one line per evaluated candidate. Reused (resumed) when it exists. */
  log?: string;
  /** Anything that identifies the search (space, data, options): a log written for another search is refused. */
  fingerprint?: unknown;
}

export interface ResumableNsga2Result<X> {
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

/**
 * `nsga2` over batches, logged and resumable. `signal` is checked between batches: an aborted
 * search stops after the batch in flight, its results logged.
 */
export async function resumableNsga2<X>(space: CategoricalSpace, evaluate: EvaluateBatch<X>, opts: ResumableNsga2Options): Promise<ResumableNsga2Result<X>> {
  // nsga2's defaults, resolved here because the log's fingerprint records them.
  const budget = Math.min(opts.evaluations, spaceSize(space));
  const popSize = Math.min(opts.population ?? 40, budget);
  const pc = opts.crossover ?? 0.9;
  const pm = opts.mutation ?? 1 / space.genes.length;
  if (popSize < 2) throw new Error(`fmas: population must be at least 2 (got ${popSize})`);
  const fingerprint = JSON.stringify({ fingerprint: opts.fingerprint ?? null, seed: opts.seed ?? 0, budget, popSize, pc, pm, genes: space.genes });
  const cache = opts.log ? readLog<X>(opts.log, fingerprint) : new Map<string, EvaluationRecord<X>>();
  if (opts.log && !existsSync(opts.log)) {
    mkdirSync(dirname(opts.log), { recursive: true });
    writeFileSync(opts.log, `${JSON.stringify({ type: 'header', fingerprint })}\n`);
  }

  let evaluatedNow = 0;
  let base = 0; // trials before the current batch: nsga2 numbers a batch's trials base, base + 1, ...
  const evaluateBatch = async (genomes: Genome[], round: number): Promise<number[][]> => {
    const missing = genomes.map((g, i) => ({ g, id: base + i })).filter(({ g }) => !cache.has(genomeKey(g)));
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
    base += genomes.length;
    return genomes.map((g) => cache.get(genomeKey(g))!.objectives);
  };
  const r = await nsga2(space, { evaluateBatch }, { ...opts, evaluations: budget, population: popSize, crossover: pc, mutation: pm });
  // A trial's wall time and extra fields are its evaluation's (possibly logged by an earlier run).
  const trials = r.trials.map((t) => {
    const rec = cache.get(genomeKey(t.genome))!;
    return { ...t, wallMs: rec.wallMs, extra: rec.extra };
  });
  return { trials, population: r.population, front: r.front.map((t) => trials[t.id]!), evaluatedNow, interrupted: r.interrupted };
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
