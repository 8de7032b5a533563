import { exponentOf, pow2, twoSumErr } from './float-bits.js';
import type { PositFormat } from './posit.js';

/** A scalar multiplier on real values, exact or approximate. */
export type ScalarMul = (x: number, y: number) => number;

const MAX_OPERAND = 2 ** 26; // keeps every intermediate of the integer algorithm exact in a double

function checkOperand(fn: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v >= MAX_OPERAND) {
    throw new RangeError(`${fn}: operands must be integers in 0..2^26-1 (got ${v})`);
  }
}

/**
 * Mitchell's logarithmic product of unsigned integers (Mitchell 1962): log2(1+x) ≈ x both ways.
 * With A = 2^k1 + f, B = 2^k2 + g and S = f·2^k2 + g·2^k1: P = 2^(k1+k2) + S if S < 2^(k1+k2),
 * else 2·S. Never over-estimates; at most 1/9 below the exact product.
 */
export function mitchellMul(a: number, b: number): number {
  checkOperand('mitchellMul', a);
  checkOperand('mitchellMul', b);
  if (a === 0 || b === 0) return 0;
  const k1 = 31 - Math.clz32(a);
  const k2 = 31 - Math.clz32(b);
  const base = 2 ** (k1 + k2);
  const s = (a - 2 ** k1) * 2 ** k2 + (b - 2 ** k2) * 2 ** k1;
  return s < base ? base + s : 2 * s;
}

/** Keeps the w most significant bits of a (the leading one and w-1 below it), dropping the rest. */
export function truncateToW(a: number, w: number): number {
  const k = 31 - Math.clz32(a);
  const drop = k + 1 - w;
  if (a === 0 || drop <= 0) return a;
  const unit = 2 ** drop;
  return Math.floor(a / unit) * unit;
}

/** Mitch-w (Kim et al., IEEE TC 2019): Mitchell on operands truncated to w significant bits. */
export function mitchWMul(a: number, b: number, w: number): number {
  if (!Number.isInteger(w) || w < 1) throw new RangeError(`mitchWMul: w must be an integer >= 1 (got ${w})`);
  checkOperand('mitchWMul', a);
  checkOperand('mitchWMul', b);
  return mitchellMul(truncateToW(a, w), truncateToW(b, w));
}

/** Signed integers in sign-magnitude: sign = sa XOR sb, magnitudes through Mitchell (or Mitch-w when w is given). */
export function mitchellMulSigned(a: number, b: number, w?: number): number {
  const p = w === undefined ? mitchellMul(Math.abs(a), Math.abs(b)) : mitchWMul(Math.abs(a), Math.abs(b), w);
  return (a < 0) !== (b < 0) && p !== 0 ? -p : p;
}

/**
 * Mitchell on float64 values (sign/exponent/fraction): E = ea + eb and the fraction sum
 * ma + mb carries into the exponent. With w given, each fraction is first truncated to w-1 bits
 * (Mitch-w on floats). The log-domain sum is exact in a double; only the final scaling can
 * overflow to ±Inf or underflow with IEEE rounding. Zeros, Inf and NaN follow IEEE multiplication.
 */
export function mitchellMulFloat(x: number, y: number, w?: number): number {
  if (x !== x || y !== y || x === 0 || y === 0 || !Number.isFinite(x) || !Number.isFinite(y)) return x * y;
  const neg = (x < 0) !== (y < 0);
  const ax = Math.abs(x);
  const ay = Math.abs(y);
  const ea = exponentOf(ax);
  const eb = exponentOf(ay);
  let ma = ax * pow2(-ea) - 1; // exact: scaling by a power of two, then Sterbenz
  let mb = ay * pow2(-eb) - 1;
  if (ma !== ma || mb !== mb) return x * y;
  if (w !== undefined) {
    const q = pow2(w - 1);
    ma = Math.floor(ma * q) / q;
    mb = Math.floor(mb * q) / q;
  }
  const s = ma + mb;
  const p = s < 1 ? (1 + s) * pow2(ea + eb) : s * pow2(ea + eb + 1);
  return neg ? -p : p;
}

/** Mitch-w on floats: fractions truncated to w-1 bits, then Mitchell. */
export function mitchWMulFloat(x: number, y: number, w: number): number {
  if (!Number.isInteger(w) || w < 1 || w > 53) throw new RangeError(`mitchWMulFloat: w must be an integer in 1..53 (got ${w})`);
  return mitchellMulFloat(x, y, w);
}

/**
 * PLAM (Murillo et al., IEEE TETC 2021) on posit patterns: the Mitchell product of the two
 * posit values (exact in a double), rounded once to the posit format. NaR wins over zero.
 */
export function plamMul(format: PositFormat, a: number, b: number): number {
  if (a === format.nar || b === format.nar) return format.nar;
  if (a === 0 || b === 0) return 0;
  return format.encode(mitchellMulFloat(format.decode(a), format.decode(b)));
}

/** PLAM as a multiplier on real values: operands are rounded to the posit format first. */
export function plamMulValues(format: PositFormat): ScalarMul {
  return (x, y) => format.decode(plamMul(format, format.encode(x), format.encode(y)));
}

export const exactMul: ScalarMul = (x, y) => x * y;

/**
 * C[m×n] = A[m×k] · B[k×n] (row-major) with every product from `mul` and the k products of each
 * output summed exactly (floating-point expansion, as in Shewchuk's / Python's fsum) and rounded
 * once to float64, so the result does not depend on summation order.
 */
export function approxMatMul(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  m: number,
  k: number,
  n: number,
  mul: ScalarMul,
  out: Float64Array = new Float64Array(m * n),
): Float64Array {
  if (a.length !== m * k) throw new RangeError(`approxMatMul: a has ${a.length} elements, m·k = ${m * k}`);
  if (b.length !== k * n) throw new RangeError(`approxMatMul: b has ${b.length} elements, k·n = ${k * n}`);
  if (out.length !== m * n) throw new RangeError(`approxMatMul: out has ${out.length} elements, m·n = ${m * n}`);
  const partials = new Float64Array(k + 1);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let np = 0;
      let special = 0; // sum of non-finite products, kept apart so Inf/NaN propagate as in IEEE
      for (let p = 0; p < k; p++) {
        let x = mul(a[i * k + p]!, b[p * n + j]!);
        if (!Number.isFinite(x)) {
          special += x;
          continue;
        }
        let used = 0;
        for (let q = 0; q < np; q++) {
          const y = partials[q]!;
          const hi = x + y;
          const lo = twoSumErr(x, y, hi);
          if (lo !== 0) partials[used++] = lo;
          x = hi;
        }
        partials[used++] = x;
        np = used;
      }
      out[i * n + j] = special !== 0 || special !== special ? special : roundPartials(partials, np);
    }
  }
  return out;
}

/** Correctly rounded sum of non-overlapping partials in increasing magnitude (fsum's final step). */
function roundPartials(partials: Float64Array, np: number): number {
  if (np === 0) return 0;
  let i = np - 1;
  let hi = partials[i]!;
  let lo = 0;
  while (i > 0) {
    const x = hi;
    const y = partials[--i]!;
    hi = x + y;
    const yr = hi - x;
    lo = y - yr;
    if (lo !== 0) break;
  }
  // Half-way case: the next partial decides the direction.
  if (i > 0 && ((lo < 0 && partials[i - 1]! < 0) || (lo > 0 && partials[i - 1]! > 0))) {
    const y = lo * 2;
    const x = hi + y;
    if (y === x - hi) hi = x;
  }
  return hi;
}
