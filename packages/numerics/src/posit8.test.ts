import { describe, expect, it } from 'vitest';
import { posit } from './posit.js';
import { parseHexFloat, readBytes, readCsv } from './reference-vectors.js';

// Bit-exact against every posit table of the shared reference vectors.
describe('posit<8,es> arithmetic tables (all 65,536 pairs)', () => {
  for (const es of [0, 1, 2]) {
    for (const op of ['add', 'mul', 'div'] as const) {
      it(`p8e${es} ${op}: table path and exact path both match`, () => {
        const f = posit(8, es);
        const ref = readBytes(`posit8/p8e${es}_${op}.bin`);
        const exact = op === 'add' ? f.addExact.bind(f) : op === 'mul' ? f.mulExact.bind(f) : f.divExact.bind(f);
        let tableMismatch = 0;
        let exactMismatch = 0;
        let firstBad = '';
        for (let a = 0; a < 256; a++) {
          for (let b = 0; b < 256; b++) {
            const want = ref[a * 256 + b]!;
            const got = f[op](a, b);
            if (got !== want) {
              tableMismatch++;
              if (!firstBad) firstBad = `${op}(0x${a.toString(16)}, 0x${b.toString(16)}) = 0x${got.toString(16)}, want 0x${want.toString(16)}`;
            }
            if (exact(a, b) !== want) exactMismatch++;
          }
        }
        expect(firstBad).toBe('');
        expect(tableMismatch).toBe(0);
        expect(exactMismatch).toBe(0);
      });
    }
  }
});

describe('posit values and sqrt, n = 4..8, es = 0..2 (every pattern)', () => {
  const rows = readCsv('small/posit_values_n4-8.csv');
  it('has all 1,488 rows', () => expect(rows.length).toBe(1488));
  it('decode, encode(decode) and sqrt match the table', () => {
    const bad: string[] = [];
    for (const r of rows) {
      const f = posit(Number(r.n), Number(r.es));
      const p = parseInt(r.pattern_hex!, 16);
      const want = parseHexFloat(r.value_hexfloat!);
      const got = f.decode(p);
      if (!(Object.is(got, want) || (Number.isNaN(got) && p === f.nar) || (got === 0 && want === 0))) bad.push(`${f.id} decode ${r.pattern_hex} = ${got}, want ${want}`);
      if (p !== f.nar && f.encode(got) !== p) bad.push(`${f.id} encode(${got}) != ${r.pattern_hex}`);
      const sq = f.sqrt(p);
      if (sq !== parseInt(r.sqrt_hex!, 16)) bad.push(`${f.id} sqrt ${r.pattern_hex} = ${sq.toString(16)}, want ${r.sqrt_hex}`);
    }
    expect(bad.slice(0, 5)).toEqual([]);
  });
  it('spot values: posit<8,2> maxpos = 2^24, posit<4,0> 0x3 = 3/4', () => {
    expect(posit(8, 2).decode(0x7f)).toBe(2 ** 24);
    expect(posit(4, 0).decode(0x3)).toBe(0.75);
    expect(posit(8, 0).decode(0x80)).toBeNaN();
  });
});

describe('conversion from double at every rounding decision point, n = 4..8', () => {
  const rows = readCsv('small/posit_from_double_n4-8.csv');
  it('matches every row', () => {
    expect(rows.length).toBeGreaterThan(6000);
    const bad: string[] = [];
    for (const r of rows) {
      const f = posit(Number(r.n), Number(r.es));
      const x = parseHexFloat(r.x_hexfloat!);
      const got = f.encode(x);
      if (got !== parseInt(r.result_hex!, 16)) bad.push(`${f.id} encode(${r.x_hexfloat}) = ${got.toString(16)}, want ${r.result_hex}`);
    }
    expect(bad.slice(0, 5)).toEqual([]);
    expect(bad.length).toBe(0);
  });
  it('posit<8,2>: the decision point between 2^20 and 2^24 is 2^22 (geometric), ties to even', () => {
    const f = posit(8, 2);
    expect(f.encode(2 ** 22)).toBe(0x7e); // tie, 0x7e is even
    expect(f.encode(2 ** 22 * (1 + 2 ** -52))).toBe(0x7f);
    expect(f.encode(2 ** 23)).toBe(0x7f);
  });
});
