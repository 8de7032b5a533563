const TWO_OVER_SQRT_PI = 1.1283791670955126;
const INV_SQRT_PI = 0.5641895835477563;

/**
 * erf to about 1e-15 absolute error: the Maclaurin series below |x| = 3, the continued fraction
 * of erfc above (where erfc < 2.3e-5, so 1 - erfc keeps full relative precision).
 */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const ax = Math.abs(x);
  if (ax < 3) {
    const x2 = x * x;
    let term = x;
    let sum = x;
    for (let n = 1; n < 100; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return TWO_OVER_SQRT_PI * sum;
  }
  if (ax > 6) return Math.sign(x);
  return Math.sign(x) * (1 - erfcLarge(ax));
}

/** erfc(x) for x >= 3 by the continued fraction erfc(x) = e^{-x^2}/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))). */
function erfcLarge(x: number): number {
  let f = x;
  for (let k = 60; k >= 1; k--) f = x + k / 2 / f;
  return (Math.exp(-x * x) * INV_SQRT_PI) / f;
}

/**
 * erfc with relative error below 1.2e-7 everywhere (Numerical Recipes' Chebyshev fit `erfcc`):
 * float32-accurate, and about 10x cheaper than `erf` above. Negative arguments use erfc(-x) = 2 - erfc(x).
 */
export function erfcFast(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? r : 2 - r;
}

/**
 * erf to float32 accuracy (relative error < 2.5e-7 after rounding to float32, odd so relative
 * precision holds near 0): the rational minimax fit x·P(x²)/Q(x²) on [-4, 4] used by Eigen / XLA
 * for float erf, with the input clamped to ±4 (|erf| rounds to 1 in float32 beyond). No exp and
 * no data-dependent branch (the clamp is never taken on ordinary activations), so it is several
 * times cheaper than the series / erfc split on zero-mean inputs. NaN stays NaN.
 */
export function erfFast(v: number): number {
  const x = Math.min(Math.max(v, -4), 4);
  const x2 = x * x;
  const p = x * (-1.60960333262415e-02 + x2 * (-2.95459980854025e-03 + x2 * (-7.34990630326855e-04 + x2 * (-5.69250639462346e-05 +
    x2 * (-2.10102402082508e-06 + x2 * (2.77068142495902e-08 + x2 * -2.72614225801306e-10))))));
  const q = -1.42647390514189e-02 + x2 * (-7.37332916720468e-03 + x2 * (-1.68282697438203e-03 + x2 * (-2.13374055278905e-04 +
    x2 * -1.45660718464996e-05)));
  return p / q;
}

/** gelu(x) = x/2 · erfc(-x/√2), written so that the negative tail keeps its relative precision. */
export function geluFast(x: number): number {
  const u = -x * Math.SQRT1_2;
  return u > 0.5 ? 0.5 * x * erfcFast(u) : 0.5 * x * (1 - erfFast(u));
}

export function geluExact(x: number): number {
  const u = -x * Math.SQRT1_2;
  return u >= 3 ? 0.5 * x * erfcLarge(u) : 0.5 * x * (1 - erf(u));
}
