import type { PolarCode } from '../code.js';
import { emptyStats, type DecodeStats, type PolarDecoder } from '../decoder.js';
import { PolarParameterError } from '../errors.js';
import { LATENCY_MODEL } from '../latency.js';
import { createSimdKernels, type SimdKernels } from './simd.js';
import {
  assertOpCodes, compileTree, OP_COMBINE, OP_F, OP_G, OP_G0, OP_LEAF_FROZEN, OP_LEAF_INFO, OP_RATE0, OP_RATE1, OP_REP, OP_SPC,
  type DecodingProgram,
} from '../tree.js';

assertOpCodes();

/**
 * Single-path successive cancellation over a compiled program. LLRs of the node of size s live in
 * A[s..2s) (the root's in A[N..2N)); partial sums live in B at codeword positions, so the root's
 * β is the codeword estimate. f is min-sum computed on the IEEE bit patterns (sign XOR, magnitude
 * min), g = b + (1−2u)a. With program mode 'fast' (Fast-SSC) the Rate-0/Rate-1/REP/SPC nodes are
 * decoded in one step each; REP sums in SC's own pairwise order in float32, so decisions are
 * bit-identical to plain SC.
 */
export class ScEngine {
  readonly n: number;
  readonly program: DecodingProgram;
  readonly A: Float32Array;
  private readonly Ai: Int32Array;
  readonly B: Uint8Array;
  private readonly Bw: Int32Array;
  /** Codeword position whose decision is inverted (SC-Flip), or −1. */
  flipPosition = -1;
  /** When set, decision LLRs of information leaves are stored here by position. */
  leafLlr: Float32Array | null = null;
  readonly latency: number;
  readonly complexity: number;
  /** The program as executed: size-2 subtrees of leaves fused into one op (same arithmetic). */
  private readonly exec: Int32Array;

  /** WebAssembly SIMD kernels over A and B (f/g for h ≥ 4, XOR for h ≥ 16), or null: scalar loops. */
  private readonly simd: SimdKernels | null;
  /** Byte offset of B in the kernels' memory (A starts at 0). */
  private readonly bBase: number;

  /** Whether the WebAssembly SIMD kernels are in use. */
  get usesSimd(): boolean {
    return this.simd !== null;
  }

  /** simd: use the WebAssembly SIMD kernels when available (default true); false forces the scalar loops. */
  constructor(frozen: Uint8Array, mode: 'plain' | 'fast', simd = true) {
    this.n = frozen.length;
    this.program = compileTree(frozen, { mode, rate0NeedsLlr: false });
    const n = this.n;
    // A: 2N float32 at byte 0; B: N partial sums at byte 8N (a multiple of 16 for N ≥ 2).
    this.bBase = 8 * n;
    this.simd = simd ? createSimdKernels(this.bBase + Math.max(4, n)) : null;
    const buf = this.simd ? this.simd.memory.buffer : new ArrayBuffer(this.bBase + Math.max(4, n));
    this.A = new Float32Array(buf, 0, 2 * n);
    this.Ai = new Int32Array(buf, 0, 2 * n);
    this.B = new Uint8Array(buf, this.bBase, n);
    this.Bw = new Int32Array(buf, this.bBase, Math.max(4, n) >> 2);
    let lat = 0;
    let cx = 0;
    const ops = this.program.ops;
    for (let pc = 0; pc < ops.length; pc += 3) {
      const op = ops[pc]!;
      const s = ops[pc + 1]!;
      if (op === OP_F) (lat += LATENCY_MODEL.fStage), (cx += s / 2);
      else if (op === OP_G || op === OP_G0) (lat += LATENCY_MODEL.gStage), (cx += s / 2);
      else if (op === OP_RATE1) (lat += LATENCY_MODEL.scRate1), (cx += s);
      else if (op === OP_REP) (lat += LATENCY_MODEL.scRep), (cx += s);
      else if (op === OP_SPC) (lat += LATENCY_MODEL.scSpc), (cx += s);
      else if (op === OP_LEAF_INFO || op === OP_LEAF_FROZEN) cx += 1;
    }
    this.latency = lat;
    this.complexity = cx;
    this.exec = fusePairs(ops);
  }

