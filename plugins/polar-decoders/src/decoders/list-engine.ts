import { LATENCY_MODEL, pruneComplexity } from '../latency.js';
import { createSimdKernels, type SimdKernels } from './simd.js';
import {
  assertOpCodes, compileTree, OP_COMBINE, OP_F, OP_G, OP_G0, OP_LEAF_FROZEN, OP_LEAF_INFO, OP_RATE0, OP_RATE1, OP_REP, OP_SPC,
  type DecodingProgram,
} from '../tree.js';

assertOpCodes();

// The latency model's constants as module-local values (an imported binding read per operation is a
// getter call under the CommonJS transform of tsx/vitest).
const LAT = { ...LATENCY_MODEL };

export interface ListEngineOptions {
  listSize: number;
  mode: 'plain' | 'fast';
  /** Rate-1 nodes: how many least reliable bits are enumerated (sequentially, one pruning each). */
  rate1Bits: (size: number) => number;
  /** SPC nodes: how many least reliable bits take part, the least reliable one included (parity fix). */
  spcBits: (size: number) => number;
  /** Use the WebAssembly SIMD f/g kernels when available (default true); false: scalar loops only. */
  simd?: boolean;
}

/**
 * Successive-cancellation list decoding over a compiled program (plain tree: SCL; pruned tree:
 * Fast-SCL), with Tal–Vardy lazy copying: each path holds one slot per tree level for LLRs (α) and
 * one for partial sums (β), slots are reference counted, a clone copies slot indices only, and a
 * shared slot is replaced (α: no copy, it is overwritten whole; β: copy of the half still needed)
 * only when its path writes to it.
 *
 * Path metric: + |LLR| when a decision disagrees with the LLR's sign (lower is better). Fast nodes
 * enumerate candidates one least-reliable bit at a time, each a pruning to the L best, which gives
 * the L best candidates of the node when enough bits are enumerated (see README, Fidelity).
 *
 * Every pruning that discards candidates is a numbered decision step; flipStep makes that step keep
 * the discarded candidates instead (SCL-Flip / Fast-SCLF), and record() stores the kept and
 * discarded metrics of every step for the flip-index error model.
 */
export class ListEngine {
  readonly n: number;
  readonly log2n: number;
  readonly L: number;
  readonly program: DecodingProgram;
  /** Upper bound of decision steps of one decoding. */
  readonly maxSteps: number;
  private readonly opts: ListEngineOptions;
  private readonly levels: number;
  private readonly chan: Float32Array;
  private readonly chanI: Int32Array;
  private readonly alpha: Float32Array[];
  private readonly alphaI: Int32Array[];
  private readonly beta: Uint8Array[];
  private readonly betaW: Int32Array[];
  private readonly betaSize: Int32Array;
  private readonly aSlot: Int32Array;
  private readonly bSlot: Int32Array;
  private readonly aRef: Int32Array;
  private readonly bRef: Int32Array;
  private readonly aFree: Int32Array;
  private readonly bFree: Int32Array;
  private readonly aTop: Int32Array;
  private readonly bTop: Int32Array;
  /** Path metrics by path id. */
  readonly metric: Float64Array;
  /** Active path ids (first `active` entries). */
  readonly paths: Int32Array;
  active = 0;
  private readonly isActive: Uint8Array;
  private readonly freePaths: Int32Array;
  private freeTop = 0;
  private readonly d0: Float64Array;
  private readonly d1: Float64Array;
  private readonly choice: Uint8Array;
  private readonly cand: Float64Array;
  private readonly sel: Float64Array;
  private readonly keep: Uint8Array;
  private readonly rank: Int32Array;
  private readonly newPaths: Int32Array;
  // Fast-node scratch per path: least reliable positions, flip flags, SPC parity fix.
  private readonly maxBits: number;
  private readonly lr: Int32Array;
  private readonly lrMag: Float32Array;
  private readonly flag: Uint8Array;
  private readonly fix: Uint8Array;
  private scratchBits = 0;

