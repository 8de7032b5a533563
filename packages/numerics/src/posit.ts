import { checkInt, allocLike, enumerateValues, type FloatArray, type NumberFormat } from './format.js';
import { doubleWords, pow2, twoProductErr, twoSumErr } from './float-bits.js';

// Scratch written by `unpack`: the posit is (-1)^sign * 2^scale * (1 + frac / 2^fbits).
let uSign = 0;
let uScale = 0;
let uFrac = 0;
let uFbits = 0;
const words = new Uint32Array(2);
// 2^i and 2^-i for i = 0..64: table lookups instead of Math.pow on the hot paths.
const P2 = new Float64Array(65).map((_, i) => 2 ** i);
const P2N = new Float64Array(65).map((_, i) => 2 ** -i);

/**
 * posit<n,es> (2022 standard semantics): patterns are unsigned integers right-aligned in n bits,
 * NaR = 2^(n-1), negatives are two's complement. All arithmetic is correctly rounded: the exact
 * result is formed (error-free transformations on doubles, or BigInt for the quire) and rounded
 * once with round-to-nearest-even on the bit string, saturating to ±maxpos / ±minpos.
 */
export class PositFormat implements NumberFormat {
  readonly kind = 'posit' as const;
  readonly id: string;
  readonly bits: number;
  /** The NaR pattern, 2^(n-1). */
  readonly nar: number;
  /** Pattern count 2^n. */
  readonly size: number;
  /** log2(maxpos) = (n-2)·2^es. */
  readonly maxScale: number;
  readonly maxpos: number;
  readonly minpos: number;
  /** Pattern of +maxpos. */
  readonly maxposBits: number;
  private readonly exactProducts: boolean;
  private readonly small: boolean;
  private decTable?: Float64Array;
  private sigTable?: Float64Array;
  private scaleTable?: Int16Array;
  private addTable?: Uint32Array;
  private mulTable?: Uint32Array;
  private divTable?: Uint32Array;
  private valuesCache?: Float64Array;

  constructor(
    readonly n: number,
    readonly es: number,
  ) {
    checkInt(`posit(n=${n}, es=${es})`, 'n', n, 2, 32);
    checkInt(`posit(n=${n}, es=${es})`, 'es', es, 0, 4);
    this.id = `posit<${n},${es}>`;
    this.bits = n;
    this.nar = 2 ** (n - 1);
    this.size = 2 ** n;
    this.maxScale = (n - 2) * 2 ** es;
    this.maxpos = pow2(this.maxScale);
    this.minpos = pow2(-this.maxScale);
    this.maxposBits = this.nar - 1;
    // Significands have at most n-2 bits, so a double holds the product of two exactly up to n = 28.
    this.exactProducts = n <= 28;
    this.small = n <= 16;
  }

  // ---- decoding ----------------------------------------------------------------------------

  /** Writes sign, scale, fraction of a pattern that is neither 0 nor NaR into the scratch. */
  private unpack(p: number): void {
    const n = this.n;
    const es = this.es;
    let x = p;
    uSign = 0;
    if (p > this.nar) {
      uSign = 1;
      x = this.size - p;
    }
    // Align the n-1 bits after the sign at the top of a 32-bit word to count the regime run.
    const y = (x * P2[33 - n]!) >>> 0;
    const r = y >>> 31;
    let m = r ? Math.clz32(~y) : Math.clz32(y);
    if (m > n - 1) m = n - 1;
    const k = r ? m - 1 : -m;
    let rem = n - 2 - m; // bits left after the regime's terminating bit
    if (rem < 0) rem = 0;
    let e: number;
    if (rem >= es) {
      uFbits = rem - es;
      e = (x >>> uFbits) & ((1 << es) - 1);
      uFrac = x & ((1 << uFbits) - 1);
    } else {
      // Exponent bits cut off by the end of the word count as 0.
      e = (x & ((1 << rem) - 1)) << (es - rem);
      uFbits = 0;
      uFrac = 0;
    }
    uScale = k * (1 << es) + e;
  }

