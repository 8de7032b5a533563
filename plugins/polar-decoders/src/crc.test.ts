import { describe, expect, it } from 'vitest';
import { Crc, NAMED_CRCS, resolveCrc } from './crc.js';

function bitsOfAscii(s: string): Uint8Array {
  const out = new Uint8Array(s.length * 8);
  for (let i = 0; i < s.length; i++) for (let b = 0; b < 8; b++) out[i * 8 + b] = (s.charCodeAt(i) >> (7 - b)) & 1;
  return out;
}

/** Independent reference: long division of m(x)·x^L by g(x) on a bit array. */
function naiveRemainder(bits: Uint8Array, poly: number, L: number): number {
  const work = Array.from(bits).concat(new Array<number>(L).fill(0));
  const g = [1, ...Array.from({ length: L }, (_, j) => (poly >>> (L - 1 - j)) & 1)];
  for (let i = 0; i < bits.length; i++) if (work[i]) for (let j = 0; j <= L; j++) work[i + j]! ^= g[j]!;
  let r = 0;
  for (let j = 0; j < L; j++) r = r * 2 + work[bits.length + j]!;
  return r;
}

describe('CRC (MSB-first, zero init, no reflection)', () => {
  it('matches the CRC catalogue check values for "123456789"', () => {
    const msg = bitsOfAscii('123456789');
    // CRC-16/XMODEM (poly 0x1021, init 0, no reflection, no xorout), CRC-24/LTE-A, CRC-24/LTE-B.
    expect(new Crc(NAMED_CRCS['16-CCITT']!).remainder(msg, 0, msg.length)).toBe(0x31c3);
    expect(new Crc(NAMED_CRCS['24-5GA']!).remainder(msg, 0, msg.length)).toBe(0xcde703);
    expect(new Crc(NAMED_CRCS['24-5GB']!).remainder(msg, 0, msg.length)).toBe(0x23ef52);
  });

  it('equals long division for CRC-11, CRC-16, CRC-24C, CRC-6 and a custom 32-bit polynomial', () => {
    let seed = 7;
    const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 16) & 1;
    const polys = [NAMED_CRCS['11-5G']!, NAMED_CRCS['16-CCITT']!, NAMED_CRCS['24-5GC']!, NAMED_CRCS['6-5G']!, resolveCrc('0x04c11db7:32')!];
    for (const p of polys) {
      const crc = new Crc(p);
      for (const len of [1, 7, 8, 13, 64, 105, 256]) {
        const bits = Uint8Array.from({ length: len }, rnd);
        expect(crc.remainder(bits, 0, len), `${p.name} len ${len}`).toBe(naiveRemainder(bits, p.polynomial, p.length));
      }
    }
  });

  it('appends the remainder highest degree first and checks it', () => {
    const crc = new Crc(NAMED_CRCS['11-5G']!);
    const bits = new Uint8Array(105 + 11);
    for (let i = 0; i < 105; i += 3) bits[i] = 1;
    crc.append(bits, 105);
    const r = naiveRemainder(bits.subarray(0, 105), 0x621, 11);
    expect(Array.from(bits.subarray(105))).toEqual(Array.from({ length: 11 }, (_, j) => (r >>> (10 - j)) & 1));
    expect(crc.check(bits, 105)).toBe(true);
    bits[40]! ^= 1;
    expect(crc.check(bits, 105)).toBe(false);
  });

  it('resolves names, aliases and polynomial:length; rejects the rest in one line', () => {
    expect(resolveCrc('crc11')?.polynomial).toBe(0x621);
    expect(resolveCrc('16')?.polynomial).toBe(0x1021);
    expect(resolveCrc('24-5GC')?.polynomial).toBe(0xb2b117);
    expect(resolveCrc({ polynomial: 0x621, length: 11 })?.length).toBe(11);
    expect(resolveCrc('none')).toBeNull();
    expect(() => resolveCrc('crc99')).toThrow(/^crc: unknown CRC 'crc99', expected one of none, 6-5G, 11-5G/);
    expect(() => resolveCrc('0x620:11')).toThrow(/crc.polynomial: got 0x620, expected an odd value/);
    expect(() => resolveCrc({ polynomial: 1, length: 40 })).toThrow(/crc.length: got 40, expected an integer in \[1, 32\]/);
  });
});