  /** Decision step counter of the current decoding. */
  step = 0;
  /** Decision step whose pruning keeps the discarded candidates, or −1. */
  flipStep = -1;
  /** When true, kept/discarded metrics of every step are stored in recKept/recDisc. */
  recording = false;
  readonly recKept: Float64Array;
  readonly recDisc: Float64Array;
  readonly recKeptCount: Int32Array;
  readonly recDiscCount: Int32Array;
  latency = 0;
  complexity = 0;
  private readonly pruneCost: Float64Array;
  private readonly simd: SimdKernels | null;
  /** Byte offsets in the kernels' memory: channel LLRs, α pool per level, β pool per level. */
  private readonly chanBase: number;
  private readonly aBase: Int32Array;
  private readonly bBase: Int32Array;

  /** Whether the WebAssembly SIMD kernels are in use. */
  get usesSimd(): boolean {
    return this.simd !== null;
  }

  constructor(frozen: Uint8Array, options: ListEngineOptions) {
    const n = frozen.length;
    const L = options.listSize;
    this.n = n;
    this.log2n = Math.round(Math.log2(n));
    this.L = L;
    this.opts = options;
    this.program = compileTree(frozen, { mode: options.mode, rate0NeedsLlr: true });
    this.levels = this.log2n + 1;
    // One buffer (the SIMD kernels' memory when available) holds the channel LLRs and the pools.
    this.betaSize = new Int32Array(this.levels);
    this.aBase = new Int32Array(this.levels);
    this.bBase = new Int32Array(this.levels);
    const align = (x: number): number => (x + 15) & ~15;
    let bytes = 0;
    this.chanBase = 0;
    bytes = align(4 * n);
    for (let lv = 0; lv < this.levels; lv++) {
      const s = 1 << lv;
      this.aBase[lv] = bytes;
      bytes = align(bytes + 4 * (lv < this.log2n ? L * s : 0));
      const bs = lv === this.log2n ? n : 2 * s;
      this.betaSize[lv] = bs;
      this.bBase[lv] = bytes;
      bytes = align(bytes + L * Math.max(4, bs));
    }
    this.simd = options.simd === false ? null : createSimdKernels(bytes);
    const buf = this.simd ? this.simd.memory.buffer : new ArrayBuffer(bytes);
    this.chan = new Float32Array(buf, this.chanBase, n);
    this.chanI = new Int32Array(buf, this.chanBase, n);
    this.alpha = [];
    this.alphaI = [];
    this.beta = [];
    this.betaW = [];
    for (let lv = 0; lv < this.levels; lv++) {
      const s = 1 << lv;
      const len = lv < this.log2n ? L * s : 0;
      this.alpha.push(new Float32Array(buf, this.aBase[lv]!, len));
      this.alphaI.push(new Int32Array(buf, this.aBase[lv]!, len));
      const blen = L * Math.max(4, this.betaSize[lv]!);
      this.beta.push(new Uint8Array(buf, this.bBase[lv]!, blen));
      this.betaW.push(new Int32Array(buf, this.bBase[lv]!, blen >> 2));
    }
    this.aSlot = new Int32Array(L * this.levels).fill(-1);
    this.bSlot = new Int32Array(L * this.levels).fill(-1);
    this.aRef = new Int32Array(L * this.levels);
    this.bRef = new Int32Array(L * this.levels);
    this.aFree = new Int32Array(L * this.levels);
    this.bFree = new Int32Array(L * this.levels);
    this.aTop = new Int32Array(this.levels);
    this.bTop = new Int32Array(this.levels);
    this.metric = new Float64Array(L);
    this.paths = new Int32Array(L);
    this.isActive = new Uint8Array(L);
    this.freePaths = new Int32Array(L);
    this.d0 = new Float64Array(L);
    this.d1 = new Float64Array(L);
    this.choice = new Uint8Array(L);
    this.cand = new Float64Array(2 * L);
    this.sel = new Float64Array(2 * L);
    this.keep = new Uint8Array(2 * L);
    this.rank = new Int32Array(2 * L);
    this.newPaths = new Int32Array(L);
    // Steps and scratch sizes from the program.
    let steps = 0;
    let maxBits = 1;
    const ops = this.program.ops;
    for (let pc = 0; pc < ops.length; pc += 3) {
      const op = ops[pc]!;
      const s = ops[pc + 1]!;
      if (op === OP_LEAF_INFO || op === OP_REP) steps++;
      else if (op === OP_RATE1) {
        const t = this.rate1Count(s);
        steps += t;
        maxBits = Math.max(maxBits, t);
      } else if (op === OP_SPC) {
        const t = this.spcCount(s);
        steps += t - 1;
        maxBits = Math.max(maxBits, t);
      }
    }
    this.maxSteps = steps;
    this.maxBits = maxBits;
    this.lr = new Int32Array(L * maxBits);
    this.lrMag = new Float32Array(L * maxBits);
    this.flag = new Uint8Array(L * maxBits);
    this.fix = new Uint8Array(L);
    this.pruneCost = Float64Array.from({ length: L + 1 }, (_, ell) => (ell === 0 ? 0 : pruneComplexity(ell)));
    this.recKept = new Float64Array(Math.max(1, steps) * L);
    this.recDisc = new Float64Array(Math.max(1, steps) * L);
    this.recKeptCount = new Int32Array(Math.max(1, steps));
    this.recDiscCount = new Int32Array(Math.max(1, steps));
  }

