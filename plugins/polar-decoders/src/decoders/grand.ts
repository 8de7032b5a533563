import type { PolarCode } from '../code.js';
import { emptyStats, type DecodeStats, type PolarDecoder } from '../decoder.js';
import { PolarParameterError, requireInteger } from '../errors.js';

/**
 * Parity-check matrix of the (CRC-aided) polar code as a linear (N, K_info) code, stored by
 * column, bit-packed in `words` 32-bit words per column. Built from the generator rows
 * (encodings of unit messages) by Gaussian elimination.
 */
export class ParityCheck {
  readonly n: number;
  readonly k: number;
  readonly rows: number;
  readonly words: number;
  readonly columns: Int32Array;

  constructor(code: PolarCode) {
    const n = code.n;
    const k = code.kInfo;
    this.n = n;
    this.k = k;
    this.rows = n - k;
    this.words = Math.max(1, Math.ceil(this.rows / 32));
    const g: Uint8Array[] = [];
    const msg = new Uint8Array(k);
    for (let i = 0; i < k; i++) {
      msg.fill(0);
      msg[i] = 1;
      const row = new Uint8Array(n);
      code.encode(msg, row);
      g.push(row);
    }
    // Reduced row echelon form.
    const pivots: number[] = [];
    let r = 0;
    for (let c = 0; c < n && r < k; c++) {
      let p = r;
      while (p < k && !g[p]![c]) p++;
      if (p === k) continue;
      [g[r], g[p]] = [g[p]!, g[r]!];
      for (let i = 0; i < k; i++) {
        if (i !== r && g[i]![c]) for (let j = 0; j < n; j++) g[i]![j]! ^= g[r]![j]!;
      }
      pivots.push(c);
      r++;
    }
    if (r !== k) throw new Error(`internal: generator of ${code.label} has rank ${r} < ${k}`);
    const isPivot = new Uint8Array(n);
    for (const c of pivots) isPivot[c] = 1;
    this.columns = new Int32Array(n * this.words);
    let row = 0;
    for (let c = 0; c < n; c++) {
      if (isPivot[c]) continue;
      // Check row `row`: x_c + Σ_i G[i][c]·x_{pivot_i} = 0.
      this.setBit(c, row);
      for (let i = 0; i < k; i++) if (g[i]![c]) this.setBit(pivots[i]!, row);
      row++;
    }
  }

  private setBit(column: number, row: number): void {
    this.columns[column * this.words + (row >>> 5)]! ^= 1 << (row & 31);
  }

  /** Syndrome of a hard-decision word into out[0..words). */
  syndrome(bits: Uint8Array, out: Int32Array): void {
    const w = this.words;
    out.fill(0, 0, w);
    for (let j = 0; j < this.n; j++) {
      if (bits[j]) for (let t = 0; t < w; t++) out[t]! ^= this.columns[j * w + t]!;
    }
  }
}

export interface GrandOptions {
  /** Abandon after this many syndrome checks (queries). */
  maxQueries?: number;
  /** Hard GRAND: largest Hamming weight tested; ORBGRAND: largest (generalised) logistic weight. */
  maxWeight?: number;
  /** Parallel syndrome checkers P of the cycle model (cycles = ⌈queries / P⌉). */
  checkers?: number;
}

export interface OrbGrandOptions extends GrandOptions {
  /** 'basic' (logistic weight = sum of ranks) or '1-line' (reliability of rank i modelled as c + β·i). */
  variant?: 'basic' | '1-line';
  /** 1-line: number of least reliable ranks the line is fitted to (default N/2). */
  lineFitRanks?: number;
}

export interface StepGrandOptions extends GrandOptions {
  /** Number of reliability levels Q: rank r has level ⌈r·Q/N⌉. */
  levels?: number;
  /** Steps tested before abandoning (step s = all patterns of quantised weight s). */
  maxSteps?: number;
}

