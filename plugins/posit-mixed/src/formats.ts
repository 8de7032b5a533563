import { fixed, posit, type FixedFormat, type PositFormat } from '@tessera/numerics';

/**
 * The two weight formats of one layer. FixP4 is fixed<bits, frac> (step 2^-frac); Posit4 is
 * posit<bits, es> scaled by 2^positShift. Both scales are powers of two chosen per layer to
 * minimise that format's own squared error on the layer's weights [R]; with power-of-two scales
 * the fake-quant is exact in float32 and the hardware needs only shifts.
 */
export interface LayerFormats {
  fix: FixedFormat;
  posit: PositFormat;
  /** Posit values are multiplied by 2^positShift. */
  positShift: number;
}

/** Squared quantization error of `w` under a quantizer. */
function sse(w: Float32Array, q: (x: Float32Array) => Float32Array): number {
  const y = q(w);
  let s = 0;
  for (let i = 0; i < w.length; i++) s += (w[i]! - y[i]!) ** 2;
  return s;
}

export function quantizeFix(w: Float32Array, f: FixedFormat): Float32Array {
  return f.quantize(w, new Float32Array(w.length));
}

export function quantizePosit(w: Float32Array, p: PositFormat, shift: number): Float32Array {
  const s = 2 ** shift;
  const u = Float32Array.from(w, (x) => x / s);
  const q = p.quantize(u, new Float32Array(w.length));
  for (let i = 0; i < q.length; i++) q[i] = q[i]! * s;
  return q;
}

/** Per-layer power-of-two scales for both formats, each minimising its own squared error on `w`. */
export function chooseLayerFormats(w: Float32Array, bits: number, es: number): LayerFormats {
  let maxAbs = 0;
  for (const x of w) maxAbs = Math.max(maxAbs, Math.abs(x));
  const top = maxAbs > 0 ? Math.floor(Math.log2(maxAbs)) : 0;
  let bestFix = fixed(bits, bits - 1 - top);
  let bestFixErr = Infinity;
  // Steps from "maxAbs fits" down to 6 octaves finer (clipping the largest weights).
  for (let frac = bits - 2 - top; frac <= bits + 4 - top; frac++) {
    const f = fixed(bits, frac);
    const e = sse(w, (x) => quantizeFix(x, f));
    if (e < bestFixErr) { bestFixErr = e; bestFix = f; }
  }
  const p = posit(bits, es);
  const maxScale = Math.log2(p.maxpos);
  let bestShift = 0;
  let bestPosErr = Infinity;
  for (let shift = top - 2 * maxScale - 2; shift <= top + 2; shift++) {
    const e = sse(w, (x) => quantizePosit(x, p, shift));
    if (e < bestPosErr) { bestPosErr = e; bestShift = shift; }
  }
  return { fix: bestFix, posit: p, positShift: bestShift };
}

/**
 * Local spacing of the scaled posit grid at each of its values: the mean of the gaps to both
 * neighbours (one gap at the ends). Used by the posit gradient approximation [R].
 */
export function positSpacing(p: PositFormat, shift: number): { values: number[]; spacing: number[] } {
  const v = Array.from(p.values()!, (x) => x * 2 ** shift);
  const spacing = v.map((x, i) => {
    const gaps = [i > 0 ? x - v[i - 1]! : undefined, i + 1 < v.length ? v[i + 1]! - x : undefined].filter((g): g is number => g !== undefined);
    return gaps.reduce((a, g) => a + g, 0) / gaps.length;
  });
  return { values: v, spacing };
}