  private rate1Count(s: number): number {
    return Math.max(0, Math.min(this.opts.rate1Bits(s), s, this.L - 1));
  }

  private spcCount(s: number): number {
    // The least reliable bit is the parity fix; t − 1 further bits are enumerated.
    return Math.max(1, Math.min(this.opts.spcBits(s), s, this.L + 1));
  }

  private reset(): void {
    const L = this.L;
    this.aSlot.fill(-1);
    this.bSlot.fill(-1);
    this.aRef.fill(0);
    this.bRef.fill(0);
    for (let lv = 0; lv < this.levels; lv++) {
      this.aTop[lv] = L;
      this.bTop[lv] = L;
      for (let j = 0; j < L; j++) {
        this.aFree[lv * L + j] = L - 1 - j;
        this.bFree[lv * L + j] = L - 1 - j;
      }
    }
    this.isActive.fill(0);
    this.freeTop = 0;
    for (let p = L - 1; p >= 1; p--) this.freePaths[this.freeTop++] = p;
    this.paths[0] = 0;
    this.isActive[0] = 1;
    this.active = 1;
    this.metric[0] = 0;
    this.step = 0;
    this.latency = 0;
    this.complexity = 0;
  }

  /** Slot of path p at level lv that p may overwrite completely. */
  private alphaForWrite(p: number, lv: number): number {
    const L = this.L;
    const idx = p * this.levels + lv;
    const cur = this.aSlot[idx]!;
    if (cur >= 0) {
      if (this.aRef[lv * L + cur] === 1) return cur;
      this.aRef[lv * L + cur]!--;
    }
    const slot = this.aFree[lv * L + --this.aTop[lv]!]!;
    this.aRef[lv * L + slot] = 1;
    this.aSlot[idx] = slot;
    return slot;
  }

  /** Slot of path p at β level lv that p may write; a shared slot is copied (first `keep` bytes). */
  private betaForWrite(p: number, lv: number, keep: number): number {
    const L = this.L;
    const idx = p * this.levels + lv;
    const cur = this.bSlot[idx]!;
    if (cur >= 0 && this.bRef[lv * L + cur] === 1) return cur;
    const slot = this.bFree[lv * L + --this.bTop[lv]!]!;
    this.bRef[lv * L + slot] = 1;
    this.bSlot[idx] = slot;
    if (cur >= 0) {
      this.bRef[lv * L + cur]!--;
      if (keep > 0) {
        const size = this.betaSize[lv]!;
        if (keep >= 64) this.beta[lv]!.copyWithin(slot * size, cur * size, cur * size + keep);
        else if (size & 3) {
          const b = this.beta[lv]!;
          for (let i = 0; i < keep; i++) b[slot * size + i] = b[cur * size + i]!;
        } else {
          // Short copies: a word loop is cheaper than the copyWithin call (slots are whole words here).
          const w = this.betaW[lv]!;
          const d4 = (slot * size) >> 2;
          const s4 = (cur * size) >> 2;
          for (let i = 0, e = (keep + 3) >> 2; i < e; i++) w[d4 + i] = w[s4 + i]!;
        }
      }
    }
    return slot;
  }

