import type { PolarCode } from '../code.js';
import { emptyStats, type DecodeStats, type PolarDecoder, type TrainableDecoder } from '../decoder.js';
import { PolarParameterError, requireFinite, requireInteger } from '../errors.js';
import { ListEngine } from './list-engine.js';

/** How fast nodes enumerate candidates: 'exact' gives plain SCL's list; 'chase' is AFF3CT's default. */
export type NodeSearch = 'exact' | 'chase';

export interface ListOptions {
  /** List size L (1..1024). */
  L?: number;
  /** Output the best path that passes the CRC (default: true when the code has a CRC). */
  crcSelect?: boolean;
  /** Fast decoders: 'exact' (Rate-1: min(L−1, s) bits, SPC: min(L+1, s) bits) or 'chase' (2 and 4 bits). */
  nodes?: NodeSearch;
  /** Override: Rate-1 bits enumerated per node. */
  rate1Bits?: number;
  /** Override: SPC bits taking part per node, parity fix included. */
  spcBits?: number;
}

export function makeListEngine(code: PolarCode, fast: boolean, options: ListOptions, decoder: string): ListEngine {
  const L = options.L ?? 8;
  requireInteger(`${decoder}.L`, L, 1, 1024);
  const nodes = options.nodes ?? 'exact';
  if (nodes !== 'exact' && nodes !== 'chase') {
    throw new PolarParameterError(`${decoder}.nodes`, `got '${String(nodes)}', expected 'exact' or 'chase'`);
  }
  if (options.rate1Bits !== undefined) requireInteger(`${decoder}.rate1Bits`, options.rate1Bits, 0, code.n);
  if (options.spcBits !== undefined) requireInteger(`${decoder}.spcBits`, options.spcBits, 1, code.n);
  const r1 = options.rate1Bits;
  const spc = options.spcBits;
  return new ListEngine(code.frozen, {
    listSize: L,
    mode: fast ? 'fast' : 'plain',
    rate1Bits: (s) => r1 ?? (nodes === 'exact' ? Math.min(L - 1, s) : 2),
    spcBits: (s) => spc ?? (nodes === 'exact' ? Math.min(L + 1, s) : 4),
  });
}

/** Picks the output path: best metric, or best metric passing the CRC. Returns whether the CRC passed. */
class PathSelector {
  private readonly order: Int32Array;
  private readonly codec: Uint8Array;
  constructor(private readonly code: PolarCode, L: number) {
    this.order = new Int32Array(L);
    this.codec = new Uint8Array(code.kCodec);
  }

  select(e: ListEngine, crcSelect: boolean, message: Uint8Array, codeword: Uint8Array): boolean {
    const ord = this.order;
    const m = e.active;
    for (let j = 0; j < m; j++) {
      const p = e.paths[j]!;
      let k = j;
      while (k > 0 && e.metric[ord[k - 1]!]! > e.metric[p]!) {
        ord[k] = ord[k - 1]!;
        k--;
      }
      ord[k] = p;
    }
    const pool = e.codewordPool();
    const code = this.code;
    let chosen = ord[0]!;
    let valid = false;
    if (crcSelect) {
      for (let j = 0; j < m; j++) {
        code.codecBitsOf(pool, this.codec, e.codewordOffset(ord[j]!));
        if (code.crcPasses(this.codec)) {
          chosen = ord[j]!;
          valid = true;
          break;
        }
      }
    }
    const off = e.codewordOffset(chosen);
    for (let i = 0; i < code.n; i++) codeword[i] = pool[off + i]!;
    code.codecBitsOf(codeword, this.codec);
    if (!crcSelect) valid = code.crcPasses(this.codec);
    for (let i = 0; i < code.kInfo; i++) message[i] = this.codec[i]!;
    return valid;
  }
}

/** SCL, CA-SCL (plain tree) and Fast-SCL (pruned tree). */
export class ListDecoder implements PolarDecoder {
  readonly name: string;
  readonly code: PolarCode;
  readonly codeword: Uint8Array;
  readonly engine: ListEngine;
  readonly crcSelect: boolean;
  private readonly selector: PathSelector;
  private readonly stats = emptyStats();