  private buildDecodeTables(): void {
    const size = this.size;
    const dec = new Float64Array(size);
    const sig = new Float64Array(size);
    const scl = new Int16Array(size);
    for (let p = 0; p < size; p++) {
      if (p === 0) continue;
      if (p === this.nar) {
        dec[p] = NaN;
        continue;
      }
      this.unpack(p);
      const s = 1 + uFrac * P2N[uFbits]!;
      sig[p] = s;
      scl[p] = uScale;
      dec[p] = (uSign ? -s : s) * pow2(uScale);
    }
    this.decTable = dec;
    this.sigTable = sig;
    this.scaleTable = scl;
  }

  decode(p: number): number {
    if (this.small) {
      if (this.decTable === undefined) this.buildDecodeTables();
      return this.decTable![p]!;
    }
    if (p === 0) return 0;
    if (p === this.nar) return NaN;
    this.unpack(p);
    const v = (1 + uFrac * P2N[uFbits]!) * pow2(uScale);
    return uSign ? -v : v;
  }

  /** Exact integer significand and the exponent of its last bit: value = ±sig · 2^lsbExp. */
  decodeExact(p: number): { sign: number; sig: number; lsbExp: number } {
    if (p === 0 || p === this.nar) throw new RangeError(`${this.id}.decodeExact: pattern ${p} is ${p === 0 ? 'zero' : 'NaR'}`);
    this.unpack(p);
    return { sign: uSign, sig: 2 ** uFbits + uFrac, lsbExp: uScale - uFbits };
  }

  // ---- rounding ----------------------------------------------------------------------------

  /**
   * Rounds the exact value (-1)^sign · (m + t) · 2^scale2 to a pattern, where m > 0 is a double
   * and t a tail smaller than half an ulp of m, given only by its sign `tail` (-1, 0, +1)
   * relative to m. The posit bit string is built from m's bits; the first dropped bit is the
   * guard and everything below it (the tail included) is sticky.
   */
  encodeParts(sign: number, m: number, tail: number, scale2: number): number {
    doubleWords(m, words);
    let hi = words[1]!;
    let lo = words[0]!;
    let bexp = hi >>> 20;
    if (bexp === 0) {
      // Subnormal m: renormalise by 2^64.
      doubleWords(m * 18446744073709551616, words);
      hi = words[1]!;
      lo = words[0]!;
      bexp = hi >>> 20;
      scale2 -= 64;
    }
    const E = bexp - 1023 + scale2;
    const n = this.n;
    const es = this.es;
    let R: number;
    if (E >= this.maxScale) {
      R = this.maxposBits;
    } else if (E < -this.maxScale) {
      R = 1;
    } else {
      const k = E >> es; // floor division by 2^es
      const e = E - k * (1 << es);
      let rl: number;
      let regime: number;
      if (k >= 0) {
        rl = k + 2;
        regime = (P2[k + 1]! - 1) * 2;
      } else {
        rl = 1 - k;
        regime = 1;
      }
      const nf = n - 1 - rl - es;
      const fhi = hi & 0xfffff;
      // cmp: remainder (the bits dropped, as a fraction of one unit) against one half.
      let cmp: number;
      if (nf >= 0) {
        let top: number;
        if (nf < 20) {
          const rb = 20 - nf;
          top = fhi >>> rb;
          const rem = fhi & ((1 << rb) - 1);
          const half = 1 << (rb - 1);
          cmp = rem > half ? 1 : rem < half ? -1 : lo !== 0 ? 1 : 0;
        } else if (nf === 20) {
          top = fhi;
          cmp = lo > 0x80000000 ? 1 : lo < 0x80000000 ? -1 : 0;
        } else {
          const unit = P2[52 - nf]!;
          const q = Math.floor(lo / unit);
          top = fhi * P2[nf - 20]! + q;
          const rem = lo - q * unit;
          const half = unit / 2;
          cmp = rem > half ? 1 : rem < half ? -1 : 0;
        }
        R = (regime * P2[es]! + e) * P2[nf]! + top;
      } else {
        const cut = -nf; // 1..es exponent bits fall off the end
        R = regime * P2[es - cut]! + (e >> cut);
        const guard = (e >> (cut - 1)) & 1;
        const rest = (e & ((1 << (cut - 1)) - 1)) !== 0 || fhi !== 0 || lo !== 0;
        cmp = guard ? (rest ? 1 : 0) : -1;
      }
      // A positive tail breaks a tie upward; a negative one pulls an exact half below the tie.
      let up: boolean;
      if (tail === 0) up = cmp > 0 || (cmp === 0 && (R & 1) === 1); // R < 2^31
      else if (tail > 0) up = cmp >= 0;
      else up = cmp > 0;
      if (up) R += 1;
    }
    return sign ? this.size - R : R;
  }