  private releasePath(p: number): void {
    const L = this.L;
    for (let lv = 0; lv < this.levels; lv++) {
      const idx = p * this.levels + lv;
      const a = this.aSlot[idx]!;
      if (a >= 0 && --this.aRef[lv * L + a]! === 0) this.aFree[lv * L + this.aTop[lv]!++] = a;
      const b = this.bSlot[idx]!;
      if (b >= 0 && --this.bRef[lv * L + b]! === 0) this.bFree[lv * L + this.bTop[lv]!++] = b;
      this.aSlot[idx] = -1;
      this.bSlot[idx] = -1;
    }
    this.isActive[p] = 0;
    this.freePaths[this.freeTop++] = p;
  }

  private clonePath(p: number): number {
    const L = this.L;
    const q = this.freePaths[--this.freeTop]!;
    for (let lv = 0; lv < this.levels; lv++) {
      const src = p * this.levels + lv;
      const dst = q * this.levels + lv;
      const a = this.aSlot[src]!;
      const b = this.bSlot[src]!;
      this.aSlot[dst] = a;
      this.bSlot[dst] = b;
      if (a >= 0) this.aRef[lv * L + a]!++;
      if (b >= 0) this.bRef[lv * L + b]!++;
    }
    if (this.scratchBits > 0) {
      const m = this.maxBits;
      const lr = this.lr;
      const lrMag = this.lrMag;
      const flag = this.flag;
      for (let k = 0, src = p * m, dst = q * m; k < this.scratchBits; k++) {
        lr[dst + k] = lr[src + k]!;
        lrMag[dst + k] = lrMag[src + k]!;
        flag[dst + k] = flag[src + k]!;
      }
      this.fix[q] = this.fix[p]!;
    }
    this.isActive[q] = 1;
    return q;
  }

  /** k-th smallest (0-based) of sel[0..count), by quickselect (reorders sel). */
  private kthSmallest(count: number, k: number): number {
    const a = this.sel;
    let lo = 0;
    let hi = count - 1;
    while (lo < hi) {
      const pivot = a[(lo + hi) >> 1]!;
      let i = lo;
      let j = hi;
      while (i <= j) {
        while (a[i]! < pivot) i++;
        while (a[j]! > pivot) j--;
        if (i <= j) {
          const t = a[i]!;
          a[i] = a[j]!;
          a[j] = t;
          i++;
          j--;
        }
      }
      if (k <= j) hi = j;
      else if (k >= i) lo = i;
      else return a[k]!;
    }
    return a[k]!;
  }

