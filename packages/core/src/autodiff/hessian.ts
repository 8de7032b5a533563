import type { Rng } from '../rng.js';

/** Gradient of a scalar objective at a flat parameter vector (θ). */
export type GradientOracle = (theta: Float64Array) => Float64Array | Promise<Float64Array>;
/** Hessian-vector product v -> H·v at a fixed point. */
export type HvpOracle = (v: Float64Array) => Float64Array | Promise<Float64Array>;

function norm(v: Float64Array): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  return Math.sqrt(s);
}

function dot(a: Float64Array, c: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * c[i]!;
  return s;
}

/**
 * Hessian-vector product by central differences of gradients (B2):
 * Hv ≈ (∇L(θ + h v) − ∇L(θ − h v)) / 2h with h = rel·‖θ‖/‖v‖ (rel = 1e-3 by default). Exact for
 * quadratics up to rounding; works with any gradient oracle (a compiled ORT session included),
 * which is why Tessera uses it instead of double backward.
 */
export async function hvpCentral(gradient: GradientOracle, theta: Float64Array, v: Float64Array, rel = 1e-3): Promise<Float64Array> {
  const nv = norm(v);
  const out = new Float64Array(theta.length);
  if (nv === 0) return out;
  const h = (rel * Math.max(norm(theta), 1e-8)) / nv;
  const plus = new Float64Array(theta.length);
  const minus = new Float64Array(theta.length);
  for (let i = 0; i < theta.length; i++) {
    plus[i] = theta[i]! + h * v[i]!;
    minus[i] = theta[i]! - h * v[i]!;
  }
  const gp = await gradient(plus);
  const gm = await gradient(minus);
  for (let i = 0; i < out.length; i++) out[i] = (gp[i]! - gm[i]!) / (2 * h);
  return out;
}

export interface HutchinsonOptions {
  probes?: number;
  rng: Rng;
  /** Restrict the probes to these coordinates (one layer's parameters), default all. */
  mask?: Uint8Array;
}

/** Hutchinson estimate Tr(H) ≈ mean_i vᵢᵀ H vᵢ with Rademacher probes (B2). Also returns each probe's value. */
export async function hutchinsonTrace(hvp: HvpOracle, dim: number, opts: HutchinsonOptions): Promise<{ trace: number; samples: number[] }> {
  const probes = opts.probes ?? 32;
  const samples: number[] = [];
  for (let p = 0; p < probes; p++) {
    const v = new Float64Array(dim);
    for (let i = 0; i < dim; i++) if (!opts.mask || opts.mask[i]) v[i] = opts.rng.uniform() < 0.5 ? -1 : 1;
    samples.push(dot(v, await hvp(v)));
  }
  return { trace: samples.reduce((a, c) => a + c, 0) / probes, samples };
}

/** Largest-magnitude Hessian eigenvalue by power iteration (B2; 20 iterations by default). */
export async function topEigenvalue(hvp: HvpOracle, dim: number, opts: { iterations?: number; rng: Rng }): Promise<{ eigenvalue: number; vector: Float64Array }> {
  let v = new Float64Array(dim);
  for (let i = 0; i < dim; i++) v[i] = opts.rng.normal();
  let n = norm(v);
  for (let i = 0; i < dim; i++) v[i]! /= n;
  let lambda = 0;
  for (let it = 0; it < (opts.iterations ?? 20); it++) {
    const hv = await hvp(v);
    lambda = dot(v, hv);
    n = norm(hv);
    if (n === 0) break;
    v = hv.map((x) => x / n);
  }
  return { eigenvalue: lambda, vector: v };
}
