// Exact double-precision building blocks shared by the formats: bit views, exact powers of two,
// error-free transformations (TwoSum, TwoProduct) and round-half-to-even to an integer.

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
const f32 = new Float32Array(1);
const u32f = new Uint32Array(f32.buffer);

// The bit views below index the high word as u32[1]; that holds on little-endian hosts only.
if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error('@tessera/numerics: needs a little-endian host (float bit views)');
}

/** High and low 32-bit words of a double, written into `out` to avoid allocation. */
export function doubleWords(x: number, out: Uint32Array): void {
  f64[0] = x;
  out[0] = u32[0]!;
  out[1] = u32[1]!;
}

export function doubleFromWords(hi: number, lo: number): number {
  u32[0] = lo >>> 0;
  u32[1] = hi >>> 0;
  return f64[0]!;
}

export function float32Bits(x: number): number {
  f32[0] = x;
  return u32f[0]!;
}

export function float32FromBits(bits: number): number {
  u32f[0] = bits >>> 0;
  return f32[0]!;
}

const POW2_OFFSET = 1100;
const POW2 = new Float64Array(2 * POW2_OFFSET + 1);
{
  // Built by repeated exact doubling/halving so every entry is exact, subnormals included.
  POW2[POW2_OFFSET] = 1;
  for (let i = 1; i <= POW2_OFFSET; i++) {
    POW2[POW2_OFFSET + i] = POW2[POW2_OFFSET + i - 1]! * 2;
    POW2[POW2_OFFSET - i] = POW2[POW2_OFFSET - i + 1]! / 2;
  }
}

/** Exact 2^e for integer e (0 below the subnormal range, Infinity above the double range). */
export function pow2(e: number): number {
  if (e > POW2_OFFSET) return Infinity;
  if (e < -POW2_OFFSET) return 0;
  return POW2[e + POW2_OFFSET]!;
}

/**
 * Binary exponent of a finite non-zero double: the E with 2^E <= |x| < 2^(E+1).
 * Read from the bits, so it is exact where Math.log2 is not.
 */
export function exponentOf(x: number): number {
  f64[0] = x;
  const be = (u32[1]! >>> 20) & 0x7ff;
  if (be !== 0) return be - 1023;
  // Subnormal: scale into the normal range first.
  f64[0] = x * 18446744073709551616; // 2^64
  return ((u32[1]! >>> 20) & 0x7ff) - 1023 - 64;
}

/** Round half to even to an integer (ONNX Round, IEEE roundTiesToEven). */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f; // exact: x and f share the binade or f is 0
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** Sign of the rounding error of s = fl(a + b): returns err with a + b = s + err exactly. */
export function twoSumErr(a: number, b: number, s: number): number {
  const bb = s - a;
  return (a - (s - bb)) + (b - bb);
}

const SPLITTER = 134217729; // 2^27 + 1, Veltkamp split

/** Error of p = fl(a * b): a * b = p + err exactly (Dekker; no FMA in JS). Inputs must not overflow on split. */
export function twoProductErr(a: number, b: number, p: number): number {
  let c = SPLITTER * a;
  const ah = c - (c - a);
  const al = a - ah;
  c = SPLITTER * b;
  const bh = c - (c - b);
  const bl = b - bh;
  return ((ah * bh - p) + ah * bl + al * bh) + al * bl;
}
