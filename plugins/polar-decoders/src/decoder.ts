import type { PolarCode } from './code.js';

/**
 * Per-frame statistics. `latency` and `complexity` come from the documented model in latency.ts
 * (model estimates, not hardware measurements) and include every extra attempt of a flip decoder.
 */
export interface DecodeStats {
  /** Model time steps, summed over all attempts (GRAND: P-checker cycles). */
  latency: number;
  /** Model scalar operations, summed over all attempts (GRAND: syndrome checks). */
  complexity: number;
  /** Decodings run: 1 + extra flip attempts (1 for non-flip decoders). */
  attempts: number;
  /** GRAND family: error patterns tested (0 for SC-family decoders). */
  queries: number;
  /** Whether the output passes the CRC (GRAND: whether a codeword was found before abandoning). */
  valid: boolean;
}

export function emptyStats(): DecodeStats {
  return { latency: 0, complexity: 0, attempts: 0, queries: 0, valid: false };
}

/** One decoder interface for every algorithm in this package. */
export interface PolarDecoder {
  /** Registry name plus options, e.g. "fast-scl(L=8,nodes=exact)". */
  readonly name: string;
  readonly code: PolarCode;
  /**
   * Decodes channel LLRs (length N, positive = bit 0) and writes the K_info message bits into
   * `message`. Returns this decoder's stats object, overwritten by the next call. Does not allocate.
   */
  decode(llr: Float32Array, message: Uint8Array): DecodeStats;
  /** The codeword estimate x̂ of the last decode (owned by the decoder). */
  readonly codeword: Uint8Array;
}

/** Decoders with a trainable parameter (Fast-SCLF's path-selection error model). */
export interface TrainableDecoder extends PolarDecoder {
  learning: boolean;
  readonly parameter: number;
}

export function isTrainable(d: PolarDecoder): d is TrainableDecoder {
  return typeof (d as Partial<TrainableDecoder>).learning === 'boolean';
}