  /**
   * One decision step: every active path p offers candidates with metric increments d0[p], d1[p];
   * the L best of the 2ℓ survive (ties by candidate order). Afterwards choice[p] tells each
   * surviving or newly cloned path which candidate it carries.
   */
  private prune(): void {
    const L = this.L;
    const ell = this.active;
    const count = 2 * ell;
    const cand = this.cand;
    const keep = this.keep;
    for (let j = 0; j < ell; j++) {
      const p = this.paths[j]!;
      cand[2 * j] = this.metric[p]! + this.d0[p]!;
      cand[2 * j + 1] = this.metric[p]! + this.d1[p]!;
    }
    this.latency += LAT.listPrune;
    this.complexity += this.pruneCost[ell]!;
    if (count <= L) {
      keep.fill(1, 0, count);
    } else if (count <= 32) {
      // Rank by (metric, candidate index) with branch-free counting, one comparison per pair:
      // the same L as the threshold selection below.
      const rank = this.rank;
      for (let c = 0; c < count; c++) rank[c] = 0;
      for (let c = 0; c < count; c++) {
        const v = cand[c]!;
        let r = rank[c]!;
        for (let c2 = c + 1; c2 < count; c2++) {
          const x = +(cand[c2]! < v);
          r += x;
          rank[c2] = rank[c2]! + 1 - x;
        }
        keep[c] = +(r < L);
      }
    } else {
      for (let c = 0; c < count; c++) this.sel[c] = cand[c]!;
      const thr = this.kthSmallest(count, L - 1);
      let below = 0;
      for (let c = 0; c < count; c++) if (cand[c]! < thr) below++;
      let equalLeft = L - below;
      for (let c = 0; c < count; c++) {
        const v = cand[c]!;
        if (v < thr) keep[c] = 1;
        else if (v === thr && equalLeft > 0) (keep[c] = 1), equalLeft--;
        else keep[c] = 0;
      }
    }
    if (count > L) {
      const s = this.step;
      if (this.recording) {
        let nk = 0;
        let nd = 0;
        for (let c = 0; c < count; c++) {
          if (keep[c]) this.recKept[s * L + nk++] = cand[c]!;
          else this.recDisc[s * L + nd++] = cand[c]!;
        }
        this.recKeptCount[s] = nk;
        this.recDiscCount[s] = nd;
      }
      if (s === this.flipStep) for (let c = 0; c < count; c++) keep[c] = keep[c] ? 0 : 1;
      this.step++;
    }
    // Kill first so that clones find free path ids.
    for (let j = 0; j < ell; j++) if (!keep[2 * j] && !keep[2 * j + 1]) this.releasePath(this.paths[j]!);
    let m = 0;
    for (let j = 0; j < ell; j++) {
      const p = this.paths[j]!;
      const k0 = keep[2 * j]!;
      const k1 = keep[2 * j + 1]!;
      if (k0 && k1) {
        const q = this.clonePath(p);
        this.metric[p] = cand[2 * j]!;
        this.choice[p] = 0;
        this.metric[q] = cand[2 * j + 1]!;
        this.choice[q] = 1;
        this.newPaths[m++] = p;
        this.newPaths[m++] = q;
      } else if (k0 || k1) {
        this.metric[p] = cand[2 * j + (k1 ? 1 : 0)]!;
        this.choice[p] = k1;
        this.newPaths[m++] = p;
      }
    }
    for (let j = 0; j < m; j++) this.paths[j] = this.newPaths[j]!;
    this.active = m;
  }

  /** Runs one decoding of the channel LLRs; afterwards paths/metric describe the final list. */
  run(llr: Float32Array): void {
    this.reset();
    this.chan.set(llr.length === this.n ? llr : llr.subarray(0, this.n));
    const ops = this.program.ops;
    for (let pc = 0, end = ops.length; pc < end; pc += 3) {
      const op = ops[pc]!;
      const s = ops[pc + 1]!;
      const o = ops[pc + 2]!;
      switch (op) {
        case 0 /* OP_F */:
          this.opF(s);
          break;
        case 1 /* OP_G */:
          this.opG(s, false);
          break;
        case 2 /* OP_G0 */:
          this.opG(s, true);
          break;
        case 3 /* OP_COMBINE */:
          this.opCombine(s, o);
          break;
        case 8 /* OP_LEAF_FROZEN */:
        case 4 /* OP_RATE0 */:
          this.opRate0(s, o);
          break;
        case 9 /* OP_LEAF_INFO */:
          this.opLeafInfo(o);
          break;
        case 6 /* OP_REP */:
          this.opRep(s, o);
          break;
        case 5 /* OP_RATE1 */:
          this.opRate1(s, o);
          break;
        case 7 /* OP_SPC */:
          this.opSpc(s, o);
          break;
        default:
          throw new Error(`internal: unknown op ${op}`);
      }
    }
  }