  run(llr: Float32Array): void {
    const n = this.n;
    const A = this.A;
    const Ai = this.Ai;
    const B = this.B;
    const ops = this.exec;
    const simd = this.simd;
    const bBase = this.bBase;
    A.set(llr.length === n ? llr : llr.subarray(0, n), n);
    for (let pc = 0, end = ops.length; pc < end; pc += 3) {
      const op = ops[pc]!;
      const s = ops[pc + 1]!;
      const o = ops[pc + 2]!;
      switch (op) {
        case 0 /* OP_F */: {
          const h = s >> 1;
          if (h >= 4 && simd !== null) {
            simd.f(4 * h, 4 * s, 4 * (s + h), 4 * h);
            break;
          }
          // Branch-free min of the magnitudes: d >> 31 is all ones when ma < mb.
          for (let i = 0; i < h; i++) {
            const a = Ai[s + i]!;
            const b = Ai[s + h + i]!;
            const mb = b & 0x7fffffff;
            const d = (a & 0x7fffffff) - mb;
            Ai[h + i] = ((a ^ b) & 0x80000000) | (mb + (d & (d >> 31)));
          }
          break;
        }
        case 1 /* OP_G */: {
          const h = s >> 1;
          if (h >= 4 && simd !== null) {
            simd.g(4 * h, 4 * s, 4 * (s + h), bBase + o, 4 * h);
            break;
          }
          // (1 − 2u)·a is exact (a or −a), without a data-dependent branch.
          for (let i = 0; i < h; i++) A[h + i] = A[s + h + i]! + A[s + i]! * (1 - 2 * B[o + i]!);
          break;
        }
        case 2 /* OP_G0 */: {
          const h = s >> 1;
          if (h >= 4 && simd !== null) {
            simd.g0(4 * h, 4 * s, 4 * (s + h), 4 * h);
            break;
          }
          for (let i = 0; i < h; i++) A[h + i] = A[s + i]! + A[s + h + i]!;
          break;
        }
        case 3 /* OP_COMBINE */: {
          const h = s >> 1;
          if (h >= 16 && simd !== null) simd.xor(bBase + o, bBase + o + h, h);
          else if (h >= 4) {
            // Four partial sums per word: o and h are multiples of 4 here.
            const Bw = this.Bw;
            const wo = o >> 2;
            const wh = h >> 2;
            for (let i = wo; i < wo + wh; i++) Bw[i] = Bw[i]! ^ Bw[i + wh]!;
          } else {
            for (let i = o; i < o + h; i++) B[i] = B[i]! ^ B[i + h]!;
          }
          break;
        }
        case 8 /* OP_LEAF_FROZEN */:
          B[o] = 0;
          break;
        case 9 /* OP_LEAF_INFO */: {
          const v = A[1]!;
          let bit = +(v < 0);
          if (o === this.flipPosition) bit ^= 1;
          if (this.leafLlr !== null) this.leafLlr[o] = v;
          B[o] = bit;
          break;
        }
        case 4 /* OP_RATE0 */:
          for (let i = o; i < o + s; i++) B[i] = 0;
          break;
        case 5 /* OP_RATE1 */:
          for (let i = 0; i < s; i++) B[o + i] = +(A[s + i]! < 0); // +(x < 0): no branch
          break;
        case 6 /* OP_REP */: {
          // Fold in place (the node's LLRs are not needed afterwards), in SC's pairwise order
          // (the SIMD g0 kernel adds the same pairs, four at a time).
          let h = s >> 1;
          if (simd !== null) for (; h >= 4; h >>= 1) simd.g0(4 * s, 4 * s, 4 * (s + h), 4 * h);
          for (; h >= 1; h >>= 1) for (let i = s; i < s + h; i++) A[i] = A[i]! + A[i + h]!;
          const bit = +(A[s]! < 0);
          for (let i = o; i < o + s; i++) B[i] = bit;
          break;
        }
        case 7 /* OP_SPC */: {
          let parity = 0;
          let minIdx = 0;
          let minMag = 0x7fffffff;
          for (let i = 0; i < s; i++) {
            const bit = +(A[s + i]! < 0);
            B[o + i] = bit;
            parity ^= bit;
            const m = Ai[s + i]! & 0x7fffffff;
            if (m < minMag) (minMag = m), (minIdx = i);
          }
          if (parity) B[o + minIdx] = B[o + minIdx]! ^ 1;
          break;
        }
        case 100 /* OP_PAIR */: {
          // F, leaf, G, leaf, combine of a size-2 node, in one dispatch.
          const a = Ai[2]!;
          const b = Ai[3]!;
          const ma = a & 0x7fffffff;
          const mb = b & 0x7fffffff;
          Ai[1] = ((a ^ b) & 0x80000000) | (ma < mb ? ma : mb);
          const u0 = s & 1 ? this.decide(o) : 0;
          const av = A[2]!;
          A[1] = A[3]! + (u0 ? -av : av);
          const u1 = s & 2 ? this.decide(o + 1) : 0;
          B[o] = u0 ^ u1;
          B[o + 1] = u1;
          break;
        }
        default:
          throw new Error(`internal: unknown op ${op}`);
      }
    }
  }