  /** float64 -> pattern, round to nearest even on the bit string; NaN and ±Inf give NaR. */
  encode(x: number): number {
    if (x !== x || x === Infinity || x === -Infinity) return this.nar;
    if (x === 0) return 0;
    const neg = x < 0;
    const m = neg ? -x : x;
    // Saturation first also keeps subnormal doubles out of the bit path.
    if (m >= this.maxpos) return neg ? this.size - this.maxposBits : this.maxposBits;
    if (m <= this.minpos) return neg ? this.size - 1 : 1;
    return this.encodeParts(neg ? 1 : 0, m, 0, 0);
  }

  values(): Float64Array | undefined {
    if (this.valuesCache === undefined) this.valuesCache = enumerateValues(this);
    return this.valuesCache;
  }

  quantize<T extends FloatArray>(src: FloatArray, dst?: T): T {
    const out = allocLike(src, dst);
    if (this.small && this.decTable === undefined) this.buildDecodeTables();
    for (let i = 0; i < src.length; i++) {
      const x = src[i]!;
      out[i] = x !== x ? NaN : this.decode(this.encode(x));
    }
    return out;
  }

  // ---- arithmetic --------------------------------------------------------------------------

  isNaR(p: number): boolean {
    return p === this.nar;
  }

  neg(p: number): number {
    return p === 0 ? 0 : this.size - p;
  }

  abs(p: number): number {
    return p > this.nar ? this.size - p : p;
  }

  /** Pattern as a signed n-bit integer: posits order like their two's-complement integers, NaR lowest. */
  toSigned(p: number): number {
    return p >= this.nar ? p - this.size : p;
  }

  compare(a: number, b: number): number {
    const d = this.toSigned(a) - this.toSigned(b);
    return d < 0 ? -1 : d > 0 ? 1 : 0;
  }
  lt(a: number, b: number): boolean {
    return this.toSigned(a) < this.toSigned(b);
  }
  le(a: number, b: number): boolean {
    return this.toSigned(a) <= this.toSigned(b);
  }
  gt(a: number, b: number): boolean {
    return this.toSigned(a) > this.toSigned(b);
  }
  ge(a: number, b: number): boolean {
    return this.toSigned(a) >= this.toSigned(b);
  }
  eq(a: number, b: number): boolean {
    return a === b;
  }

  add(a: number, b: number): number {
    if (this.n <= 8) {
      if (this.addTable === undefined) this.addTable = this.buildTable((x, y) => this.addExact(x, y));
      return this.addTable[a * this.size + b]!;
    }
    return this.addExact(a, b);
  }

  sub(a: number, b: number): number {
    return this.add(a, this.neg(b));
  }

  mul(a: number, b: number): number {
    if (this.n <= 8) {
      if (this.mulTable === undefined) this.mulTable = this.buildTable((x, y) => this.mulExact(x, y));
      return this.mulTable[a * this.size + b]!;
    }
    return this.mulExact(a, b);
  }

