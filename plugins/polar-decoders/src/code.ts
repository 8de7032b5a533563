import { Crc, resolveCrc, type CrcSpec } from './crc.js';
import { reliabilityOrder, type Construction } from './construction.js';
import { PolarParameterError, requireFinite, requireInteger } from './errors.js';

export interface PolarCodeOptions {
  /** Code length N, a power of two (2..2^16; the 5G construction allows up to 1024). */
  n: number;
  /** Message bits K_info (CRC bits come on top). */
  k: number;
  /** CRC appended to the message: a name ('11-5G', '16-CCITT', '24-5GC', ...), 'none', or {polynomial, length}. */
  crc?: CrcSpec;
  /** Construction: '5g' (default) or 'ga' (Gaussian approximation at designSnrDb, R = K_info/N). */
  construction?: '5g' | 'ga';
  designSnrDb?: number;
  /** Systematic encoding (message bits readable in the codeword). Default false. */
  systematic?: boolean;
}

/** In-place polar transform x ← x·F^{⊗n} over GF(2) (F = [[1,0],[1,1]], no bit reversal); an involution. */
export function polarTransform(bits: Uint8Array, offset = 0, size = bits.length - offset): void {
  for (let h = 1; h < size; h *= 2) {
    for (let base = offset; base < offset + size; base += 2 * h) {
      for (let i = base; i < base + h; i++) bits[i]! ^= bits[i + h]!;
    }
  }
}

/**
 * A (CRC-aided) polar code: N, K_info, CRC, frozen set, and the encoders. All buffers are owned by
 * the code and reused; encode() and extractMessage() do not allocate.
 */
export class PolarCode {
  readonly n: number;
  readonly log2n: number;
  readonly kInfo: number;
  readonly crc: Crc | null;
  /** K_info + CRC length: the number of non-frozen positions. */
  readonly kCodec: number;
  readonly systematic: boolean;
  readonly construction: Construction;
  /** 1 where the position is frozen (to 0). */
  readonly frozen: Uint8Array;
  /** Non-frozen positions in ascending order; message bits then CRC bits are placed here. */
  readonly infoPositions: Int32Array;
  /** Channel indices from least to most reliable. */
  readonly reliability: Int32Array;
  /** Code rate used for Eb/N0 conversion: K_info / N (CRC bits count as overhead). */
  readonly rate: number;
  private readonly scratch: Uint8Array;
  private readonly bitsCodec: Uint8Array;

  constructor(options: PolarCodeOptions) {
    const n = options.n;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 2 || n > 65536 || (n & (n - 1)) !== 0) {
      throw new PolarParameterError('n', `got ${String(n)}, expected a power of two in [2, 65536]`);
    }
    this.crc = (() => {
      const spec = resolveCrc(options.crc);
      return spec ? new Crc(spec) : null;
    })();
    const crcLen = this.crc?.length ?? 0;
    requireInteger('k', options.k, 1, n - crcLen);
    this.n = n;
    this.log2n = Math.round(Math.log2(n));
    this.kInfo = options.k;
    this.kCodec = options.k + crcLen;
    this.systematic = options.systematic ?? false;
    this.rate = this.kInfo / n;
    const method = options.construction ?? '5g';
    if (method === '5g') this.construction = { method: '5g' };
    else if (method === 'ga') {
      const designSnrDb = requireFinite('designSnrDb', options.designSnrDb ?? 2, -20, 40);
      this.construction = { method: 'ga', designSnrDb, rate: this.rate };
    } else {
      throw new PolarParameterError('construction', `got '${String(method)}', expected '5g' or 'ga'`);
    }
    this.reliability = reliabilityOrder(n, this.construction);
    this.frozen = new Uint8Array(n).fill(1);
    for (let j = n - this.kCodec; j < n; j++) this.frozen[this.reliability[j]!] = 0;
    this.infoPositions = new Int32Array(this.kCodec);
    for (let i = 0, j = 0; i < n; i++) if (!this.frozen[i]) this.infoPositions[j++] = i;
    this.scratch = new Uint8Array(n);
    this.bitsCodec = new Uint8Array(this.kCodec);
  }

  /** A short label such as "(512,256+16) 5G nonsys". */
  get label(): string {
    const crc = this.crc ? `+${this.crc.length}` : '';
    const c = this.construction.method === '5g' ? '5G' : `GA@${this.construction.designSnrDb}dB`;
    return `(${this.n},${this.kInfo}${crc}) ${c} ${this.systematic ? 'sys' : 'nonsys'}`;
  }

  /** Encodes K_info message bits into the N-bit codeword `out` (CRC appended, then polar transform). */
  encode(message: Uint8Array, out: Uint8Array): void {
    const bits = this.bitsCodec;
    bits.set(message.subarray(0, this.kInfo));
    if (this.crc) this.crc.append(bits, this.kInfo);
    this.encodeCodecBits(bits, out);
  }

  /** Encodes the K_codec non-frozen bits (message + CRC) without computing the CRC. */
  encodeCodecBits(bits: Uint8Array, out: Uint8Array): void {
    out.fill(0);
    const pos = this.infoPositions;
    for (let j = 0; j < this.kCodec; j++) out[pos[j]!] = bits[j]!;
    polarTransform(out);
    if (this.systematic) {
      // x_A = d: zero the frozen positions of u·G and transform again (valid because the info
      // set of a polar code is domination-contiguous; checked against the generator matrix in tests).
      for (let i = 0; i < this.n; i++) if (this.frozen[i]) out[i] = 0;
      polarTransform(out);
    }
  }

  /**
   * Reads the K_codec non-frozen bits (message then CRC) that a decoded codeword carries:
   * systematic: x̂ at the info positions; non-systematic: û = x̂·F^{⊗n} at the info positions.
   */
  codecBitsOf(codeword: Uint8Array, out: Uint8Array, codewordOffset = 0): void {
    const pos = this.infoPositions;
    if (this.systematic) {
      for (let j = 0; j < this.kCodec; j++) out[j] = codeword[codewordOffset + pos[j]!]!;
      return;
    }
    const s = this.scratch;
    for (let i = 0; i < this.n; i++) s[i] = codeword[codewordOffset + i]!;
    polarTransform(s);
    for (let j = 0; j < this.kCodec; j++) out[j] = s[pos[j]!]!;
  }

  /** True when the non-frozen bits pass the CRC (always true without a CRC). */
  crcPasses(codecBits: Uint8Array): boolean {
    return this.crc ? this.crc.check(codecBits, this.kInfo) : true;
  }
}
