import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PolarCode, polarTransform } from './code.js';
import { gaOrder, nrReliabilityOrder } from './construction.js';
import { NR_RELIABILITY_1024 } from './nr-reliability.js';
import { referenceDir } from './reference.js';
import { createDecoder } from './registry.js';

/** Generator matrix G_N = F^{⊗n} built by Kronecker products, F = [[1,0],[1,1]]. */
function kronecker(n: number): Uint8Array[] {
  let g: Uint8Array[] = [Uint8Array.of(1)];
  while (g.length < n) {
    const m = g.length;
    const next: Uint8Array[] = [];
    for (let r = 0; r < 2 * m; r++) {
      const row = new Uint8Array(2 * m);
      for (let c = 0; c < 2 * m; c++) {
        const f = r < m ? (c < m ? 1 : 0) : 1; // F[r/m][c/m]
        row[c] = f & g[r % m]![c % m]!;
      }
      next.push(row);
    }
    g = next;
  }
  return g;
}

function mulG(u: Uint8Array, g: Uint8Array[]): Uint8Array {
  const x = new Uint8Array(u.length);
  for (let r = 0; r < u.length; r++) if (u[r]) for (let c = 0; c < u.length; c++) x[c]! ^= g[r]![c]!;
  return x;
}

describe('construction', () => {
  it('embeds the 38.212 sequence identical to the shared reference copy', () => {
    const file = readFileSync(join(referenceDir(), 'nr_polar_reliability_seq_1024.txt'), 'utf8').trim().split(/\s+/).map(Number);
    expect(file).toEqual([...NR_RELIABILITY_1024]);
  });

  it('freezes all but the K_info + CRC most reliable indices < N', () => {
    const code = new PolarCode({ n: 128, k: 105, crc: '11-5G' });
    const order = nrReliabilityOrder(128);
    const info = new Set(Array.from(order.subarray(128 - 116)));
    for (let i = 0; i < 128; i++) expect(code.frozen[i]).toBe(info.has(i) ? 0 : 1);
    expect(code.kCodec).toBe(116);
    expect(code.rate).toBeCloseTo(105 / 128);
  });

  it('GA construction agrees largely with the 5G sequence and puts index N−1 last', () => {
    const ga = gaOrder(1024, 2, 0.5);
    const nr = nrReliabilityOrder(1024);
    expect(ga[1023]).toBe(1023);
    expect(ga[0]).toBe(0);
    const gaTop = new Set(Array.from(ga.subarray(512)));
    const overlap = Array.from(nr.subarray(512)).filter((i) => gaTop.has(i)).length;
    expect(overlap / 512).toBeGreaterThan(0.9);
  });
});

describe('encoders', () => {
  it('non-systematic encoding equals u·F^{⊗n} from the Kronecker generator', () => {
    const g = kronecker(64);
    const code = new PolarCode({ n: 64, k: 24, crc: '6-5G' });
    const msg = new Uint8Array(24);
    const x = new Uint8Array(64);
    for (let t = 0; t < 20; t++) {
      for (let i = 0; i < 24; i++) msg[i] = ((t * 7 + i * 3) % 5) & 1;
      code.encode(msg, x);
      const bits = new Uint8Array(code.kCodec);
      bits.set(msg);
      code.crc!.append(bits, 24);
      const u = new Uint8Array(64);
      code.infoPositions.forEach((p, j) => (u[p] = bits[j]!));
      expect(Array.from(x)).toEqual(Array.from(mulG(u, g)));
    }
  });

  it('systematic encoding carries the message at the info positions and is a codeword', () => {
    const g = kronecker(128);
    for (const k of [16, 64, 100]) {
      const code = new PolarCode({ n: 128, k, crc: '11-5G', systematic: true });
      const msg = Uint8Array.from({ length: k }, (_, i) => (i * 5 + k) % 3 === 0 ? 1 : 0);
      const x = new Uint8Array(128);
      code.encode(msg, x);
      const bits = new Uint8Array(code.kCodec);
      code.codecBitsOf(x, bits);
      expect(Array.from(bits.subarray(0, k))).toEqual(Array.from(msg));
      expect(code.crcPasses(bits)).toBe(true);
      const u = mulG(x, g); // G_N is an involution: u = x·G_N
      for (let i = 0; i < 128; i++) if (code.frozen[i]) expect(u[i]).toBe(0);
    }
  });

  it('polarTransform is an involution', () => {
    const a = Uint8Array.from({ length: 256 }, (_, i) => (i * 37) % 11 > 5 ? 1 : 0);
    const b = a.slice();
    polarTransform(b);
    polarTransform(b);
    expect(b).toEqual(a);
  });
});

describe('bad parameters fail with one line naming the parameter and the valid range', () => {
  it.each([
    [{ n: 100, k: 50 }, /^n: got 100, expected a power of two in \[2, 65536\]$/],
    [{ n: 128, k: 129 }, /^k: got 129, expected an integer in \[1, 128\]$/],
    [{ n: 128, k: 120, crc: '11-5G' }, /^k: got 120, expected an integer in \[1, 117\]$/],
    [{ n: 128, k: 64, crc: 'crc13' }, /^crc: unknown CRC 'crc13'/],
    [{ n: 2048, k: 64 }, /^n: got 2048, the 5G construction is defined for N <= 1024/],
  ])('%j', (opts, re) => {
    const err = (() => {
      try {
        new PolarCode(opts as never);
      } catch (e) {
        return e as Error;
      }
      return null;
    })();
    expect(err?.message).toMatch(re);
    expect(err?.message.includes('\n')).toBe(false);
  });

  it('rejects L < 1, unknown decoders and flip decoders without CRC', () => {
    const code = new PolarCode({ n: 64, k: 32 });
    expect(() => createDecoder(code, { type: 'scl', L: 0 })).toThrow(/^scl\.L: got 0, expected an integer in \[1, 1024\]$/);
    expect(() => createDecoder(code, { type: 'fast-scl', L: 2.5 })).toThrow(/^fast-scl\.L: got 2.5/);
    expect(() => createDecoder(code, { type: 'turbo' } as never)).toThrow(/^decoder.type: unknown decoder 'turbo', expected one of sc, fast-ssc, /);
    expect(() => createDecoder(code, { type: 'fast-sclf' })).toThrow(/^crc: decoder 'fast-sclf' needs a code with a CRC/);
  });
});
