import { describe, expect, it } from 'vitest';
import { posit, type PositFormat } from './posit.js';
import { RefPosit, dyToDouble, refDecode, seededRandom } from './exact-reference.js';

// Property tests against the independent BigInt model in exact-reference.ts.

function hex(p: number): string {
  return `0x${p.toString(16)}`;
}

function nextUp(x: number): number {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setFloat64(0, x);
  const b = dv.getBigUint64(0);
  dv.setBigUint64(0, x >= 0 ? b + 1n : b - 1n);
  return dv.getFloat64(0);
}
function nextDown(x: number): number {
  return -nextUp(-x);
}

/** Random patterns, with the special ones (0, NaR, ±minpos, ±maxpos) over-represented. */
function patternSource(f: PositFormat, seed: number): () => number {
  const rnd = seededRandom(seed);
  const special = [0, f.nar, 1, f.size - 1, f.maxposBits, f.size - f.maxposBits, 2 ** (f.n - 2)];
  return () => (rnd() < 0.05 ? special[Math.floor(rnd() * special.length)]! : Math.floor(rnd() * f.size));
}

describe('posit16 against the exact model', () => {
  for (const es of [0, 1, 2]) {
    const f = posit(16, es);
    const ref = new RefPosit(16, es);

    it(`posit<16,${es}> decodes all 65,536 patterns exactly`, () => {
      let bad = 0;
      for (let p = 0; p < 65536; p++) {
        const d = refDecode(16, es, p);
        const want = d ? dyToDouble(d) : NaN;
        if (!Object.is(f.decode(p), want) && !(Number.isNaN(want) && Number.isNaN(f.decode(p)))) bad++;
      }
      expect(bad).toBe(0);
      expect(f.decode(0x4000)).toBe(1);
      expect(f.decode(0x7fff)).toBe(2 ** (14 * 2 ** es));
    });

    it(`posit<16,${es}> sqrt of every pattern`, () => {
      const bad: string[] = [];
      for (let p = 0; p < 65536; p++) {
        const got = f.sqrt(p);
        const want = ref.sqrt(p);
        if (got !== want) bad.push(`sqrt(${hex(p)}) = ${hex(got)}, want ${hex(want)}`);
      }
      expect(bad.slice(0, 5)).toEqual([]);
    });

    it(`posit<16,${es}> add, sub, mul, div on 15,000 random pairs each`, () => {
      const next = patternSource(f, 1000 + es);
      const bad: string[] = [];
      for (let i = 0; i < 15000; i++) {
        const a = next();
        const b = next();
        const checks: [string, number, number][] = [
          ['add', f.add(a, b), ref.add(a, b)],
          ['sub', f.sub(a, b), ref.add(a, f.neg(b))],
          ['mul', f.mul(a, b), ref.mul(a, b)],
          ['div', f.div(a, b), ref.div(a, b)],
        ];
        for (const [op, got, want] of checks) if (got !== want) bad.push(`${op}(${hex(a)}, ${hex(b)}) = ${hex(got)}, want ${hex(want)}`);
      }
      expect(bad.slice(0, 5)).toEqual([]);
    });

    it(`posit<16,${es}> converts from double at every decision point and one double either side`, () => {
      const bad: string[] = [];
      for (let u = 1; u < 2 ** 15 - 1; u++) {
        const m = dyToDouble(ref.mid(u)); // 17-bit posit: exact as a double
        for (const x of [m, nextUp(m), nextDown(m)]) {
          for (const v of u % 2 === 0 ? [x, -x] : [x]) {
            const got = f.encode(v);
            const want = ref.fromDouble(v);
            if (got !== want) bad.push(`encode(${v}) = ${hex(got)}, want ${hex(want)}`);
          }
        }
      }
      expect(bad.slice(0, 5)).toEqual([]);
    });
  }

  it('posit<16,1> quire: 200 random dot products of 100 terms, rounded once', () => {
    const f = posit(16, 1);
    const ref = new RefPosit(16, 1);
    const rnd = seededRandom(77);
    const bad: string[] = [];
    for (let t = 0; t < 200; t++) {
      // Values near 1 make heavy cancellation likely, where a rounded accumulator goes wrong.
      const a = Array.from({ length: 100 }, () => f.encode((rnd() - 0.5) * 2 ** Math.floor(rnd() * 8 - 4)));
      const b = Array.from({ length: 100 }, () => f.encode((rnd() - 0.5) * 2 ** Math.floor(rnd() * 8 - 4)));
      const got = f.dot(a, b);
      const want = ref.dot(a, b);
      if (got !== want) bad.push(`dot #${t} = ${hex(got)}, want ${hex(want)}`);
    }
    expect(bad).toEqual([]);
  });

  it('quire is exact where rounding each product is not: maxpos·maxpos − maxpos·maxpos + minpos·minpos', () => {
    const f = posit(16, 1);
    const q = f.quire();
    q.fma(f.maxposBits, f.maxposBits).fms(f.maxposBits, f.maxposBits).fma(1, 1);
    // The exact result minpos² = 2^-56 is below minpos and saturates to minpos, not 0.
    expect(q.toPosit()).toBe(1);
    q.clear().fma(f.encode(3), f.encode(1 / 3)).addPosit(f.encode(-1));
    // 3·p(1/3) − 1 is a small non-zero residual (exact in a double: p(1/3) has 13 bits);
    // rounding the product first gives exactly 1 and the naive sum gives 0.
    const residual = 3 * f.decode(f.encode(1 / 3)) - 1;
    expect(residual).not.toBe(0);
    expect(q.toPosit()).toBe(f.encode(residual));
    expect(f.add(f.mul(f.encode(3), f.encode(1 / 3)), f.encode(-1))).toBe(0);
    expect(f.dot([f.nar, 0x4000], [0x4000, 0x4000])).toBe(f.nar);
  });
});