/** Shared machinery: hard decisions, syndrome, pattern bookkeeping, output. */
abstract class GrandBase implements PolarDecoder {
  abstract readonly name: string;
  readonly code: PolarCode;
  readonly codeword: Uint8Array;
  readonly H: ParityCheck;
  readonly maxQueries: number;
  readonly checkers: number;
  protected readonly stats = emptyStats();
  protected readonly hard: Uint8Array;
  /** Partial syndromes by depth: depth d at [d·words, (d+1)·words). */
  protected readonly partial: Int32Array;
  protected readonly pattern: Int32Array;
  protected readonly best: Int32Array;
  protected bestLength = -1;
  protected queries = 0;
  private readonly codec: Uint8Array;

  constructor(code: PolarCode, options: GrandOptions, decoder: string) {
    this.code = code;
    this.H = new ParityCheck(code);
    this.maxQueries = requireInteger(`${decoder}.maxQueries`, options.maxQueries ?? 100_000, 1, 2 ** 40);
    this.checkers = requireInteger(`${decoder}.checkers`, options.checkers ?? 32, 1, 1 << 20);
    this.codeword = new Uint8Array(code.n);
    this.hard = new Uint8Array(code.n);
    this.partial = new Int32Array((code.n + 2) * this.H.words);
    this.pattern = new Int32Array(code.n + 1);
    this.best = new Int32Array(code.n + 1);
    this.codec = new Uint8Array(code.kCodec);
  }

  /** True when partial syndrome at depth d XOR column `col` is zero (one query). */
  protected testAt(d: number, col: number): boolean {
    this.queries++;
    const w = this.H.words;
    const cols = this.H.columns;
    const p = this.partial;
    for (let t = 0; t < w; t++) if ((p[d * w + t]! ^ cols[col * w + t]!) !== 0) return false;
    return true;
  }

  /** partial[d+1] = partial[d] XOR column col. */
  protected push(d: number, col: number): void {
    const w = this.H.words;
    const cols = this.H.columns;
    const p = this.partial;
    for (let t = 0; t < w; t++) p[(d + 1) * w + t] = p[d * w + t]! ^ cols[col * w + t]!;
  }

  protected zeroSyndrome(): boolean {
    this.queries++;
    for (let t = 0; t < this.H.words; t++) if (this.partial[t] !== 0) return false;
    return true;
  }

  protected start(llr: Float32Array): void {
    for (let i = 0; i < this.code.n; i++) this.hard[i] = llr[i]! < 0 ? 1 : 0;
    this.H.syndrome(this.hard, this.partial);
    this.queries = 0;
    this.bestLength = -1;
  }

  protected abstract search(llr: Float32Array): void;

  /** Cycles under the P-checker model for the search just run (step-GRAND overrides). */
  protected cycles(): number {
    return Math.ceil(this.queries / this.checkers);
  }

  decode(llr: Float32Array, message: Uint8Array): DecodeStats {
    this.start(llr);
    this.search(llr);
    const cw = this.codeword;
    cw.set(this.hard);
    const found = this.bestLength >= 0;
    if (found) for (let j = 0; j < this.bestLength; j++) cw[this.best[j]!]! ^= 1;
    this.code.codecBitsOf(cw, this.codec);
    for (let i = 0; i < this.code.kInfo; i++) message[i] = this.codec[i]!;
    const st = this.stats;
    st.attempts = 1;
    st.queries = this.queries;
    st.complexity = this.queries;
    st.latency = this.cycles();
    st.valid = found;
    return st;
  }
}

/** Hard-decision GRAND: patterns by Hamming weight, lexicographic within a weight. */
export class GrandDecoder extends GrandBase {
  readonly name: string;
  readonly maxWeight: number;

  constructor(code: PolarCode, options: GrandOptions = {}) {
    super(code, options, 'grand');
    this.maxWeight = requireInteger('grand.maxWeight', options.maxWeight ?? 3, 0, code.n);
    this.name = `grand(wmax=${this.maxWeight},qmax=${this.maxQueries})`;
  }

  protected search(): void {
    if (this.zeroSyndrome()) {
      this.bestLength = 0;
      return;
    }
    for (let w = 1; w <= this.maxWeight && this.queries < this.maxQueries; w++) {
      if (this.combos(0, 0, w)) return;
    }
  }