  constructor(code: PolarCode, kind: 'scl' | 'ca-scl' | 'fast-scl', options: ListOptions = {}) {
    const fast = kind === 'fast-scl';
    this.engine = makeListEngine(code, fast, options, kind);
    if (kind === 'ca-scl' && !code.crc) {
      throw new PolarParameterError('crc', "decoder 'ca-scl' needs a code with a CRC, got crc 'none'");
    }
    this.crcSelect = kind === 'scl' ? false : kind === 'ca-scl' ? true : (options.crcSelect ?? code.crc !== null);
    if (this.crcSelect && !code.crc) throw new PolarParameterError(`${kind}.crcSelect`, 'true needs a code with a CRC');
    this.code = code;
    this.name = `${kind}(L=${this.engine.L}${fast ? `,nodes=${options.nodes ?? 'exact'}` : ''}${this.crcSelect ? ',crc' : ''})`;
    this.codeword = new Uint8Array(code.n);
    this.selector = new PathSelector(code, this.engine.L);
    this.stats.attempts = 1;
  }

  decode(llr: Float32Array, message: Uint8Array): DecodeStats {
    this.engine.run(llr);
    this.stats.valid = this.selector.select(this.engine, this.crcSelect, message, this.codeword);
    this.stats.latency = this.engine.latency;
    this.stats.complexity = this.engine.complexity;
    return this.stats;
  }
}

export interface ListFlipOptions extends ListOptions {
  /** Maximum extra decoding attempts T_max. */
  tMax?: number;
  /** Initial (or fixed) error-model parameter α. */
  alpha?: number;
  /** Learn α online from successful flips (supervised by the CRC). Default true for fast-sclf. */
  learn?: boolean;
  /** Learning rate of the α update. */
  learningRate?: number;
  /** Number of successful flips averaged per α update. */
  window?: number;
}

/**
 * SCL-Flip (plain tree) and Fast-SCLF (pruned tree; flips happen inside fast-node candidate
 * generation, so no re-descent to single bits). After a CRC failure of the initial decoding, the
 * decision steps are ranked by the path-selection error model [R]:
 *   score_i(α) = ln Σ_{discarded at i} e^{−α·PM} − ln Σ_{kept at i} e^{−α·PM},
 * and up to T_max re-decodings each keep the discarded candidates at one step. When learning, a
 * successful flip at i* moves α along the gradient of ln softmax(score)_{i*} (window average).
 */
export class ListFlipDecoder implements TrainableDecoder {
  readonly name: string;
  readonly code: PolarCode;
  readonly codeword: Uint8Array;
  readonly engine: ListEngine;
  readonly tMax: number;
  learning: boolean;
  private alpha: number;
  private readonly learningRate: number;
  private readonly window: number;
  private gradSum = 0;
  private gradCount = 0;
  private readonly selector: PathSelector;
  private readonly stats = emptyStats();
  private readonly score: Float64Array;
  private readonly dscore: Float64Array;
  private readonly top: Int32Array;
  private readonly topScore: Float64Array;
  private readonly initialMessage: Uint8Array;
  private readonly initialCodeword: Uint8Array;
  /** Successful flips by candidate rank (0 = best ranked), for reports. */
  readonly successRank: Int32Array;

  constructor(code: PolarCode, kind: 'scl-flip' | 'fast-sclf', options: ListFlipOptions = {}) {
    if (!code.crc) throw new PolarParameterError('crc', `decoder '${kind}' needs a code with a CRC, got crc 'none'`);
    this.engine = makeListEngine(code, kind === 'fast-sclf', options, kind);
    this.tMax = requireInteger(`${kind}.tMax`, options.tMax ?? Math.min(10, this.engine.maxSteps), 0, Math.max(0, this.engine.maxSteps));
    this.alpha = requireFinite(`${kind}.alpha`, options.alpha ?? 1, 1e-3, 1e3);
    this.learning = options.learn ?? kind === 'fast-sclf';
    this.learningRate = requireFinite(`${kind}.learningRate`, options.learningRate ?? 0.05, 0, 10);
    this.window = requireInteger(`${kind}.window`, options.window ?? 8, 1, 1_000_000);
    this.code = code;
    this.name = `${kind}(L=${this.engine.L},T=${this.tMax}${kind === 'fast-sclf' ? `,nodes=${options.nodes ?? 'exact'}` : ''})`;
    this.codeword = new Uint8Array(code.n);
    this.selector = new PathSelector(code, this.engine.L);
    const steps = Math.max(1, this.engine.maxSteps);
    this.score = new Float64Array(steps);
    this.dscore = new Float64Array(steps);
    this.top = new Int32Array(Math.max(1, this.tMax));
    this.topScore = new Float64Array(Math.max(1, this.tMax));
    this.initialMessage = new Uint8Array(code.kInfo);
    this.initialCodeword = new Uint8Array(code.n);
    this.successRank = new Int32Array(Math.max(1, this.tMax));
  }