  /** Decision of the information leaf at position o from A[1] (flip and record as OP_LEAF_INFO). */
  private decide(o: number): number {
    const v = this.A[1]!;
    let bit = +(v < 0);
    if (o === this.flipPosition) bit ^= 1;
    if (this.leafLlr !== null) this.leafLlr[o] = v;
    return bit;
  }
}

const OP_PAIR = 100; // literal in ScEngine.run's switch

/** Replaces [F 2 o][leaf o][G 2 o][leaf o+1][COMBINE 2 o] by [PAIR flags o] (flags: bit0/bit1 = leaf is info). */
function fusePairs(ops: Int32Array): Int32Array {
  const out: number[] = [];
  for (let pc = 0; pc < ops.length; pc += 3) {
    if (
      ops[pc] === OP_F && ops[pc + 1] === 2 && pc + 15 <= ops.length &&
      (ops[pc + 3] === OP_LEAF_INFO || ops[pc + 3] === OP_LEAF_FROZEN) && ops[pc + 6] === OP_G &&
      (ops[pc + 9] === OP_LEAF_INFO || ops[pc + 9] === OP_LEAF_FROZEN) && ops[pc + 12] === OP_COMBINE && ops[pc + 13] === 2
    ) {
      const flags = (ops[pc + 3] === OP_LEAF_INFO ? 1 : 0) | (ops[pc + 9] === OP_LEAF_INFO ? 2 : 0);
      out.push(OP_PAIR, flags, ops[pc + 2]!);
      pc += 12;
      continue;
    }
    out.push(ops[pc]!, ops[pc + 1]!, ops[pc + 2]!);
  }
  return Int32Array.from(out);
}

function extract(code: PolarCode, codeword: Uint8Array, codec: Uint8Array, message: Uint8Array): boolean {
  if (code.systematic && !code.crc) {
    // The message is x̂ at the first K_info info positions (what codecBitsOf reads), gathered directly.
    const pos = code.infoPositions;
    for (let j = 0, k = code.kInfo; j < k; j++) message[j] = codeword[pos[j]!]!;
    return true;
  }
  code.codecBitsOf(codeword, codec);
  for (let j = 0, k = code.kInfo; j < k; j++) message[j] = codec[j]!;
  return code.crcPasses(codec);
}

/** SC (plain tree) or Fast-SSC (pruned tree); identical decisions, different latency. */
export class ScDecoder implements PolarDecoder {
  readonly name: string;
  readonly code: PolarCode;
  readonly codeword: Uint8Array;
  readonly engine: ScEngine;
  private readonly stats = emptyStats();
  private readonly codec: Uint8Array;

  constructor(code: PolarCode, fast: boolean) {
    this.code = code;
    this.name = fast ? 'fast-ssc' : 'sc';
    this.engine = new ScEngine(code.frozen, fast ? 'fast' : 'plain');
    this.codeword = this.engine.B;
    this.codec = new Uint8Array(code.kCodec);
    this.stats.attempts = 1;
    this.stats.latency = this.engine.latency;
    this.stats.complexity = this.engine.complexity;
  }

