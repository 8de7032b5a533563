import { paretoFront, type Objectives } from './pareto.js';

/**
 * Hypervolume dominated by `points` and bounded by the reference point `ref` (all objectives
 * minimised). Points that do not strictly dominate `ref` in every objective add nothing.
 * 2-D: exact sweep (sort by objective 1, sum rectangles). n-D: exact recursive slicing along the
 * last objective (HSO), O(N^(n-1) log N) — meant for small n (3-4) and fronts of a few hundred.
 */
export function hypervolume(points: readonly Objectives[], ref: Objectives): number {
  const m = ref.length;
  for (const p of points) {
    if (p.length !== m) throw new Error(`hypervolume: a point has ${p.length} objectives, the reference point has ${m}`);
  }
  const inside = points.filter((p) => p.every((x, i) => x < ref[i]!));
  if (inside.length === 0) return 0;
  const front = paretoFront(inside);
  if (m === 1) return ref[0]! - Math.min(...front.map((p) => p[0]!));
  return m === 2 ? hv2d(front, ref) : hvSlice(front, ref);
}

function hv2d(front: readonly Objectives[], ref: Objectives): number {
  const pts = [...front].sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!);
  let area = 0;
  let yPrev = ref[1]!;
  for (const p of pts) {
    if (p[1]! >= yPrev) continue;
    area += (ref[0]! - p[0]!) * (yPrev - p[1]!);
    yPrev = p[1]!;
  }
  return area;
}

function hvSlice(front: readonly Objectives[], ref: Objectives): number {
  const m = ref.length;
  const last = m - 1;
  const pts = [...front].sort((a, b) => a[last]! - b[last]!);
  const subRef = ref.slice(0, last);
  let vol = 0;
  for (let i = 0; i < pts.length; i++) {
    const top = i + 1 < pts.length ? pts[i + 1]![last]! : ref[last]!;
    const depth = top - pts[i]![last]!;
    if (depth <= 0) continue;
    const proj = pts.slice(0, i + 1).map((p) => p.slice(0, last));
    vol += depth * (last === 2 ? hv2d(paretoFront(proj), subRef) : hvSlice(paretoFront(proj), subRef));
  }
  return vol;
}