  private opF(s: number): void {
    const h = s >> 1;
    const lvC = (31 - Math.clz32(h));
    const lvP = lvC + 1;
    const dstArr = this.alphaI[lvC]!;
    const root = s === this.n;
    const srcArr = root ? this.chanI : this.alphaI[lvP]!;
    const simd = h >= 4 ? this.simd : null;
    const dstB = this.aBase[lvC]!;
    const srcB = root ? this.chanBase : this.aBase[lvP]!;
    for (let j = 0; j < this.active; j++) {
      const p = this.paths[j]!;
      const so = root ? 0 : this.aSlot[p * this.levels + lvP]! * s;
      const d = this.alphaForWrite(p, lvC) * h;
      if (simd !== null) {
        simd.f(dstB + 4 * d, srcB + 4 * so, srcB + 4 * (so + h), 4 * h);
        continue;
      }
      // Branch-free min of the magnitudes: e >> 31 is all ones when |a| < |b|.
      for (let i = 0; i < h; i++) {
        const a = srcArr[so + i]!;
        const b = srcArr[so + h + i]!;
        const mb = b & 0x7fffffff;
        const e = (a & 0x7fffffff) - mb;
        dstArr[d + i] = ((a ^ b) & 0x80000000) | (mb + (e & (e >> 31)));
      }
    }
    this.latency += LAT.fStage;
    this.complexity += h * this.active;
  }

  private opG(s: number, leftZero: boolean): void {
    const h = s >> 1;
    const lvC = (31 - Math.clz32(h));
    const lvP = lvC + 1;
    const dst = this.alpha[lvC]!;
    const root = s === this.n;
    const src = root ? this.chan : this.alpha[lvP]!;
    const betaArr = this.beta[lvC]!;
    const bsz = this.betaSize[lvC]!;
    const simd = h >= 4 ? this.simd : null;
    const dstB = this.aBase[lvC]!;
    const srcB = root ? this.chanBase : this.aBase[lvP]!;
    const uB = this.bBase[lvC]!;
    for (let j = 0; j < this.active; j++) {
      const p = this.paths[j]!;
      const so = root ? 0 : this.aSlot[p * this.levels + lvP]! * s;
      const d = this.alphaForWrite(p, lvC) * h;
      if (simd !== null) {
        if (leftZero) simd.g0(dstB + 4 * d, srcB + 4 * so, srcB + 4 * (so + h), 4 * h);
        else simd.g(dstB + 4 * d, srcB + 4 * so, srcB + 4 * (so + h), uB + this.bSlot[p * this.levels + lvC]! * bsz, 4 * h);
        continue;
      }
      if (leftZero) {
        for (let i = 0; i < h; i++) dst[d + i] = src[so + i]! + src[so + h + i]!;
      } else {
        const bo = this.bSlot[p * this.levels + lvC]! * bsz;
        // (1 − 2u)·a is exact (a or −a), without a data-dependent branch.
        for (let i = 0; i < h; i++) dst[d + i] = src[so + h + i]! + src[so + i]! * (1 - 2 * betaArr[bo + i]!);
      }
    }
    this.latency += LAT.gStage;
    this.complexity += h * this.active;
  }

  private opCombine(s: number, o: number): void {
    const h = s >> 1;
    const lvC = (31 - Math.clz32(h));
    const lvP = lvC + 1;
    const side = s === this.n ? 0 : (o / s) & 1;
    const src = this.beta[lvC]!;
    const srcSize = this.betaSize[lvC]!;
    const dstArr = this.beta[lvP]!;
    const dstSize = this.betaSize[lvP]!;
    for (let j = 0; j < this.active; j++) {
      const p = this.paths[j]!;
      const so = this.bSlot[p * this.levels + lvC]! * srcSize;
      const d = this.betaForWrite(p, lvP, side * s) * dstSize + side * s;
      if (h >= 4) {
        // Four partial sums per word (offsets are multiples of 4 for h >= 4).
        const sw = this.betaW[lvC]!;
        const dw = this.betaW[lvP]!;
        const so4 = so >> 2;
        const d4 = d >> 2;
        const h4 = h >> 2;
        for (let i = 0; i < h4; i++) {
          const r = sw[so4 + h4 + i]!;
          dw[d4 + i] = sw[so4 + i]! ^ r;
          dw[d4 + h4 + i] = r;
        }
      } else {
        for (let i = 0; i < h; i++) {
          const r = src[so + h + i]!;
          dstArr[d + i] = src[so + i]! ^ r;
          dstArr[d + h + i] = r;
        }
      }
    }
  }

