import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { PolarParameterError, requireInteger } from './errors.js';
import {
  addTally, BatchRunner, emptyTally, normalizeSweepConfig, type NormalizedSweepConfig, type SweepConfig, type Tally,
} from './sweep-core.js';

export type { SweepConfig } from './sweep-core.js';

export interface PointResult {
  ebn0Db: number;
  frames: number;
  frameErrors: number;
  bitErrors: number;
  fer: number;
  ber: number;
  /** Frames whose output failed the CRC (GRAND: abandoned). */
  invalid: number;
  avgLatency: number;
  maxLatency: number;
  avgComplexity: number;
  avgQueries: number;
  maxQueries: number;
  avgAttempts: number;
  maxAttempts: number;
  /** Trained error-model parameter α at this point (trainable decoders), else null. */
  trainedParameter: number | null;
  stoppedBy: 'errors' | 'frames' | 'time';
  seconds: number;
}

export interface SweepResult {
  config: NormalizedSweepConfig;
  points: PointResult[];
  /** True when the run was aborted before all points finished (the state file can resume it). */
  interrupted: boolean;
}

export interface SweepProgress {
  point: number;
  ebn0Db: number;
  frames: number;
  frameErrors: number;
  fer: number;
  /** True on the last report of a point. */
  pointDone: boolean;
}

export interface SweepRunOptions {
  /** Worker threads; 0 runs in this thread (default 0). Results do not depend on this number. */
  workers?: number;
  /** JSON state file written atomically after each batch; a rerun with the same config resumes. */
  stateFile?: string;
  onProgress?: (p: SweepProgress) => void;
  /** Aborting stops after the current batch; the state file keeps what was done. */
  signal?: AbortSignal;
}

interface CurrentPoint {
  point: number;
  nextBatch: number;
  tally: Tally;
  seconds: number;
  trainedParameter: number | null;
}

interface SweepState {
  version: 1;
  key: string;
  points: PointResult[];
  current: CurrentPoint | null;
}

function stateKey(c: NormalizedSweepConfig): string {
  return JSON.stringify({ ...c, maxSeconds: Number.isFinite(c.maxSeconds) ? c.maxSeconds : null });
}

function writeAtomic(path: string, content: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, content);
  renameSync(tmp, path);
}

function pointResult(c: NormalizedSweepConfig, cur: CurrentPoint, stoppedBy: PointResult['stoppedBy']): PointResult {
  const t = cur.tally;
  const f = Math.max(1, t.frames);
  return {
    ebn0Db: c.ebn0[cur.point]!,
    frames: t.frames,
    frameErrors: t.frameErrors,
    bitErrors: t.bitErrors,
    fer: t.frameErrors / f,
    ber: t.bitErrors / (f * c.code.k),
    invalid: t.invalid,
    avgLatency: t.latencySum / f,
    maxLatency: t.latencyMax,
    avgComplexity: t.complexitySum / f,
    avgQueries: t.queriesSum / f,
    maxQueries: t.queriesMax,
    avgAttempts: t.attemptsSum / f,
    maxAttempts: t.attemptsMax,
    trainedParameter: cur.trainedParameter,
    stoppedBy,
    seconds: cur.seconds,
  };
}

/** Source of batch tallies: this thread, or a pool of workers. */
interface Executor {
  submit(point: number, batch: number): void;
  next(): Promise<{ point: number; batch: number; tally: Tally; trainedParameter: number }>;
  capacity: number;
  close(): Promise<void>;
}

class InlineExecutor implements Executor {
  readonly capacity = 1;
  private readonly runner: BatchRunner;
  private readonly queue: { point: number; batch: number }[] = [];
  constructor(c: NormalizedSweepConfig) {
    this.runner = new BatchRunner(c);
  }
  submit(point: number, batch: number): void {
    this.queue.push({ point, batch });
  }
  async next(): Promise<{ point: number; batch: number; tally: Tally; trainedParameter: number }> {
    await new Promise<void>((r) => setImmediate(r));
    const job = this.queue.shift();
    if (!job) throw new Error('internal: no batch submitted');
    return { ...job, tally: this.runner.run(job.point, job.batch), trainedParameter: this.runner.trainedParameter };
  }
  async close(): Promise<void> {}
}

type WorkerReply = { point: number; batch: number; tally?: Tally; trainedParameter?: number; error?: string };

class WorkerExecutor implements Executor {
  readonly capacity: number;
  private readonly workers: Worker[] = [];
  private readonly inflight: number[] = [];
  private readonly done: WorkerReply[] = [];
  private waiter: ((r: WorkerReply) => void) | null = null;
  private failure: Error | null = null;

  constructor(c: NormalizedSweepConfig, count: number) {
    this.capacity = 2 * count;
    const ts = import.meta.url.endsWith('.ts');
    const entry = new URL(ts ? './sim-worker.ts' : './sim-worker.js', import.meta.url);
    for (let i = 0; i < count; i++) {
      const w = ts
        ? new Worker(new URL('./worker-boot.mjs', import.meta.url), { workerData: { entry: entry.href, config: c } })
        : new Worker(entry, { workerData: { config: c } });
      const idx = i;
      w.on('message', (m: WorkerReply) => {
        this.inflight[idx]!--;
        this.deliver(m);
      });
      w.on('error', (e) => {
        this.failure = e;
        this.deliver({ point: -1, batch: -1, error: e.message });
      });
      this.workers.push(w);
      this.inflight.push(0);
    }
  }