  div(a: number, b: number): number {
    if (this.n <= 8) {
      if (this.divTable === undefined) this.divTable = this.buildTable((x, y) => this.divExact(x, y));
      return this.divTable[a * this.size + b]!;
    }
    return this.divExact(a, b);
  }

  /** Exact sum rounded once: TwoSum gives s + err = x + y exactly (posit values are exact doubles). */
  addExact(a: number, b: number): number {
    if (a === this.nar || b === this.nar) return this.nar;
    const x = this.decode(a);
    const y = this.decode(b);
    const s = x + y;
    if (s === 0) return 0; // a double sum that rounds to 0 is exactly 0
    const err = twoSumErr(x, y, s);
    const neg = s < 0;
    const tail = err === 0 ? 0 : (err > 0) !== neg ? 1 : -1;
    return this.encodeParts(neg ? 1 : 0, neg ? -s : s, tail, 0);
  }

  /** Product of the significands in [1,4) (exact in a double up to n = 28, TwoProduct above). */
  mulExact(a: number, b: number): number {
    if (a === this.nar || b === this.nar) return this.nar;
    if (a === 0 || b === 0) return 0;
    let sa: number, sb: number, ea: number, eb: number, sign: number;
    if (this.small) {
      if (this.sigTable === undefined) this.buildDecodeTables();
      sa = this.sigTable![a]!;
      sb = this.sigTable![b]!;
      ea = this.scaleTable![a]!;
      eb = this.scaleTable![b]!;
      sign = (a > this.nar ? 1 : 0) ^ (b > this.nar ? 1 : 0);
    } else {
      this.unpack(a);
      sa = 1 + uFrac * P2N[uFbits]!;
      ea = uScale;
      sign = uSign;
      this.unpack(b);
      sb = 1 + uFrac * P2N[uFbits]!;
      eb = uScale;
      sign ^= uSign;
    }
    const p = sa * sb;
    let tail = 0;
    if (!this.exactProducts) {
      const err = twoProductErr(sa, sb, p);
      tail = err > 0 ? 1 : err < 0 ? -1 : 0;
    }
    return this.encodeParts(sign, p, tail, ea + eb);
  }

  /** Quotient of significands in (1/2, 2); the sign of the remainder sa - q·sb (exact) is the tail. */
  divExact(a: number, b: number): number {
    if (a === this.nar || b === this.nar || b === 0) return this.nar;
    if (a === 0) return 0;
    let sa: number, sb: number, ea: number, eb: number, sign: number;
    if (this.small) {
      if (this.sigTable === undefined) this.buildDecodeTables();
      sa = this.sigTable![a]!;
      sb = this.sigTable![b]!;
      ea = this.scaleTable![a]!;
      eb = this.scaleTable![b]!;
      sign = (a > this.nar ? 1 : 0) ^ (b > this.nar ? 1 : 0);
    } else {
      this.unpack(a);
      sa = 1 + uFrac * P2N[uFbits]!;
      ea = uScale;
      sign = uSign;
      this.unpack(b);
      sb = 1 + uFrac * P2N[uFbits]!;
      eb = uScale;
      sign ^= uSign;
    }
    const q = sa / sb;
    const p = q * sb;
    const err = twoProductErr(q, sb, p);
    const d = sa - p; // exact (Sterbenz: p is within a factor 2 of sa)
    const tail = d > err ? 1 : d < err ? -1 : 0;
    return this.encodeParts(sign, q, tail, ea - eb);
  }

  sqrt(a: number): number {
    if (a === 0) return 0;
    if (a >= this.nar) return this.nar; // NaR and every negative pattern
    this.unpack(a);
    let s = 1 + uFrac * P2N[uFbits]!;
    let e = uScale;
    if (e & 1) {
      s *= 2;
      e -= 1;
    }
    const r = Math.sqrt(s); // in [1, 2)
    const p = r * r;
    const err = twoProductErr(r, r, p);
    const d = s - p;
    const tail = d > err ? 1 : d < err ? -1 : 0;
    return this.encodeParts(0, r, tail, e / 2);
  }