  /** Places the remaining `left` flips at positions ≥ from; true when a codeword was found. */
  private combos(depth: number, from: number, left: number): boolean {
    const n = this.code.n;
    if (left === 1) {
      for (let j = from; j < n; j++) {
        if (this.queries >= this.maxQueries) return false;
        if (this.testAt(depth, j)) {
          for (let t = 0; t < depth; t++) this.best[t] = this.pattern[t]!;
          this.best[depth] = j;
          this.bestLength = depth + 1;
          return true;
        }
      }
      return false;
    }
    for (let j = from; j <= n - left; j++) {
      if (this.queries >= this.maxQueries) return false;
      this.pattern[depth] = j;
      this.push(depth, j);
      if (this.combos(depth + 1, j + 1, left - 1)) return true;
    }
    return false;
  }
}

/**
 * Ranks positions by |LLR| (rank 1 = least reliable): perm[r−1] is the position of rank r. Sorts
 * keys (float32 bits of |LLR|)·2^16 + index, exact in float64 and ordered like (|LLR|, index).
 */
export class ReliabilityRanker {
  readonly perm: Int32Array;
  readonly mag: Float32Array;
  private readonly magBits: Int32Array;
  private readonly keys: Float64Array;
  constructor(readonly n: number) {
    if (n > 65536) throw new PolarParameterError('n', `got ${n}, GRAND decoders support N <= 65536`);
    this.perm = new Int32Array(n);
    this.mag = new Float32Array(n);
    this.magBits = new Int32Array(this.mag.buffer);
    this.keys = new Float64Array(n);
  }

  rank(llr: Float32Array): void {
    const n = this.n;
    for (let i = 0; i < n; i++) {
      this.mag[i] = Math.abs(llr[i]!);
      this.keys[i] = this.magBits[i]! * 65536 + i;
    }
    this.keys.sort();
    for (let i = 0; i < n; i++) this.perm[i] = this.keys[i]! % 65536;
  }
}

/**
 * ORBGRAND: patterns in increasing logistic weight (sum of the flipped positions' ranks), i.e.
 * integer partitions into distinct parts ≤ N; within a weight, fewer parts first. '1-line' orders
 * by LW + ρ·h (h = Hamming weight, ρ = round(c/β) from a least-squares line c + β·i fitted to the
 * sorted reliabilities), which reproduces the 1-line ORBGRAND order with an integer offset.
 */
export class OrbGrandDecoder extends GrandBase {
  readonly name: string;
  readonly variant: 'basic' | '1-line';
  readonly maxWeight: number;
  private readonly fitRanks: number;
  private readonly ranker: ReliabilityRanker;
  private readonly perm: Int32Array;
  private readonly mag: Float32Array;
  private readonly rankCols: Int32Array;
  /** ρ of the last 1-line decode (0 for basic). */
  rho = 0;

  constructor(code: PolarCode, options: OrbGrandOptions = {}) {
    super(code, options, 'orbgrand');
    const v = options.variant ?? 'basic';
    if (v !== 'basic' && v !== '1-line') {
      throw new PolarParameterError('orbgrand.variant', `got '${String(v)}', expected 'basic' or '1-line'`);
    }
    this.variant = v;
    const n = code.n;
    this.maxWeight = requireInteger('orbgrand.maxWeight', options.maxWeight ?? (n * (n + 1)) / 2, 0, (n * (n + 1)) / 2 + n * n);
    this.fitRanks = requireInteger('orbgrand.lineFitRanks', options.lineFitRanks ?? Math.max(2, n / 2), 2, n);
    this.name = `orbgrand(${v},qmax=${this.maxQueries})`;
    this.ranker = new ReliabilityRanker(n);
    this.perm = this.ranker.perm;
    this.mag = this.ranker.mag;
    this.rankCols = new Int32Array(n + 1);
  }

