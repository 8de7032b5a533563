import { PolarParameterError } from './errors.js';

/** A CRC given by its generator polynomial without the leading x^length term (MSB-first, zero init). */
export interface CrcPolynomial {
  readonly name: string;
  readonly length: number;
  readonly polynomial: number;
}

/** Named polynomials (38.212 §5.1 and the AFF3CT names used in the reference tables). */
export const NAMED_CRCS: Readonly<Record<string, CrcPolynomial>> = Object.freeze({
  '6-5G': { name: '6-5G', length: 6, polynomial: 0x21 },
  '11-5G': { name: '11-5G', length: 11, polynomial: 0x621 },
  '16-CCITT': { name: '16-CCITT', length: 16, polynomial: 0x1021 },
  '24-5GA': { name: '24-5GA', length: 24, polynomial: 0x864cfb },
  '24-5GB': { name: '24-5GB', length: 24, polynomial: 0x800063 },
  '24-5GC': { name: '24-5GC', length: 24, polynomial: 0xb2b117 },
});

const ALIASES: Readonly<Record<string, string>> = {
  crc6: '6-5G', crc11: '11-5G', crc16: '16-CCITT', crc24a: '24-5GA', crc24b: '24-5GB', crc24c: '24-5GC',
  '11': '11-5G', '16': '16-CCITT', '24': '24-5GC', '6': '6-5G',
};

/** What a user may pass for a CRC: a name, `'none'`, `'0x621:11'` (polynomial:length), or an object. */
export type CrcSpec = string | { polynomial: number; length: number; name?: string } | null | undefined;

/** Resolves a CRC spec; `null` means no CRC. Unknown names throw one line listing the valid ones. */
export function resolveCrc(spec: CrcSpec): CrcPolynomial | null {
  if (spec === null || spec === undefined || spec === 'none' || spec === '') return null;
  if (typeof spec === 'object') return checkedPolynomial(spec.polynomial, spec.length, spec.name);
  const named = NAMED_CRCS[spec] ?? NAMED_CRCS[ALIASES[spec.toLowerCase()] ?? ''];
  if (named) return named;
  const m = /^(0x[0-9a-f]+|\d+):(\d+)$/i.exec(spec);
  if (m) return checkedPolynomial(Number(m[1]), Number(m[2]));
  throw new PolarParameterError(
    'crc',
    `unknown CRC '${spec}', expected one of none, ${Object.keys(NAMED_CRCS).join(', ')}, ${Object.keys(ALIASES)
      .filter((a) => a.startsWith('crc'))
      .join(', ')} or '<polynomial>:<length>' such as '0x621:11' (length 1..32)`,
  );
}

function checkedPolynomial(polynomial: number, length: number, name?: string): CrcPolynomial {
  if (!Number.isInteger(length) || length < 1 || length > 32) {
    throw new PolarParameterError('crc.length', `got ${length}, expected an integer in [1, 32]`);
  }
  if (!Number.isInteger(polynomial) || polynomial < 0 || polynomial >= 2 ** length || (polynomial & 1) === 0) {
    throw new PolarParameterError(
      'crc.polynomial',
      `got 0x${polynomial.toString(16)}, expected an odd value below 2^${length} (the x^${length} term is implicit)`,
    );
  }
  return { name: name ?? `0x${polynomial.toString(16)}:${length}`, length, polynomial };
}

/**
 * Bitwise CRC over bit arrays (one bit per byte): plain MSB-first polynomial division, zero init, no
 * reflection, no final XOR; the remainder is appended after the message, highest degree first.
 * A 256-entry table processes 8 message bits per step.
 */
export class Crc {
  readonly spec: CrcPolynomial;
  readonly length: number;
  private readonly table = new Uint32Array(256);
  private readonly mask: number;

  constructor(spec: CrcPolynomial) {
    this.spec = spec;
    this.length = spec.length;
    this.mask = spec.length === 32 ? 0xffffffff : (1 << spec.length) - 1;
    // Table of the register after shifting in 8 zero bits from state (byte << (length-8)); for
    // length < 8 the byte is folded bit by bit instead (see remainder()).
    for (let byte = 0; byte < 256; byte++) this.table[byte] = this.shiftBits(byte, 8);
  }

  /** Register after feeding `count` bits (MSB first, value `bits`) into a zero register. */
  private shiftBits(bits: number, count: number): number {
    let reg = 0;
    const top = 2 ** (this.length - 1);
    for (let i = count - 1; i >= 0; i--) {
      const inBit = (bits >>> i) & 1;
      const fb = (reg >= top ? 1 : 0) ^ inBit;
      reg = ((reg * 2) & this.mask) >>> 0;
      if (fb) reg = (reg ^ this.spec.polynomial) >>> 0;
    }
    return reg >>> 0;
  }

  /** Remainder of bits[start..start+count) · x^length mod g(x). */
  remainder(bits: Uint8Array, start: number, count: number): number {
    let reg = 0;
    let i = 0;
    const L = this.length;
    if (L >= 8) {
      for (; i + 8 <= count; i += 8) {
        const o = start + i;
        const byte =
          (bits[o]! << 7) | (bits[o + 1]! << 6) | (bits[o + 2]! << 5) | (bits[o + 3]! << 4) |
          (bits[o + 4]! << 3) | (bits[o + 5]! << 2) | (bits[o + 6]! << 1) | bits[o + 7]!;
        const idx = ((reg >>> (L - 8)) ^ byte) & 0xff;
        reg = (((L === 32 ? (reg << 8) : (reg << 8) & this.mask) ^ this.table[idx]!) >>> 0);
      }
    }
    const top = 2 ** (L - 1);
    for (; i < count; i++) {
      const fb = (reg >= top ? 1 : 0) ^ bits[start + i]!;
      reg = ((reg * 2) & this.mask) >>> 0;
      if (fb) reg = (reg ^ this.spec.polynomial) >>> 0;
    }
    return reg >>> 0;
  }

  /** Writes the CRC of bits[0..k) into bits[k..k+length), highest degree first. */
  append(bits: Uint8Array, k: number): void {
    const r = this.remainder(bits, 0, k);
    for (let j = 0; j < this.length; j++) bits[k + j] = (r >>> (this.length - 1 - j)) & 1;
  }

  /** True when bits[0..k+length) is a message followed by its CRC. */
  check(bits: Uint8Array, k: number): boolean {
    return this.checkAt(bits, 0, k);
  }

  /** check() on a window starting at `start`. */
  checkAt(bits: Uint8Array, start: number, k: number): boolean {
    const r = this.remainder(bits, start, k);
    for (let j = 0; j < this.length; j++) {
      if (bits[start + k + j] !== ((r >>> (this.length - 1 - j)) & 1)) return false;
    }
    return true;
  }
}