  private deliver(m: WorkerReply): void {
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w(m);
    } else this.done.push(m);
  }

  submit(point: number, batch: number): void {
    let best = 0;
    for (let i = 1; i < this.workers.length; i++) if (this.inflight[i]! < this.inflight[best]!) best = i;
    this.inflight[best]!++;
    this.workers[best]!.postMessage({ point, batch });
  }

  async next(): Promise<{ point: number; batch: number; tally: Tally; trainedParameter: number }> {
    const m = this.done.shift() ?? (await new Promise<WorkerReply>((r) => (this.waiter = r)));
    if (m.error !== undefined || !m.tally) throw this.failure ?? new Error(`simulation worker failed: ${m.error}`);
    return { point: m.point, batch: m.batch, tally: m.tally, trainedParameter: m.trainedParameter ?? Number.NaN };
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/**
 * Monte-Carlo FER/BER sweep. Batches of frames are folded in batch order and a point stops after
 * the first batch at which its frame-error target or frame cap is reached, so counts are identical
 * for any number of workers (the time cap, if set, is the exception).
 */
export async function simulate(config: SweepConfig, options: SweepRunOptions = {}): Promise<SweepResult> {
  const c = normalizeSweepConfig(config);
  const workers = requireInteger('workers', options.workers ?? 0, 0, 256);
  const key = stateKey(c);
  let state: SweepState = { version: 1, key, points: [], current: null };
  if (options.stateFile && existsSync(options.stateFile)) {
    const saved = JSON.parse(readFileSync(options.stateFile, 'utf8')) as SweepState;
    if (saved.key !== key) {
      throw new PolarParameterError(
        'stateFile',
        `${options.stateFile} belongs to a different sweep configuration; delete it or choose another stateFile`,
      );
    }
    state = saved;
  }
  const save = (): void => {
    if (options.stateFile) writeAtomic(options.stateFile, JSON.stringify(state));
  };
  const exec: Executor = workers === 0 ? new InlineExecutor(c) : new WorkerExecutor(c, workers);
  let interrupted = false;
  try {
    for (let point = state.points.length; point < c.ebn0.length; point++) {
      const cur: CurrentPoint =
        state.current && state.current.point === point
          ? state.current
          : { point, nextBatch: 0, tally: emptyTally(), seconds: 0, trainedParameter: null };
      state.current = cur;
      const maxBatches = Math.ceil(c.maxFrames / c.batchSize);
      let submitted = cur.nextBatch;
      let inflight = 0;
      const pending = new Map<number, { tally: Tally; trainedParameter: number }>();
      let stoppedBy: PointResult['stoppedBy'] | null = null;
      let t0 = performance.now();
      const stopNow = (): PointResult['stoppedBy'] | null => {
        if (cur.tally.frameErrors >= c.frameErrors) return 'errors';
        if (cur.tally.frames >= c.maxFrames || cur.nextBatch >= maxBatches) return 'frames';
        if (cur.seconds >= c.maxSeconds) return 'time';
        return null;
      };
      stoppedBy = stopNow();
      while (stoppedBy === null) {
        if (options.signal?.aborted) {
          interrupted = true;
          break;
        }
        while (inflight < exec.capacity && submitted < maxBatches) {
          exec.submit(point, submitted++);
          inflight++;
        }
        const r = await exec.next();
        inflight--;
        if (r.point !== point) continue;
        pending.set(r.batch, r);
        while (stoppedBy === null && pending.has(cur.nextBatch)) {
          const done = pending.get(cur.nextBatch)!;
          pending.delete(cur.nextBatch);
          addTally(cur.tally, done.tally);
          if (Number.isFinite(done.trainedParameter)) cur.trainedParameter = done.trainedParameter;
          cur.nextBatch++;
          const now = performance.now();
          cur.seconds += (now - t0) / 1000;
          t0 = now;
          stoppedBy = stopNow();
          save();
          options.onProgress?.({
            point, ebn0Db: c.ebn0[point]!, frames: cur.tally.frames, frameErrors: cur.tally.frameErrors,
            fer: cur.tally.frameErrors / Math.max(1, cur.tally.frames), pointDone: stoppedBy !== null,
          });
        }
      }
      // Drain batches still running in workers so that the next point starts with free workers.
      while (inflight > 0) {
        await exec.next();
        inflight--;
      }
      if (interrupted) break;
      state.points.push(pointResult(c, cur, stoppedBy!));
      state.current = null;
      save();
    }
  } finally {
    await exec.close();
  }
  return { config: c, points: state.points, interrupted };
}

/** CSV in the reference tables' columns plus model latency, complexity, queries and attempts. */
export function sweepToCsv(result: SweepResult): string {
  const head = 'ebn0_db,fer,ber,frames,frame_errors,avg_latency,max_latency,avg_complexity,avg_queries,max_queries,avg_attempts,max_attempts';
  const rows = result.points.map((p) =>
    [
      p.ebn0Db.toFixed(2), p.fer.toExponential(6), p.ber.toExponential(6), p.frames, p.frameErrors,
      p.avgLatency.toFixed(2), p.maxLatency, p.avgComplexity.toFixed(1), p.avgQueries.toFixed(2), p.maxQueries,
      p.avgAttempts.toFixed(4), p.maxAttempts,
    ].join(','),
  );
  return [head, ...rows].join('\n') + '\n';
}
