import type { PolarCode } from './code.js';

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Counter-based seeding: frame i at SNR index j gets its own sfc32 stream seeded by a hash of
 * (seed, j, i), so a frame's message and noise do not depend on which worker drew it or in which order.
 */
export class FrameRng {
  private a = 0;
  private b = 0;
  private c = 0;
  private d = 0;
  private spare = 0;
  private hasSpare = false;

  reseed(seed: number, stream: number, counter: number): void {
    const lo = counter >>> 0;
    const hi = Math.floor(counter / 4294967296) >>> 0;
    let h = fmix32((seed >>> 0) ^ 0x9e3779b9);
    h = fmix32(h ^ Math.imul(stream + 1, 0x27d4eb2f));
    const h2 = fmix32(h ^ Math.imul(hi + 1, 0x165667b1));
    this.a = fmix32(h2 ^ lo);
    this.b = fmix32(this.a ^ 0x6a09e667 ^ lo);
    this.c = fmix32(this.b ^ 0xbb67ae85);
    this.d = 1;
    this.hasSpare = false;
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /** sfc32 (Chris Doty-Humphrey's small fast counting generator). */
  nextUint32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** Uniform in (0, 1). */
  uniform(): number {
    return (this.nextUint32() + 0.5) / 4294967296;
  }

  /** Standard normal (Marsaglia polar method). */
  normal(): number {
    if (this.hasSpare) {
      this.hasSpare = false;
      return this.spare;
    }
    let u: number;
    let v: number;
    let s: number;
    do {
      u = 2 * this.uniform() - 1;
      v = 2 * this.uniform() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const m = Math.sqrt((-2 * Math.log(s)) / s);
    this.spare = v * m;
    this.hasSpare = true;
    return u * m;
  }
}

/** σ² = 1/(2·R·10^(EbN0/10)) with R = K_info/N (CRC bits count as overhead). */
export function noiseVariance(ebn0Db: number, rate: number): number {
  return 1 / (2 * rate * 10 ** (ebn0Db / 10));
}

/** One simulated frame: random message, codeword, BPSK (0 → +1) over real AWGN, LLR = 2y/σ². */
export class AwgnFrameSource {
  readonly code: PolarCode;
  readonly seed: number;
  readonly message: Uint8Array;
  readonly codeword: Uint8Array;
  readonly llr: Float32Array;
  private readonly rng = new FrameRng();

  constructor(code: PolarCode, seed: number) {
    this.code = code;
    this.seed = seed;
    this.message = new Uint8Array(code.kInfo);
    this.codeword = new Uint8Array(code.n);
    this.llr = new Float32Array(code.n);
  }

  /** Fills message, codeword and llr for frame `frame` of stream `stream` (e.g. the SNR index). */
  generate(stream: number, frame: number, ebn0Db: number): void {
    const rng = this.rng;
    rng.reseed(this.seed, stream, frame);
    const k = this.code.kInfo;
    for (let i = 0; i < k; i += 32) {
      const w = rng.nextUint32();
      for (let j = 0; j < 32 && i + j < k; j++) this.message[i + j] = (w >>> j) & 1;
    }
    this.code.encode(this.message, this.codeword);
    const sigma2 = noiseVariance(ebn0Db, this.code.rate);
    const sigma = Math.sqrt(sigma2);
    const scale = 2 / sigma2;
    for (let i = 0; i < this.code.n; i++) {
      const y = (this.codeword[i] ? -1 : 1) + sigma * rng.normal();
      this.llr[i] = scale * y;
    }
  }
}
