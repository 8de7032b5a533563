import { GraphBuilder } from '../builder.js';
import { isFloatDType } from '../dtype.js';
import type { Graph, Value } from '../graph.js';
import { interpret } from '../interpreter.js';
import { standardOps } from '../ops/index.js';
import type { OpRegistry } from '../registry.js';
import { Rng } from '../rng.js';
import { Tensor } from '../tensor.js';
import { grad } from './grad.js';
import { reduceSum } from './rules-util.js';

export interface GradientCheckOptions {
  /** Values of the graph inputs (float64 gives the tightest check). */
  feeds: Record<string, Tensor>;
  /** Inputs or initializers to check (default: every float input and initializer with a gradient). */
  wrt?: string[];
  registry?: OpRegistry;
  /** Central-difference step (default 1e-6 for float64, 1e-2 otherwise). */
  eps?: number;
  /** Pass when |analytic − numeric| ≤ atol + rtol·max(|analytic|, |numeric|) (defaults 1e-6 / 1e-4 for float64, 1e-2 / 1e-2 otherwise). */
  rtol?: number;
  atol?: number;
  /** Seed of the random output weighting (the checked objective is Σ r ⊙ outputs). */
  seed?: number;
}

export interface GradientMismatch {
  wrt: string;
  index: number;
  analytic: number;
  numeric: number;
}

export interface GradientCheckResult {
  ok: boolean;
  /** Elements compared. */
  checked: number;
  maxAbsError: number;
  /** Worst error relative to max(|analytic|, |numeric|, 1e-12)... over all elements. */
  maxRelError: number;
  /** The first mismatches (up to 10). */
  mismatches: GradientMismatch[];
}

function run(graph: Graph, feeds: Record<string, Tensor>, registry: OpRegistry, fetches: string[]): Tensor[] {
  const res = interpret(graph, feeds, { registry, fetches });
  return fetches.map((f) => res[f]!);
}

/**
 * Finite-difference gradient check of core autodiff on the reference interpreter: the objective is
 * Σ_k Σ r_k ⊙ output_k with seeded random weights r, its analytic gradient comes from `grad` and
 * its numeric one from central differences, element by element. For plugin authors checking the
 * gradient rules of their own ops (pass the registry that holds them).
 */
export function checkGradients(graph: Graph, opts: GradientCheckOptions): GradientCheckResult {
  const registry = opts.registry ?? standardOps();
  const g = graph.clone();
  const b = new GraphBuilder(g, registry);
  const rng = new Rng(opts.seed ?? 1);
  const terms: Value[] = [];
  // Output shapes from one forward run (inference may leave data-dependent dims unknown).
  const forward = interpret(g, opts.feeds, { registry });
  for (const o of g.outputs) {
    if (!o.dtype || !isFloatDType(o.dtype)) continue;
    const shape = [...forward[o.name]!.shape];
    o.type = { dtype: o.dtype, shape };
    const r = Tensor.zeros(o.dtype, shape);
    for (let i = 0; i < r.size; i++) r.setFlat(i, rng.uniform() * 2 - 1);
    const prod = b.op('Mul', [o, b.constant(r, o.dtype, 'check_weights')]);
    terms.push(reduceSum(b, prod, shape.map((_, i) => i), false));
  }
  if (terms.length === 0) throw new Error(`checkGradients: graph "${graph.name}" has no floating-point output`);
  const objective = terms.reduce((acc, t) => b.op('Add', [acc, t]));
  const names = opts.wrt ?? [
    ...graph.inputs.filter((v) => v.dtype && isFloatDType(v.dtype)).map((v) => v.name),
    ...graph.parameters().map((v) => v.name),
  ];
  let wrt = names.map((n) => {
    const v = g.value(n);
    if (!v) throw new Error(`checkGradients: '${n}' is not a value of graph "${graph.name}"`);
    return v;
  });
  let { grads } = grad(g, objective, wrt, { registry });
  if (!opts.wrt) {
    // By default only values the objective differentiably depends on (not Resize scales, masks...).
    wrt = wrt.filter((_, i) => grads[i] !== null);
    grads = grads.filter((gv) => gv !== null);
  }
  const fetches = [objective.name, ...grads.map((gv) => gv?.name).filter((n): n is string => !!n)];
  const analytic = run(g, opts.feeds, registry, fetches);
  const byName = new Map(fetches.map((f, i) => [f, analytic[i]!]));

  let checked = 0;
  let maxAbs = 0;
  let maxRel = 0;
  const mismatches: GradientMismatch[] = [];
  const f64 = (t: Tensor) => t.dtype === 'float64';
  wrt.forEach((v, k) => {
    const gv = grads[k];
    const base = v.initializer ?? opts.feeds[v.name];
    if (!base) throw new Error(`checkGradients: no feed for input '${v.name}'`);
    const exact = f64(base);
    const eps = opts.eps ?? (exact ? 1e-6 : 1e-2);
    const rtol = opts.rtol ?? (exact ? 1e-4 : 1e-2);
    const atol = opts.atol ?? (exact ? 1e-6 : 1e-2);
    const a = gv ? byName.get(gv.name)! : Tensor.zeros(base.dtype, base.shape);
    const evalAt = (t: Tensor): number => {
      if (v.initializer) {
        const saved = v.initializer;
        g.setInitializer(v.name, t);
        const r = run(g, opts.feeds, registry, [objective.name])[0]!.getFlat(0);
        g.setInitializer(v.name, saved);
        return r;
      }
      return run(g, { ...opts.feeds, [v.name]: t }, registry, [objective.name])[0]!.getFlat(0);
    };
    for (let i = 0; i < base.size; i++) {
      const plus = base.clone();
      const minus = base.clone();
      plus.setFlat(i, base.getFlat(i) + eps);
      minus.setFlat(i, base.getFlat(i) - eps);
      const numeric = (evalAt(plus) - evalAt(minus)) / (2 * eps);
      const an = a.getFlat(i);
      const err = Math.abs(an - numeric);
      const scale = Math.max(Math.abs(an), Math.abs(numeric));
      checked++;
      maxAbs = Math.max(maxAbs, err);
      maxRel = Math.max(maxRel, err / Math.max(scale, 1e-12));
      if (!(err <= atol + rtol * scale) && mismatches.length < 10) mismatches.push({ wrt: v.name, index: i, analytic: an, numeric });
    }
  });
  return { ok: mismatches.length === 0, checked, maxAbsError: maxAbs, maxRelError: maxRel, mismatches };
}