describe('NaR and saturation rules', () => {
  const f = posit(16, 1);
  it('NaR in gives NaR out; x/0, sqrt(negative), NaN and ±Inf give NaR', () => {
    const one = f.encode(1);
    expect([f.add(f.nar, one), f.mul(one, f.nar), f.div(one, 0), f.div(0, 0), f.sqrt(f.encode(-4))]).toEqual(Array(5).fill(f.nar));
    expect([f.encode(NaN), f.encode(Infinity), f.encode(-Infinity)]).toEqual([f.nar, f.nar, f.nar]);
    expect(f.encode(-0)).toBe(0);
    expect(f.decode(f.nar)).toBeNaN();
  });
  it('never rounds a non-zero value to 0 or NaR', () => {
    expect(f.encode(1e-300)).toBe(1);
    expect(f.encode(-1e-300)).toBe(0xffff);
    expect(f.encode(1e300)).toBe(0x7fff);
    expect(f.mul(1, 1)).toBe(1); // minpos² saturates to minpos
    expect(f.mul(0x7fff, 0x7fff)).toBe(0x7fff);
    expect(f.div(1, 0x7fff)).toBe(1);
  });
  it('orders patterns as signed integers with NaR lowest', () => {
    expect(f.lt(f.nar, f.encode(-1e9))).toBe(true);
    expect(f.lt(f.encode(-2), f.encode(-1))).toBe(true);
    expect(f.le(f.encode(1.5), f.encode(1.5))).toBe(true);
    expect(f.gt(f.encode(0.001), 0)).toBe(true);
    expect(f.compare(f.encode(3), f.encode(2))).toBe(1);
  });
  it('converts between configurations with one rounding', () => {
    const p16 = posit(16, 1);
    const p8 = posit(8, 0);
    // 1 + 2^-5 is exact in posit<16,1>; posit<8,0> near 1 has 5 fraction bits, so it is kept.
    expect(p8.decode(p8.convertFrom(p16.encode(1 + 2 ** -5), p16))).toBe(1 + 2 ** -5);
    // 1 + 2^-6 is a tie in posit<8,0> (0x40 even vs 0x41) and goes to 1.
    expect(p8.convertFrom(p16.encode(1 + 2 ** -6), p16)).toBe(0x40);
    expect(p8.convertFrom(p16.nar, p16)).toBe(0x80);
  });
});