  /** Converts a pattern of another posit configuration into this one (decode is exact, so one rounding). */
  convertFrom(p: number, from: PositFormat): number {
    return this.encode(from.decode(p));
  }

  /** A fresh quire (exact accumulator) for this format. */
  quire(): Quire {
    return new Quire(this);
  }

  /** Exact fused dot product of two pattern vectors, rounded once. */
  dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
    if (a.length !== b.length) throw new RangeError(`${this.id}.dot: lengths differ (${a.length} vs ${b.length})`);
    const q = new Quire(this);
    for (let i = 0; i < a.length; i++) q.fma(a[i]!, b[i]!);
    return q.toPosit();
  }

  private buildTable(op: (a: number, b: number) => number): Uint32Array {
    const size = this.size;
    const t = new Uint32Array(size * size);
    for (let a = 0; a < size; a++) for (let b = 0; b < size; b++) t[a * size + b] = op(a, b);
    return t;
  }
}

/**
 * The quire: an exact fixed-point accumulator of posit products. Every posit is an integer
 * multiple of minpos = 2^-maxScale, so every product is an integer multiple of 2^-2·maxScale;
 * the quire holds that integer as a BigInt and rounds once in toPosit().
 */
export class Quire {
  private acc = 0n;
  private nar = false;
  private readonly offset: number;

  constructor(readonly format: PositFormat) {
    this.offset = 2 * format.maxScale;
  }

  clear(): this {
    this.acc = 0n;
    this.nar = false;
    return this;
  }

  get isNaR(): boolean {
    return this.nar;
  }

  /** quire += a·b (patterns), exactly. */
  fma(a: number, b: number): this {
    return this.accumulate(a, b, false);
  }

  /** quire -= a·b (patterns), exactly. */
  fms(a: number, b: number): this {
    return this.accumulate(a, b, true);
  }

  /** quire += a (pattern), exactly. */
  addPosit(a: number): this {
    const f = this.format;
    if (a === f.nar) this.nar = true;
    if (this.nar || a === 0) return this;
    const d = f.decodeExact(a);
    const v = BigInt(d.sig) << BigInt(d.lsbExp + this.offset);
    this.acc += d.sign ? -v : v;
    return this;
  }

  private accumulate(a: number, b: number, negate: boolean): this {
    const f = this.format;
    if (a === f.nar || b === f.nar) this.nar = true;
    if (this.nar || a === 0 || b === 0) return this;
    const da = f.decodeExact(a);
    const db = f.decodeExact(b);
    const prod = da.sig * db.sig;
    // Significands have at most 30 bits: their product is exact as a double below 2^53.
    const big = prod <= Number.MAX_SAFE_INTEGER ? BigInt(prod) : BigInt(da.sig) * BigInt(db.sig);
    const v = big << BigInt(da.lsbExp + db.lsbExp + this.offset);
    this.acc += (da.sign ^ db.sign) !== (negate ? 1 : 0) ? -v : v;
    return this;
  }

  /** The accumulated value rounded once to the posit format. */
  toPosit(): number {
    const f = this.format;
    if (this.nar) return f.nar;
    if (this.acc === 0n) return 0;
    const neg = this.acc < 0n;
    const mag = neg ? -this.acc : this.acc;
    const len = bitLength(mag);
    if (len <= 53) return f.encodeParts(neg ? 1 : 0, Number(mag), 0, -this.offset);
    const shift = BigInt(len - 53);
    const top = mag >> shift;
    const tail = (top << shift) !== mag ? 1 : 0;
    return f.encodeParts(neg ? 1 : 0, Number(top), tail, len - 53 - this.offset);
  }
}

function bitLength(x: bigint): number {
  const hex = x.toString(16);
  return (hex.length - 1) * 4 + (32 - Math.clz32(parseInt(hex[0]!, 16)));
}

/** posit<n,es>; throws one line naming the valid range on bad arguments. */
export function posit(n: number, es: number): PositFormat {
  return new PositFormat(n, es);
}
