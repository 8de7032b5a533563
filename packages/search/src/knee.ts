import { paretoFront, type Objectives } from './pareto.js';

/**
 * The knee of a 2-D front: the point farthest from the line joining the two extremes (the best
 * point for objective 1 and the best for objective 2). Dominated points are ignored. Returns the
 * index into `points`. Objectives are scaled to [0, 1] over the front first; for a line through
 * the extremes this keeps the ranking (an affine map) but makes the distances unit-free.
 */
export function kneePoint(points: readonly Objectives[]): number {
  if (points.length === 0) throw new Error('kneePoint: no points');
  if (points[0]!.length !== 2) throw new Error(`kneePoint: needs 2 objectives, got ${points[0]!.length}`);
  const front = new Set(paretoFront(points));
  const idx = points.map((_, i) => i).filter((i) => front.has(points[i]!));
  const xs = idx.map((i) => points[i]![0]!);
  const ys = idx.map((i) => points[i]![1]!);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const nx = (x: number) => (x1 > x0 ? (x - x0) / (x1 - x0) : 0);
  const ny = (y: number) => (y1 > y0 ? (y - y0) / (y1 - y0) : 0);
  // Extremes: best in objective 1 (ties: better objective 2), best in objective 2.
  const a = idx.reduce((b, i) => (points[i]![0]! < points[b]![0]! || (points[i]![0] === points[b]![0] && points[i]![1]! < points[b]![1]!) ? i : b));
  const c = idx.reduce((b, i) => (points[i]![1]! < points[b]![1]! || (points[i]![1] === points[b]![1] && points[i]![0]! < points[b]![0]!) ? i : b));
  const ax = nx(points[a]![0]!), ay = ny(points[a]![1]!), cx = nx(points[c]![0]!), cy = ny(points[c]![1]!);
  const len = Math.hypot(cx - ax, cy - ay);
  if (len === 0) return a;
  let best = a;
  let bestD = -Infinity;
  for (const i of idx) {
    const px = nx(points[i]![0]!), py = ny(points[i]![1]!);
    // Signed so that points below the line (towards the ideal point) count as positive.
    const d = ((cx - ax) * (py - ay) - (cy - ay) * (px - ax)) / len;
    const dist = -d;
    if (dist > bestD) {
      bestD = dist;
      best = i;
    }
  }
  return best;
}
