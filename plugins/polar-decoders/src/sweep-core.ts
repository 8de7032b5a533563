import { AwgnFrameSource } from './channel.js';
import { PolarCode, type PolarCodeOptions } from './code.js';
import { isTrainable, type PolarDecoder } from './decoder.js';
import { PolarParameterError, requireFinite, requireInteger } from './errors.js';
import { createDecoder, type DecoderSpec } from './registry.js';

/** What a sweep simulates; every field that changes the numbers is part of the resume key. */
export interface SweepConfig {
  code: PolarCodeOptions;
  decoder: DecoderSpec;
  /** Eb/N0 points in dB (R = K_info/N). */
  ebn0: number[];
  /** Seed of the counter-based frame generator (default 1). */
  seed?: number;
  /** Stop a point at this many frame errors (default 100). */
  frameErrors?: number;
  /** Stop a point at this many frames (default 10,000,000). */
  maxFrames?: number;
  /** Stop a point after this many seconds (wall clock; makes results depend on speed). */
  maxSeconds?: number;
  /** Frames per batch, the unit of work, stopping and checkpointing (default 128). */
  batchSize?: number;
  /** Trainable decoders (Fast-SCLF): frames of the online-training pass run before each point (default 300). */
  trainFrames?: number;
}

export interface NormalizedSweepConfig {
  code: PolarCodeOptions;
  decoder: DecoderSpec;
  ebn0: number[];
  seed: number;
  frameErrors: number;
  maxFrames: number;
  maxSeconds: number;
  batchSize: number;
  trainFrames: number;
}

export function normalizeSweepConfig(c: SweepConfig): NormalizedSweepConfig {
  if (!Array.isArray(c.ebn0) || c.ebn0.length === 0) {
    throw new PolarParameterError('ebn0', 'expected a non-empty list of Eb/N0 values in dB');
  }
  c.ebn0.forEach((v, i) => requireFinite(`ebn0[${i}]`, v, -20, 40));
  const n: NormalizedSweepConfig = {
    code: c.code,
    decoder: c.decoder,
    ebn0: [...c.ebn0],
    seed: requireInteger('seed', c.seed ?? 1, 0, 2 ** 32 - 1),
    frameErrors: requireInteger('frameErrors', c.frameErrors ?? 100, 1, 1e12),
    maxFrames: requireInteger('maxFrames', c.maxFrames ?? 10_000_000, 1, 1e15),
    maxSeconds: c.maxSeconds === undefined ? Infinity : requireFinite('maxSeconds', c.maxSeconds, 0),
    batchSize: requireInteger('batchSize', c.batchSize ?? 128, 1, 1 << 24),
    trainFrames: requireInteger('trainFrames', c.trainFrames ?? 300, 0, 1e9),
  };
  // Construct once here so that bad code/decoder parameters fail before any worker starts.
  const code = new PolarCode(n.code);
  createDecoder(code, n.decoder);
  return n;
}

/** Sums over a batch (or a point). */
export interface Tally {
  frames: number;
  frameErrors: number;
  bitErrors: number;
  invalid: number;
  latencySum: number;
  latencyMax: number;
  complexitySum: number;
  queriesSum: number;
  queriesMax: number;
  attemptsSum: number;
  attemptsMax: number;
}

export function emptyTally(): Tally {
  return {
    frames: 0, frameErrors: 0, bitErrors: 0, invalid: 0, latencySum: 0, latencyMax: 0, complexitySum: 0,
    queriesSum: 0, queriesMax: 0, attemptsSum: 0, attemptsMax: 0,
  };
}

export function addTally(into: Tally, t: Tally): void {
  into.frames += t.frames;
  into.frameErrors += t.frameErrors;
  into.bitErrors += t.bitErrors;
  into.invalid += t.invalid;
  into.latencySum += t.latencySum;
  into.latencyMax = Math.max(into.latencyMax, t.latencyMax);
  into.complexitySum += t.complexitySum;
  into.queriesSum += t.queriesSum;
  into.queriesMax = Math.max(into.queriesMax, t.queriesMax);
  into.attemptsSum += t.attemptsSum;
  into.attemptsMax = Math.max(into.attemptsMax, t.attemptsMax);
}

/** Stream id of the training frames of point j (disjoint from the measured frames' stream j). */
export const TRAIN_STREAM_OFFSET = 1 << 20;

/**
 * Runs batches of a sweep. Frame f of point j depends only on (seed, j, f); a trainable decoder is
 * rebuilt per point and trained on its own deterministic frames, then frozen, so a batch's tally
 * does not depend on which worker ran it.
 */
export class BatchRunner {
  readonly config: NormalizedSweepConfig;
  readonly code: PolarCode;
  private readonly source: AwgnFrameSource;
  private readonly decoded: Uint8Array;
  private decoder: PolarDecoder | null = null;
  private point = -1;
  /** Error-model parameter after training at the current point (trainable decoders), else NaN. */
  trainedParameter = Number.NaN;

  constructor(config: NormalizedSweepConfig) {
    this.config = config;
    this.code = new PolarCode(config.code);
    this.source = new AwgnFrameSource(this.code, config.seed);
    this.decoded = new Uint8Array(this.code.kInfo);
  }

  private decoderFor(point: number): PolarDecoder {
    if (this.decoder && this.point === point) return this.decoder;
    const d = createDecoder(this.code, this.config.decoder);
    this.point = point;
    this.decoder = d;
    this.trainedParameter = Number.NaN;
    if (isTrainable(d)) {
      const ebn0 = this.config.ebn0[point]!;
      if (d.learning) {
        for (let f = 0; f < this.config.trainFrames; f++) {
          this.source.generate(TRAIN_STREAM_OFFSET + point, f, ebn0);
          d.decode(this.source.llr, this.decoded);
        }
      }
      d.learning = false;
      this.trainedParameter = d.parameter;
    }
    return d;
  }

  run(point: number, batch: number): Tally {
    const c = this.config;
    const d = this.decoderFor(point);
    const ebn0 = c.ebn0[point]!;
    const first = batch * c.batchSize;
    const last = Math.min(first + c.batchSize, c.maxFrames);
    const t = emptyTally();
    const k = this.code.kInfo;
    for (let f = first; f < last; f++) {
      this.source.generate(point, f, ebn0);
      const st = d.decode(this.source.llr, this.decoded);
      let be = 0;
      for (let i = 0; i < k; i++) be += this.decoded[i]! ^ this.source.message[i]!;
      t.frames++;
      if (be > 0) t.frameErrors++;
      t.bitErrors += be;
      if (!st.valid) t.invalid++;
      t.latencySum += st.latency;
      if (st.latency > t.latencyMax) t.latencyMax = st.latency;
      t.complexitySum += st.complexity;
      t.queriesSum += st.queries;
      if (st.queries > t.queriesMax) t.queriesMax = st.queries;
      t.attemptsSum += st.attempts;
      if (st.attempts > t.attemptsMax) t.attemptsMax = st.attempts;
    }
    return t;
  }
}