  protected search(llr: Float32Array): void {
    const n = this.code.n;
    this.ranker.rank(llr);
    for (let r = 1; r <= n; r++) this.rankCols[r] = this.perm[r - 1]!;
    this.rho = this.variant === '1-line' ? this.fitRho() : 0;
    if (this.zeroSyndrome()) {
      this.bestLength = 0;
      return;
    }
    const rho = this.rho;
    for (let w = 1; w <= this.maxWeight && this.queries < this.maxQueries; w++) {
      for (let h = 1; h * rho + (h * (h + 1)) / 2 <= w; h++) {
        const lw = w - h * rho;
        if (this.partitions(0, 1, lw, h)) return;
        if (this.queries >= this.maxQueries) return;
      }
    }
  }

  private fitRho(): number {
    const m = this.fitRanks;
    let sx = 0;
    let sy = 0;
    let sxx = 0;
    let sxy = 0;
    for (let r = 1; r <= m; r++) {
      const y = this.mag[this.perm[r - 1]!]!;
      sx += r;
      sy += y;
      sxx += r * r;
      sxy += r * y;
    }
    const beta = (m * sxy - sx * sy) / (m * sxx - sx * sx);
    const c = (sy - beta * sx) / m;
    if (!(beta > 0) || !(c > 0)) return 0;
    return Math.min(this.code.n, Math.round(c / beta));
  }

  /** Distinct parts in increasing order, smallest ≥ minPart, `parts` parts summing to `sum`. */
  private partitions(depth: number, minPart: number, sum: number, parts: number): boolean {
    const n = this.code.n;
    if (parts === 1) {
      if (sum < minPart || sum > n) return false;
      if (this.queries >= this.maxQueries) return false;
      const pos = this.rankCols[sum]!;
      if (this.testAt(depth, pos)) {
        for (let t = 0; t < depth; t++) this.best[t] = this.pattern[t]!;
        this.best[depth] = pos;
        this.bestLength = depth + 1;
        return true;
      }
      return false;
    }
    // The remaining parts−1 parts exceed p, so sum − p ≥ (parts−1)·(p+1) + (parts−1)(parts−2)/2.
    for (let p = minPart; p <= n; p++) {
      const rest = sum - p;
      const k = parts - 1;
      if (rest < k * (p + 1) + (k * (k - 1)) / 2) break;
      if (this.queries >= this.maxQueries) return false;
      const pos = this.rankCols[p]!;
      this.pattern[depth] = pos;
      this.push(depth, pos);
      if (this.partitions(depth + 1, p + 1, rest, k)) return true;
    }
    return false;
  }
}

/**
 * step-GRAND [R]: ranks are quantised into Q levels (rank r → ⌈r·Q/N⌉); step s tests all patterns
 * whose levels sum to s, together, with P checkers (⌈count/P⌉ cycles); among the codewords found
 * in a step, the one with the smallest Σ|LLR| of flipped bits is output. The search abandons after
 * maxSteps steps or maxQueries queries, which bounds the worst-case cycles.
 */
export class StepGrandDecoder extends GrandBase {
  readonly name: string;
  readonly levels: number;
  readonly maxSteps: number;
  private readonly ranker: ReliabilityRanker;
  private readonly perm: Int32Array;
  private readonly mag: Float32Array;
  /** Ranks of level l (1-based) are levelStart[l] .. levelStart[l+1]−1 (0-based rank index). */
  private readonly levelStart: Int32Array;
  private stepCycles = 0;
  private stepQueries = 0;
  private bestCost = Infinity;
  private currentCost = 0;

  constructor(code: PolarCode, options: StepGrandOptions = {}) {
    super(code, options, 'step-grand');
    const n = code.n;
    this.levels = requireInteger('step-grand.levels', options.levels ?? Math.min(16, n), 1, n);
    this.maxSteps = requireInteger('step-grand.maxSteps', options.maxSteps ?? 12, 0, 100_000);
    this.name = `step-grand(Q=${this.levels},S=${this.maxSteps},P=${this.checkers})`;
    this.ranker = new ReliabilityRanker(n);
    this.perm = this.ranker.perm;
    this.mag = this.ranker.mag;
    this.levelStart = new Int32Array(this.levels + 2);
    // rank r (1-based) has level ceil(r·Q/N): level l holds ranks (⌈(l−1)N/Q⌉, ⌈lN/Q⌉] roughly.
    let l = 1;
    this.levelStart[1] = 0;
    for (let r = 1; r <= n; r++) {
      const lev = Math.ceil((r * this.levels) / n);
      while (l < lev) this.levelStart[++l] = r - 1;
    }
    this.levelStart[this.levels + 1] = n;
  }