  /** Writes the node's decisions for path p from `bits` (function of i) into its β slot. */
  private betaTarget(p: number, s: number, o: number): number {
    const lv = (31 - Math.clz32(s));
    const side = s === this.n ? 0 : (o / s) & 1;
    return this.betaForWrite(p, lv, side * s) * this.betaSize[lv]! + side * s;
  }

  private opRate0(s: number, o: number): void {
    const lv = (31 - Math.clz32(s));
    const arr = s === this.n ? this.chan : this.alpha[lv]!;
    const barr = this.beta[lv]!;
    for (let j = 0; j < this.active; j++) {
      const p = this.paths[j]!;
      const ao = s === this.n ? 0 : this.aSlot[p * this.levels + lv]! * s;
      let pen = 0;
      for (let i = 0; i < s; i++) {
        const v = arr[ao + i]!;
        pen -= v * +(v < 0); // v or ±0: the same sum as a branch, without one
      }
      this.metric[p] = this.metric[p]! + pen;
      const d = this.betaTarget(p, s, o);
      for (let i = d; i < d + s; i++) barr[i] = 0;
    }
    this.latency += s === 1 ? LAT.listFrozenLeaf : LAT.listRate0;
    this.complexity += s * this.active;
  }

  private opLeafInfo(o: number): void {
    const arr = this.alpha[0]!;
    for (let j = 0; j < this.active; j++) {
      const p = this.paths[j]!;
      const v = arr[this.aSlot[p * this.levels]!]!;
      this.d0[p] = -v * +(v < 0);
      this.d1[p] = v * +(v > 0);
    }
    this.complexity += this.active;
    this.prune();
    const barr = this.beta[0]!;
    for (let j = 0; j < this.active; j++) {
      const p = this.paths[j]!;
      barr[this.betaTarget(p, 1, o)] = this.choice[p]!;
    }
  }

  private opRep(s: number, o: number): void {
    const lv = (31 - Math.clz32(s));
    const arr = s === this.n ? this.chan : this.alpha[lv]!;
    for (let j = 0; j < this.active; j++) {
      const p = this.paths[j]!;
      const ao = s === this.n ? 0 : this.aSlot[p * this.levels + lv]! * s;
      let neg = 0;
      let pos = 0;
      for (let i = 0; i < s; i++) {
        const v = arr[ao + i]!;
        const sg = +(v < 0);
        neg -= v * sg; // adds ±0 where the branch would skip: same sums
        pos += v * (1 - sg);
      }
      this.d0[p] = neg;
      this.d1[p] = pos;
    }
    this.latency += LAT.listRep - LAT.listPrune;
    this.complexity += s * this.active;
    this.prune();
    const barr = this.beta[lv]!;
    for (let j = 0; j < this.active; j++) {
      const p = this.paths[j]!;
      const d = this.betaTarget(p, s, o);
      const u = this.choice[p]!;
      for (let i = d; i < d + s; i++) barr[i] = u;
    }
  }

  /**
   * Stores the `t` least reliable positions of path p's node LLRs (ascending |α|) in lr/lrMag and
   * returns the parity of the node's hard decisions.
   */
  private leastReliable(p: number, arr: Float32Array, ao: number, s: number, t: number): number {
    const base = p * this.maxBits;
    const lr = this.lr;
    const mag = this.lrMag;
    let count = 0;
    let parity = 0;
    for (let i = 0; i < s; i++) {
      const v = arr[ao + i]!;
      parity ^= +(v < 0);
      const m = Math.abs(v);
      if (count === t && m >= mag[base + t - 1]!) continue;
      let k = count < t ? count++ : t - 1;
      while (k > 0 && mag[base + k - 1]! > m) {
        mag[base + k] = mag[base + k - 1]!;
        lr[base + k] = lr[base + k - 1]!;
        k--;
      }
      mag[base + k] = m;
      lr[base + k] = i;
    }
    const flag = this.flag;
    for (let k = base; k < base + t; k++) flag[k] = 0;
    return parity;
  }