describe('other widths against the exact model', () => {
  const configs: [number, number][] = [
    [2, 0], [3, 1], [5, 4], [10, 3], [12, 0], [20, 2], [24, 4], [28, 1], [31, 0], [32, 0], [32, 2], [32, 4],
  ];
  for (const [n, es] of configs) {
    it(`posit<${n},${es}> add, mul, div, sqrt, quire and conversions`, () => {
      const f = posit(n, es);
      const ref = new RefPosit(n, es);
      const next = patternSource(f, n * 10 + es);
      const rnd = seededRandom(n * 100 + es);
      const bad: string[] = [];
      for (let i = 0; i < 600; i++) {
        const a = next();
        const b = next();
        if (f.add(a, b) !== ref.add(a, b)) bad.push(`add(${hex(a)}, ${hex(b)})`);
        if (f.mul(a, b) !== ref.mul(a, b)) bad.push(`mul(${hex(a)}, ${hex(b)})`);
        if (f.div(a, b) !== ref.div(a, b)) bad.push(`div(${hex(a)}, ${hex(b)})`);
        if (f.sqrt(a) !== ref.sqrt(a)) bad.push(`sqrt(${hex(a)})`);
        const x = (rnd() - 0.5) * 2 ** ((rnd() - 0.5) * 2 * Math.min(1000, f.maxScale * 1.2));
        if (f.encode(x) !== ref.fromDouble(x)) bad.push(`encode(${x})`);
      }
      for (let t = 0; t < 10; t++) {
        const a = Array.from({ length: 30 }, next);
        const b = Array.from({ length: 30 }, next);
        if (f.dot(a, b) !== ref.dot(a, b)) bad.push(`dot #${t}`);
      }
      expect(bad.slice(0, 5)).toEqual([]);
    });
  }
});

describe('rounding with a sticky tail (n > 28, where significand products exceed a double)', () => {
  it('posit<32,0> products just below and above a tie round the right way', () => {
    // Build A·B whose bits below the posit's last fraction bit are 0111…1 followed by bits that
    // make the double product round up onto the tie: the exact value is below the tie.
    const f = posit(32, 0);
    const ref = new RefPosit(32, 0);
    const rnd = seededRandom(5);
    const mod = 1n << 29n;
    const inverse = (a: bigint): bigint => {
      let x = 1n;
      for (let i = 0; i < 29; i++) x = (x * (2n - a * x)) % mod; // Newton iteration for 2-adic inverse
      return ((x % mod) + mod) % mod;
    };
    const bad: string[] = [];
    let belowTie = 0;
    for (let i = 0; i < 400; i++) {
      const A = (1n << 29n) + BigInt(Math.floor(rnd() * 2 ** 28)) * 2n + 1n;
      const t = (1n << 28n) + BigInt((i % 128) - 64);
      const B = (1n << 29n) + ((t * inverse(A)) % mod);
      const a = Number((1n << 30n) + A - (1n << 29n));
      const b = Number((1n << 30n) + B - (1n << 29n));
      if (((A * B) % mod) < 1n << 28n && A * B < 1n << 59n) belowTie++;
      if (f.mul(a, b) !== ref.mul(a, b)) bad.push(`mul(${hex(a)}, ${hex(b)}) = ${hex(f.mul(a, b))}, want ${hex(ref.mul(a, b))}`);
      if (f.mul(a, f.neg(b)) !== ref.mul(a, f.neg(b))) bad.push(`mul(${hex(a)}, -${hex(b)})`);
    }
    expect(belowTie).toBeGreaterThan(50);
    expect(bad.slice(0, 5)).toEqual([]);
  });
  it('encodeParts: a tie with a negative tail rounds down, with a positive tail up', () => {
    const f = posit(16, 1);
    // Between 1 (0x4000) and 1 + 2^-12 (0x4001) the decision point is 1 + 2^-13.
    const tie = 1 + 2 ** -13;
    expect(f.encodeParts(0, tie, 0, 0)).toBe(0x4000);
    expect(f.encodeParts(0, tie, -1, 0)).toBe(0x4000);
    expect(f.encodeParts(0, tie, 1, 0)).toBe(0x4001);
    const tie2 = 1 + 3 * 2 ** -13; // between 0x4001 (odd) and 0x4002
    expect(f.encodeParts(0, tie2, 0, 0)).toBe(0x4002);
    expect(f.encodeParts(0, tie2, -1, 0)).toBe(0x4001);
    expect(f.encodeParts(1, 1, -1, 0)).toBe(0x10000 - 0x4000);
  });
});

describe('argument checks', () => {
  it('throws one line naming the valid range', () => {
    expect(() => posit(1, 0)).toThrow('posit(n=1, es=0): n must be an integer in 2..32 (got 1)');
    expect(() => posit(8, 5)).toThrow('posit(n=8, es=5): es must be an integer in 0..4 (got 5)');
    expect(() => posit(8.5, 0)).toThrow(/n must be an integer in 2\.\.32/);
  });
});
