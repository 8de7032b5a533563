/**
 * Host linear algebra on plain arrays (outside graphs): thin singular value decomposition in
 * float64 by one-sided (Hestenes) Jacobi rotations. ONNX has no SVD op, so this is not a graph op.
 */

export interface Svd {
  /** Rows and columns of the decomposed matrix. */
  m: number;
  n: number;
  /** k = min(m, n). */
  k: number;
  /** Left singular vectors, row-major [m, k]. */
  u: Float64Array;
  /** Singular values, descending, [k]. */
  s: Float64Array;
  /** Right singular vectors, row-major [n, k] (W = U diag(s) Vᵀ). */
  v: Float64Array;
  sweeps: number;
}

export interface SvdOptions {
  /** Stop when every column pair has |cos| below this (default 1e-12). */
  tolerance?: number;
  /** At most this many sweeps over all column pairs (default 60). */
  maxSweeps?: number;
}

/**
 * SVD of a row-major m×n matrix: W = U diag(s) Vᵀ with U [m, k], V [n, k], s descending,
 * k = min(m, n). When m < n the transpose is decomposed and the factors swapped, so the Jacobi
 * rotations always act on the shorter side (n ≤ m columns).
 */
export function svd(w: ArrayLike<number>, m: number, n: number, opts: SvdOptions = {}): Svd {
  if (w.length !== m * n) throw new Error(`svd: matrix has ${w.length} elements, expected ${m}×${n} = ${m * n}`);
  if (m < n) {
    const t = new Float64Array(m * n);
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) t[j * m + i] = w[i * n + j]!;
    const r = svd(t, n, m, opts);
    return { m, n, k: r.k, u: r.v, s: r.s, v: r.u, sweeps: r.sweeps };
  }
  const tol = opts.tolerance ?? 1e-12;
  const maxSweeps = opts.maxSweeps ?? 60;
  // Columns of A stored contiguously (column-major copy) so rotations stream through memory.
  const a = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) a[j * m + i] = w[i * n + j]!;
  const vt = new Float64Array(n * n); // column-major V: column j at j*n
  for (let j = 0; j < n; j++) vt[j * n + j] = 1;
  const norms = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    let s = 0;
    for (let i = 0; i < m; i++) s += a[j * m + i]! ** 2;
    norms[j] = s;
  }
  let sweeps = 0;
  for (; sweeps < maxSweeps; sweeps++) {
    let rotated = false;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const op = p * m;
        const oq = q * m;
        let g = 0;
        for (let i = 0; i < m; i++) g += a[op + i]! * a[oq + i]!;
        const alpha = norms[p]!;
        const beta = norms[q]!;
        if (Math.abs(g) <= tol * Math.sqrt(alpha * beta) || g === 0) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * g);
        const t = Math.sign(zeta || 1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        for (let i = 0; i < m; i++) {
          const x = a[op + i]!;
          const y = a[oq + i]!;
          a[op + i] = c * x - s * y;
          a[oq + i] = s * x + c * y;
        }
        const vp = p * n;
        const vq = q * n;
        for (let i = 0; i < n; i++) {
          const x = vt[vp + i]!;
          const y = vt[vq + i]!;
          vt[vp + i] = c * x - s * y;
          vt[vq + i] = s * x + c * y;
        }
        norms[p] = alpha - t * g;
        norms[q] = beta + t * g;
      }
    }
    // Refresh the running norms (they drift by rounding) once per sweep.
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let i = 0; i < m; i++) s += a[j * m + i]! ** 2;
      norms[j] = s;
    }
    if (!rotated) break;
  }
  const order = Array.from({ length: n }, (_, j) => j).sort((x, y) => norms[y]! - norms[x]!);
  const k = n;
  const u = new Float64Array(m * k);
  const s = new Float64Array(k);
  const v = new Float64Array(n * k);
  order.forEach((j, c) => {
    const sigma = Math.sqrt(norms[j]!);
    s[c] = sigma;
    for (let i = 0; i < n; i++) v[i * k + c] = vt[j * n + i]!;
    if (sigma > 0) for (let i = 0; i < m; i++) u[i * k + c] = a[j * m + i]! / sigma;
  });
  completeBasis(u, m, k, s);
  return { m, n, k, u, s, v, sweeps };
}

/** Columns of U for zero singular values are filled with unit vectors orthogonal to the others (Gram–Schmidt). */
function completeBasis(u: Float64Array, m: number, k: number, s: Float64Array): void {
  for (let c = 0; c < k; c++) {
    if (s[c]! > 0) continue;
    for (let e = 0; e < m; e++) {
      const col = new Float64Array(m);
      col[e] = 1;
      for (let d = 0; d < k; d++) {
        if (d === c || (s[d]! === 0 && d > c)) continue;
        let dot = 0;
        for (let i = 0; i < m; i++) dot += u[i * k + d]! * col[i]!;
        for (let i = 0; i < m; i++) col[i] = col[i]! - dot * u[i * k + d]!;
      }
      const norm = Math.hypot(...col);
      if (norm < 1e-6) continue;
      for (let i = 0; i < m; i++) u[i * k + c] = col[i]! / norm;
      break;
    }
  }
}