  /** Current error-model parameter α. */
  get parameter(): number {
    return this.alpha;
  }

  set parameter(v: number) {
    this.alpha = v;
  }

  /** score_i and d score_i / dα for the recorded steps of the initial decoding. */
  private computeScores(steps: number): void {
    const e = this.engine;
    const L = e.L;
    const a = this.alpha;
    for (let s = 0; s < steps; s++) {
      let ls = 0;
      let dd = 0;
      for (let set = 0; set < 2; set++) {
        const arr = set === 0 ? e.recDisc : e.recKept;
        const cnt = set === 0 ? e.recDiscCount[s]! : e.recKeptCount[s]!;
        let mn = Infinity;
        for (let j = 0; j < cnt; j++) mn = Math.min(mn, arr[s * L + j]!);
        let z = 0;
        let zpm = 0;
        for (let j = 0; j < cnt; j++) {
          const pm = arr[s * L + j]!;
          const w = Math.exp(-a * (pm - mn));
          z += w;
          zpm += w * pm;
        }
        const lse = -a * mn + Math.log(z);
        const mean = zpm / z; // d lse / dα = −E[PM]
        if (set === 0) (ls += lse), (dd -= mean);
        else (ls -= lse), (dd += mean);
      }
      this.score[s] = ls;
      this.dscore[s] = dd;
    }
  }

  private learn(steps: number, target: number): void {
    let mx = -Infinity;
    for (let s = 0; s < steps; s++) mx = Math.max(mx, this.score[s]!);
    let z = 0;
    let zd = 0;
    for (let s = 0; s < steps; s++) {
      const w = Math.exp(this.score[s]! - mx);
      z += w;
      zd += w * this.dscore[s]!;
    }
    this.gradSum += this.dscore[target]! - zd / z;
    if (++this.gradCount >= this.window) {
      this.alpha = Math.min(20, Math.max(0.05, this.alpha + (this.learningRate * this.gradSum) / this.gradCount));
      this.gradSum = 0;
      this.gradCount = 0;
    }
  }

  decode(llr: Float32Array, message: Uint8Array): DecodeStats {
    const e = this.engine;
    const st = this.stats;
    e.flipStep = -1;
    e.recording = true;
    e.run(llr);
    e.recording = false;
    st.attempts = 1;
    st.latency = e.latency;
    st.complexity = e.complexity;
    st.valid = this.selector.select(e, true, message, this.codeword);
    if (st.valid || this.tMax === 0) return st;
    const steps = e.step;
    if (steps === 0) return st;
    this.initialMessage.set(message);
    this.initialCodeword.set(this.codeword);
    this.computeScores(steps);
    // The T_max highest scores, in decreasing order (ties: earlier step first).
    let count = 0;
    const T = this.tMax;
    for (let s = 0; s < steps; s++) {
      const v = this.score[s]!;
      if (count === T && v <= this.topScore[T - 1]!) continue;
      let k = count < T ? count++ : T - 1;
      while (k > 0 && this.topScore[k - 1]! < v) {
        this.topScore[k] = this.topScore[k - 1]!;
        this.top[k] = this.top[k - 1]!;
        k--;
      }
      this.topScore[k] = v;
      this.top[k] = s;
    }
    for (let r = 0; r < count; r++) {
      e.flipStep = this.top[r]!;
      e.run(llr);
      st.attempts++;
      st.latency += e.latency;
      st.complexity += e.complexity;
      if (this.selector.select(e, true, message, this.codeword)) {
        st.valid = true;
        this.successRank[r]!++;
        if (this.learning) this.learn(steps, this.top[r]!);
        break;
      }
    }
    e.flipStep = -1;
    if (!st.valid) {
      message.set(this.initialMessage);
      this.codeword.set(this.initialCodeword);
    }
    return st;
  }
}
