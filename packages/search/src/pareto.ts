/**
 * Pareto utilities. Every objective is minimised: negate an objective to maximise it. One
 * convention for the whole kit keeps dominance, hypervolume and knee points consistent.
 */
export type Objectives = readonly number[];

/** True when `a` is no worse than `b` in every objective and better in at least one. */
export function dominates(a: Objectives, b: Objectives): boolean {
  if (a.length !== b.length) throw new Error(`dominates: objective vectors have ${a.length} and ${b.length} entries`);
  let better = false;
  for (let i = 0; i < a.length; i++) {
    if (a[i]! > b[i]!) return false;
    if (a[i]! < b[i]!) better = true;
  }
  return better;
}

/**
 * Fast non-dominated sort (Deb et al., NSGA-II, 2002): returns fronts as lists of indices into
 * `points`; front 0 is the Pareto set. O(M N^2).
 */
export function nonDominatedSort(points: readonly Objectives[]): number[][] {
  const n = points.length;
  const dominatedBy: number[][] = Array.from({ length: n }, () => []);
  const count = new Int32Array(n);
  const fronts: number[][] = [[]];
  for (let p = 0; p < n; p++) {
    for (let q = p + 1; q < n; q++) {
      if (dominates(points[p]!, points[q]!)) {
        dominatedBy[p]!.push(q);
        count[q]!++;
      } else if (dominates(points[q]!, points[p]!)) {
        dominatedBy[q]!.push(p);
        count[p]!++;
      }
    }
    if (count[p] === 0) fronts[0]!.push(p);
  }
  // count[p] may have grown after p was pushed: rebuild front 0 from the final counts.
  fronts[0] = [];
  for (let p = 0; p < n; p++) if (count[p] === 0) fronts[0].push(p);
  let i = 0;
  while (fronts[i]!.length > 0) {
    const next: number[] = [];
    for (const p of fronts[i]!) {
      for (const q of dominatedBy[p]!) {
        count[q]!--;
        if (count[q] === 0) next.push(q);
      }
    }
    next.sort((a, b) => a - b);
    fronts.push(next);
    i++;
  }
  fronts.pop();
  return fronts;
}

/** Rank (front number) of every point. */
export function paretoRanks(points: readonly Objectives[]): Int32Array {
  const ranks = new Int32Array(points.length);
  nonDominatedSort(points).forEach((front, r) => {
    for (const i of front) ranks[i] = r;
  });
  return ranks;
}

/** The non-dominated points (duplicates kept once), in input order. */
export function paretoFront<T extends Objectives>(points: readonly T[]): T[] {
  if (points.length === 0) return [];
  const seen = new Set<string>();
  const out: T[] = [];
  for (const i of nonDominatedSort(points)[0]!) {
    const k = points[i]!.join(',');
    if (!seen.has(k)) {
      seen.add(k);
      out.push(points[i]!);
    }
  }
  return out;
}

/**
 * Crowding distance of the points of one front (Deb et al. 2002): boundary points get Infinity,
 * inner points the sum over objectives of the normalised gap between their neighbours.
 */
export function crowdingDistance(front: readonly Objectives[]): Float64Array {
  const n = front.length;
  const d = new Float64Array(n);
  if (n === 0) return d;
  const m = front[0]!.length;
  for (let k = 0; k < m; k++) {
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => front[a]![k]! - front[b]![k]! || a - b);
    const lo = front[order[0]!]![k]!;
    const hi = front[order[n - 1]!]![k]!;
    d[order[0]!] = Infinity;
    d[order[n - 1]!] = Infinity;
    if (hi === lo) continue;
    for (let j = 1; j < n - 1; j++) {
      d[order[j]!]! += (front[order[j + 1]!]![k]! - front[order[j - 1]!]![k]!) / (hi - lo);
    }
  }
  return d;
}
