/**
 * The posit side of the proposed posit x fixed MAC [R]: a posit<n,es> weight pattern decodes to a
 * sign, a power-of-two scale t and the fraction bits, so its product with a fixed-point activation
 * code is a sum of shifted copies of that code — for Posit4 a shift plus at most one add — and
 * goes straight into the fixed-point accumulator (no multiplier array, no posit encoder).
 */

export interface PositTerms {
  /** +1, -1, or 0 for the zero pattern. */
  sign: number;
  /** value = sign · 2^scale · (1 + fraction / 2^fractionBits). */
  scale: number;
  fraction: number;
  fractionBits: number;
  /** NaR (1 << (n-1)). */
  nar: boolean;
}

/** Decodes a posit<n,es> pattern (right-aligned, two's complement) with the regime / exponent / fraction fields of the 2022 standard. */
export function decodePositTerms(pattern: number, n: number, es: number): PositTerms {
  const mask = 2 ** n - 1;
  const p = pattern & mask;
  if (p === 0) return { sign: 0, scale: 0, fraction: 0, fractionBits: 0, nar: false };
  if (p === 2 ** (n - 1)) return { sign: 0, scale: 0, fraction: 0, fractionBits: 0, nar: true };
  const negative = p >= 2 ** (n - 1);
  const m = negative ? (2 ** n - p) & mask : p;
  // Bits after the sign, most significant first.
  const bits: number[] = [];
  for (let i = n - 2; i >= 0; i--) bits.push((m >> i) & 1);
  const r = bits[0]!;
  let run = 0;
  while (run < bits.length && bits[run] === r) run++;
  const k = r === 1 ? run - 1 : -run;
  let pos = run + 1; // skip the terminating bit (if any)
  let e = 0;
  for (let i = 0; i < es; i++) e = 2 * e + (pos + i < bits.length ? bits[pos + i]! : 0);
  pos += es;
  const fractionBits = Math.max(0, bits.length - pos);
  let fraction = 0;
  for (let i = 0; i < fractionBits; i++) fraction = 2 * fraction + bits[pos + i]!;
  return { sign: negative ? -1 : 1, scale: k * 2 ** es + e, fraction, fractionBits, nar: false };
}

/** The value of the terms (exact in float64 for n <= 32). */
export function positTermsValue(t: PositTerms): number {
  if (t.nar) return NaN;
  return t.sign * 2 ** t.scale * (1 + t.fraction / 2 ** t.fractionBits);
}

/**
 * Product of a posit weight and a fixed-point activation code `a` (an integer), as an integer
 * multiple of 2^-lsbShift: the shift-add form ±(a << (t + L)) ± Σ_f (a << (t + L − j)) with
 * L = lsbShift, one term per set fraction bit j. Throws if a shift would drop bits (the
 * accumulator LSB is too coarse for this weight).
 */
export function shiftAddProduct(t: PositTerms, a: number, lsbShift: number): number {
  if (t.nar) throw new RangeError('shiftAddProduct: NaR weight');
  if (t.sign === 0 || a === 0) return 0;
  const base = t.scale + lsbShift;
  if (base - t.fractionBits < 0) throw new RangeError(`shiftAddProduct: accumulator LSB 2^-${lsbShift} is coarser than the product quantum 2^${t.scale - t.fractionBits}`);
  let acc = a * 2 ** base;
  for (let j = 1; j <= t.fractionBits; j++) if ((t.fraction >> (t.fractionBits - j)) & 1) acc += a * 2 ** (base - j);
  return t.sign * acc;
}

/** How many shifted adds the product costs beyond the leading shift (set fraction bits). */
export function extraAdds(t: PositTerms): number {
  let c = 0;
  for (let f = t.fraction; f > 0; f >>= 1) c += f & 1;
  return c;
}