  protected override cycles(): number {
    return this.stepCycles;
  }

  /** Patterns in each step s = 0..maxSteps (step 0: the hard decision itself), by counting. */
  patternsPerStep(): number[] {
    // ways[w] = number of flip sets of quantised weight w using the levels seen so far.
    let ways = new Float64Array(this.maxSteps + 1);
    ways[0] = 1;
    for (let l = 1; l <= this.levels; l++) {
      const size = this.levelStart[l + 1]! - this.levelStart[l]!;
      const next = new Float64Array(this.maxSteps + 1);
      for (let w = 0; w <= this.maxSteps; w++) {
        if (!ways[w]) continue;
        let binom = 1;
        for (let m = 0; m <= size && w + m * l <= this.maxSteps; m++) {
          next[w + m * l]! += ways[w]! * binom;
          binom = (binom * (size - m)) / (m + 1);
        }
      }
      ways = next;
    }
    return Array.from(ways);
  }

  /** Design worst case: queries and cycles when every step up to maxSteps (and the budget) is used. */
  worstCase(): { queries: number; cycles: number } {
    let queries = 0;
    let cycles = 0;
    for (const c of this.patternsPerStep()) {
      const take = Math.min(c, this.maxQueries - queries);
      if (take <= 0) break;
      queries += take;
      cycles += Math.max(1, Math.ceil(take / this.checkers));
    }
    return { queries, cycles };
  }

  protected search(llr: Float32Array): void {
    this.ranker.rank(llr);
    this.stepCycles = 1;
    if (this.zeroSyndrome()) {
      this.bestLength = 0;
      return;
    }
    this.bestCost = Infinity;
    for (let s = 1; s <= this.maxSteps && this.queries < this.maxQueries; s++) {
      this.stepQueries = 0;
      this.currentCost = 0;
      this.levelSearch(0, 1, s);
      this.stepCycles += Math.ceil(this.stepQueries / this.checkers);
      if (this.bestLength >= 0) return;
    }
  }

  /** Chooses flips level by level (level ≥ lev) for the remaining quantised weight `left`. */
  private levelSearch(depth: number, lev: number, left: number): void {
    if (left === 0) {
      this.queries++;
      this.stepQueries++;
      const w = this.H.words;
      for (let t = 0; t < w; t++) if (this.partial[depth * w + t] !== 0) return;
      if (this.currentCost < this.bestCost) {
        this.bestCost = this.currentCost;
        for (let t = 0; t < depth; t++) this.best[t] = this.pattern[t]!;
        this.bestLength = depth;
      }
      return;
    }
    for (let l = lev; l <= Math.min(left, this.levels); l++) {
      const size = this.levelStart[l + 1]! - this.levelStart[l]!;
      for (let m = 1; m * l <= left && m <= size; m++) {
        this.choose(depth, l, this.levelStart[l]!, m, left - m * l);
        if (this.queries >= this.maxQueries) return;
      }
    }
  }

  /** Picks `m` ranks of level l starting at rank index `from`, then continues with higher levels. */
  private choose(depth: number, l: number, from: number, m: number, left: number): void {
    if (m === 0) {
      this.levelSearch(depth, l + 1, left);
      return;
    }
    const end = this.levelStart[l + 1]!;
    for (let r = from; r <= end - m; r++) {
      if (this.queries >= this.maxQueries) return;
      const pos = this.perm[r]!;
      this.pattern[depth] = pos;
      this.push(depth, pos);
      this.currentCost += this.mag[pos]!;
      this.choose(depth + 1, l, r + 1, m - 1, left);
      this.currentCost -= this.mag[pos]!;
    }
  }
}