  private writeHardWithFlips(p: number, arr: Float32Array, ao: number, s: number, o: number, t: number): void {
    const barr = this.beta[(31 - Math.clz32(s))]!;
    const d = this.betaTarget(p, s, o);
    for (let i = 0; i < s; i++) barr[d + i] = +(arr[ao + i]! < 0);
    const base = p * this.maxBits;
    for (let k = 0; k < t; k++) if (this.flag[base + k]) barr[d + this.lr[base + k]!]! ^= 1;
  }

  private opRate1(s: number, o: number): void {
    const lv = (31 - Math.clz32(s));
    const arr = s === this.n ? this.chan : this.alpha[lv]!;
    const t = this.rate1Count(s);
    const m = this.maxBits;
    this.complexity += s * this.active;
    if (t > 0) {
      for (let j = 0; j < this.active; j++) {
        const p = this.paths[j]!;
        this.leastReliable(p, arr, s === this.n ? 0 : this.aSlot[p * this.levels + lv]! * s, s, t);
      }
      this.scratchBits = t;
      for (let k = 0; k < t; k++) {
        for (let j = 0; j < this.active; j++) {
          const p = this.paths[j]!;
          this.d0[p] = 0;
          this.d1[p] = this.lrMag[p * m + k]!;
        }
        this.prune();
        for (let j = 0; j < this.active; j++) {
          const p = this.paths[j]!;
          this.flag[p * m + k] = this.choice[p]!;
        }
      }
      this.scratchBits = 0;
    } else {
      this.latency += LAT.listPrune;
    }
    for (let j = 0; j < this.active; j++) {
      const p = this.paths[j]!;
      this.writeHardWithFlips(p, arr, s === this.n ? 0 : this.aSlot[p * this.levels + lv]! * s, s, o, t);
    }
  }

  private opSpc(s: number, o: number): void {
    const lv = (31 - Math.clz32(s));
    const arr = s === this.n ? this.chan : this.alpha[lv]!;
    const t = this.spcCount(s);
    const m = this.maxBits;
    for (let j = 0; j < this.active; j++) {
      const p = this.paths[j]!;
      const ao = s === this.n ? 0 : this.aSlot[p * this.levels + lv]! * s;
      const parity = this.leastReliable(p, arr, ao, s, t);
      this.fix[p] = parity;
      if (parity) this.metric[p] = this.metric[p]! + this.lrMag[p * m]!;
    }
    this.latency += 1;
    this.complexity += s * this.active;
    this.scratchBits = t;
    for (let k = 1; k < t; k++) {
      for (let j = 0; j < this.active; j++) {
        const p = this.paths[j]!;
        const m0 = this.lrMag[p * m]!;
        this.d0[p] = 0;
        this.d1[p] = this.lrMag[p * m + k]! + (this.fix[p] ? -m0 : m0);
      }
      this.prune();
      for (let j = 0; j < this.active; j++) {
        const p = this.paths[j]!;
        if (this.choice[p]) {
          this.flag[p * m + k] = 1;
          this.fix[p] = this.fix[p]! ^ 1;
        }
      }
    }
    this.scratchBits = 0;
    for (let j = 0; j < this.active; j++) {
      const p = this.paths[j]!;
      this.flag[p * m] = this.fix[p]!;
      this.writeHardWithFlips(p, arr, s === this.n ? 0 : this.aSlot[p * this.levels + lv]! * s, s, o, t);
    }
  }

  /** Codeword estimate of path p (a view into the root β pool; valid until the next run). */
  codewordOf(p: number): Uint8Array {
    const lv = this.log2n;
    const slot = this.bSlot[p * this.levels + lv]!;
    return this.beta[lv]!.subarray(slot * this.n, slot * this.n + this.n);
  }

  /** Root β pool and offset of path p's codeword (allocation-free variant of codewordOf). */
  codewordPool(): Uint8Array {
    return this.beta[this.log2n]!;
  }

  codewordOffset(p: number): number {
    return this.bSlot[p * this.levels + this.log2n]! * this.n;
  }
}