  decode(llr: Float32Array, message: Uint8Array): DecodeStats {
    this.engine.run(llr);
    this.stats.valid = extract(this.code, this.codeword, this.codec, message);
    return this.stats;
  }
}

export interface ScFlipOptions {
  /** Number of extra attempts T: candidates are the T least reliable information bits. */
  tMax?: number;
}

/**
 * SC-Flip (classic single flip): after a CRC failure, re-decode flipping one of the T information
 * bits whose decision LLR had the smallest magnitude, in increasing order of |LLR|.
 */
export class ScFlipDecoder implements PolarDecoder {
  readonly name: string;
  readonly code: PolarCode;
  readonly codeword: Uint8Array;
  private readonly engine: ScEngine;
  private readonly stats = emptyStats();
  private readonly codec: Uint8Array;
  private readonly leafLlr: Float32Array;
  private readonly candidates: Int32Array;
  private readonly candidateMag: Float32Array;
  private readonly initial: Uint8Array;
  private readonly initialCodeword: Uint8Array;
  readonly tMax: number;

  constructor(code: PolarCode, options: ScFlipOptions = {}) {
    if (!code.crc) throw new PolarParameterError('crc', "decoder 'sc-flip' needs a code with a CRC, got crc 'none'");
    this.tMax = options.tMax ?? Math.min(8, code.kCodec);
    if (!Number.isInteger(this.tMax) || this.tMax < 0 || this.tMax > code.kCodec) {
      throw new PolarParameterError('tMax', `got ${this.tMax}, expected an integer in [0, ${code.kCodec}]`);
    }
    this.code = code;
    this.name = `sc-flip(T=${this.tMax})`;
    this.engine = new ScEngine(code.frozen, 'plain');
    this.codeword = new Uint8Array(code.n);
    this.codec = new Uint8Array(code.kCodec);
    this.leafLlr = new Float32Array(code.n);
    this.candidates = new Int32Array(Math.max(1, this.tMax));
    this.candidateMag = new Float32Array(Math.max(1, this.tMax));
    this.initial = new Uint8Array(code.kInfo);
    this.initialCodeword = new Uint8Array(code.n);
  }

  decode(llr: Float32Array, message: Uint8Array): DecodeStats {
    const e = this.engine;
    const st = this.stats;
    e.flipPosition = -1;
    e.leafLlr = this.leafLlr;
    e.run(llr);
    e.leafLlr = null;
    st.attempts = 1;
    st.valid = extract(this.code, e.B, this.codec, message);
    this.codeword.set(e.B);
    if (!st.valid && this.tMax > 0) {
      this.initial.set(message);
      this.initialCodeword.set(e.B);
      // T smallest |LLR| among information leaves, by insertion into a sorted window.
      let count = 0;
      const pos = this.code.infoPositions;
      for (let j = 0; j < pos.length; j++) {
        const p = pos[j]!;
        const m = Math.abs(this.leafLlr[p]!);
        if (count === this.tMax && m >= this.candidateMag[count - 1]!) continue;
        let i = count < this.tMax ? count++ : count - 1;
        while (i > 0 && this.candidateMag[i - 1]! > m) {
          this.candidateMag[i] = this.candidateMag[i - 1]!;
          this.candidates[i] = this.candidates[i - 1]!;
          i--;
        }
        this.candidateMag[i] = m;
        this.candidates[i] = p;
      }
      for (let t = 0; t < count && !st.valid; t++) {
        e.flipPosition = this.candidates[t]!;
        e.run(llr);
        st.attempts++;
        st.valid = extract(this.code, e.B, this.codec, message);
      }
      e.flipPosition = -1;
      if (st.valid) this.codeword.set(e.B);
      else {
        message.set(this.initial);
        this.codeword.set(this.initialCodeword);
      }
    }
    st.latency = st.attempts * e.latency;
    st.complexity = st.attempts * e.complexity;
    return st;
  }
}
