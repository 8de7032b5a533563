// Test support: a slow exact model of posits written independently of posit.ts. Values are dyadic
// rationals num·2^exp in BigInt; decoding parses the bit string as text; rounding follows the
// README's definition literally (binary search over the sorted posits, then compare against the
// decision point m(u), the (n+1)-bit posit "u followed by a 1").

export interface Dyadic {
  num: bigint;
  exp: number;
}

export const ZERO: Dyadic = { num: 0n, exp: 0 };

export function dyCmp(a: Dyadic, b: Dyadic): number {
  const e = Math.min(a.exp, b.exp);
  const x = a.num << BigInt(a.exp - e);
  const y = b.num << BigInt(b.exp - e);
  return x < y ? -1 : x > y ? 1 : 0;
}

export function dyAdd(a: Dyadic, b: Dyadic): Dyadic {
  const e = Math.min(a.exp, b.exp);
  return { num: (a.num << BigInt(a.exp - e)) + (b.num << BigInt(b.exp - e)), exp: e };
}

export function dyMul(a: Dyadic, b: Dyadic): Dyadic {
  return { num: a.num * b.num, exp: a.exp + b.exp };
}

export function dyNeg(a: Dyadic): Dyadic {
  return { num: -a.num, exp: a.exp };
}

export function dySign(a: Dyadic): number {
  return a.num < 0n ? -1 : a.num > 0n ? 1 : 0;
}

/** Exact dyadic value of a finite double, from its IEEE bits. */
export function dyFromDouble(x: number): Dyadic {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setFloat64(0, x);
  const bits = dv.getBigUint64(0);
  const neg = bits >> 63n === 1n;
  const be = Number((bits >> 52n) & 0x7ffn);
  const frac = bits & ((1n << 52n) - 1n);
  const num = be === 0 ? frac : frac | (1n << 52n);
  const exp = (be === 0 ? 1 : be) - 1075;
  return { num: neg ? -num : num, exp };
}

export function dyToDouble(a: Dyadic): number {
  // Only used for values that are exact doubles (posits up to 32 bits).
  return Number(a.num) * 2 ** a.exp;
}

/** Decodes an n-bit posit pattern by reading its bits as text; null for NaR. */
export function refDecode(n: number, es: number, pattern: number | bigint): Dyadic | null {
  const p = BigInt(pattern);
  if (p === 0n) return ZERO;
  if (p === 1n << BigInt(n - 1)) return null;
  const neg = ((p >> BigInt(n - 1)) & 1n) === 1n;
  const mag = neg ? (1n << BigInt(n)) - p : p;
  const s = mag.toString(2).padStart(n, '0').slice(1);
  const r = s[0];
  let m = 1;
  while (m < s.length && s[m] === r) m++;
  const k = r === '1' ? m - 1 : -m;
  const rest = s.slice(m + 1);
  const e = es === 0 ? 0 : parseInt(rest.slice(0, es).padEnd(es, '0'), 2);
  const fbits = rest.slice(es);
  const num = (1n << BigInt(fbits.length)) + (fbits.length ? BigInt(`0b${fbits}`) : 0n);
  return { num: neg ? -num : num, exp: k * 2 ** es + e - fbits.length };
}

/** Positive posit values and decision points of posit<n,es>, decoded on demand (cached up to n = 16). */
export class RefPosit {
  private readonly posCache: (Dyadic | undefined)[] = [];
  private readonly midCache: (Dyadic | undefined)[] = [];
  private readonly cache: boolean;
  constructor(
    readonly n: number,
    readonly es: number,
  ) {
    this.cache = n <= 16;
  }

  pos(u: number): Dyadic {
    let v = this.posCache[u];
    if (v === undefined) {
      v = refDecode(this.n, this.es, u)!;
      if (this.cache) this.posCache[u] = v;
    }
    return v;
  }

  /** m(u): pattern u followed by a 1 bit, read as an (n+1)-bit posit. */
  mid(u: number): Dyadic {
    let v = this.midCache[u];
    if (v === undefined) {
      v = refDecode(this.n + 1, this.es, BigInt(u) * 2n + 1n)!;
      if (this.cache) this.midCache[u] = v;
    }
    return v;
  }

  /**
   * Rounds the exact value x, given only through cmp(t) = sign(x - t) for dyadic t, to a pattern.
   * `sign` is the sign of x (0 for zero).
   */
  round(sign: number, cmp: (t: Dyadic) => number): number {
    const n = this.n;
    if (sign === 0) return 0;
    const cmpMag = sign > 0 ? cmp : (t: Dyadic) => -cmp(dyNeg(t));
    const top = 2 ** (n - 1) - 1;
    let u: number;
    if (cmpMag(this.pos(top)) >= 0) u = top;
    else if (cmpMag(this.pos(1)) <= 0) u = 1;
    else {
      // Largest u with pos[u] <= |x|.
      let lo = 1;
      let hi = top;
      while (hi - lo > 1) {
        const mid = Math.floor((lo + hi) / 2);
        if (cmpMag(this.pos(mid)) >= 0) lo = mid;
        else hi = mid;
      }
      u = lo;
      if (cmpMag(this.pos(u)) !== 0) {
        const c = cmpMag(this.mid(u));
        if (c > 0 || (c === 0 && u % 2 === 1)) u += 1;
      }
    }
    return sign > 0 ? u : 2 ** n - u;
  }

  roundDyadic(x: Dyadic): number {
    return this.round(dySign(x), (t) => dyCmp(x, t));
  }

  value(p: number): Dyadic | null {
    return refDecode(this.n, this.es, p);
  }

  add(a: number, b: number): number {
    const x = this.value(a);
    const y = this.value(b);
    if (!x || !y) return 2 ** (this.n - 1);
    return this.roundDyadic(dyAdd(x, y));
  }

  mul(a: number, b: number): number {
    const x = this.value(a);
    const y = this.value(b);
    if (!x || !y) return 2 ** (this.n - 1);
    return this.roundDyadic(dyMul(x, y));
  }

  div(a: number, b: number): number {
    const x = this.value(a);
    const y = this.value(b);
    if (!x || !y || dySign(y) === 0) return 2 ** (this.n - 1);
    const sy = dySign(y);
    // sign(x/y - t) = sign(x - t·y) · sign(y)
    return this.round(dySign(x) * sy, (t) => dyCmp(x, dyMul(t, y)) * sy);
  }

  sqrt(a: number): number {
    const x = this.value(a);
    if (!x || dySign(x) < 0) return 2 ** (this.n - 1);
    // For t >= 0: sign(sqrt(x) - t) = sign(x - t²).
    return this.round(dySign(x), (t) => (dySign(t) < 0 ? 1 : dyCmp(x, dyMul(t, t))));
  }

  fromDouble(v: number): number {
    if (!Number.isFinite(v)) return 2 ** (this.n - 1);
    return this.roundDyadic(dyFromDouble(v));
  }

  dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
    let acc = ZERO;
    for (let i = 0; i < a.length; i++) {
      const x = this.value(a[i]!);
      const y = this.value(b[i]!);
      if (!x || !y) return 2 ** (this.n - 1);
      acc = dyAdd(acc, dyMul(x, y));
    }
    return this.roundDyadic(acc);
  }
}

/** Small seeded generator (mulberry32) so random vectors are reproducible. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
