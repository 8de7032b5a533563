/**
 * LaMDA's gradual freezing of B, row by row, as the engine's real freezing (@tessera/train
 * `setFreeze`: frozen rows become graph constants, their optimizer state is dropped, the
 * `v·B` product is split so only the trainable columns of v are saved), plus the released code's
 * gradient-zeroing "freezing" as an ablation that shows the difference.
 */
import { GraphBuilder, Tensor, standardOps, stopGradient, type Graph, type OpRegistry } from '@tessera/core';
import type { FreezeSpec, TrainHooks } from '@tessera/train';
import type { AdapterLayer } from './adapters.js';

export type FreezeOrder = 'largest-first' | 'smallest-first';

export interface FreezeSchedule {
  /** T: optimizer steps of the run. */
  totalSteps: number;
  /** η: B is completely frozen at step ⌈ηT⌉. */
  eta: number;
  order: FreezeOrder;
}

/** ⌈x⌉ that ignores float noise below 1e-9 relative (0.3 · 100 is 30.000000000000004 in binary). */
function ceilExact(x: number): number {
  return Math.ceil(x - 1e-9 * Math.max(1, Math.abs(x)));
}

/** Step from which row j (0-based, in freeze order) of a rank-r B is constant: t_j = ⌈(j + 1) · ηT / r⌉. */
export function rowFreezeStep(j: number, rank: number, s: FreezeSchedule): number {
  return ceilExact(((j + 1) * s.eta * s.totalSteps) / rank);
}

/** Row indices of B in freeze order: row 0 holds the largest selected singular direction. */
export function freezeOrder(rank: number, order: FreezeOrder): number[] {
  const idx = Array.from({ length: rank }, (_, i) => i);
  return order === 'largest-first' ? idx : idx.reverse();
}

/** Rows of a rank-r B that are frozen during step t (ascending). */
export function frozenRowsAt(rank: number, t: number, s: FreezeSchedule): number[] {
  const order = freezeOrder(rank, s.order);
  return order.filter((_, j) => rowFreezeStep(j, rank, s) <= t).sort((a, b) => a - b);
}

/** The engine freeze spec at step t: '<B>' when all its rows are frozen, else its frozen rows. */
export function freezeSpecAt(layers: readonly AdapterLayer[], t: number, s: FreezeSchedule): FreezeSpec[] {
  const spec: FreezeSpec[] = [];
  for (const l of layers) {
    if (l.kind !== 'lamda') continue;
    const rows = frozenRowsAt(l.rank, t, s);
    if (rows.length === l.rank) spec.push(l.B);
    else if (rows.length > 0) spec.push({ param: l.B, rows });
  }
  return spec;
}

/** Steps at which the set of frozen rows changes (ascending, each < T). */
export function freezeEvents(layers: readonly AdapterLayer[], s: FreezeSchedule): number[] {
  const steps = new Set<number>();
  for (const l of layers) if (l.kind === 'lamda') for (let j = 0; j < l.rank; j++) steps.add(rowFreezeStep(j, l.rank, s));
  return [...steps].filter((t) => t < s.totalSteps).sort((a, b) => a - b);
}

export interface FreezeEvent {
  step: number;
  /** Rows frozen in total after the event (all layers). */
  frozenRows: number;
}

/**
 * Trainer hooks that apply the schedule through `trainer.setFreeze` before each step where it
 * changes. `base` is kept frozen throughout (other parameters frozen by the caller).
 */
export function lamdaFreezeHooks(layers: readonly AdapterLayer[], s: FreezeSchedule, opts: { base?: readonly FreezeSpec[]; onFreeze?: (e: FreezeEvent) => void | Promise<void> } = {}): TrainHooks {
  let applied = -1;
  return {
    async beforeStep(ctx) {
      const spec = freezeSpecAt(layers, ctx.step, s);
      const n = countRows(spec, layers);
      if (n === applied) return;
      applied = n;
      if (n === 0 && ctx.step === 0) return;
      await ctx.trainer.setFreeze([...(opts.base ?? []), ...spec]);
      await opts.onFreeze?.({ step: ctx.step, frozenRows: n });
    },
  };
}

function countRows(spec: readonly FreezeSpec[], layers: readonly AdapterLayer[]): number {
  let n = 0;
  for (const x of spec) n += typeof x === 'string' ? layers.find((l) => l.B === x)!.rank : (x.rows?.length ?? 0);
  return n;
}

/**
 * The released code's "freezing" (ablation): B's gradient is multiplied row-wise by a fed mask
 * m [r, 1] (1 = trainable), via B_eff = B·m + sg(B)·(1 − m), which equals B exactly for m in {0, 1}.
 * B stays a trainable tensor of the engine: its gradient op, its Adam state and its updates
 * (momentum, weight decay) remain. Returns the mask input name per layer.
 */
export function insertGradientZeroing(graph: Graph, layers: readonly AdapterLayer[], registry: OpRegistry = standardOps()): Map<string, string> {
  const masks = new Map<string, string>();
  const b = new GraphBuilder(graph, registry);
  for (const l of layers) {
    if (l.kind !== 'lamda') continue;
    const B = graph.initializers.get(l.B);
    if (!B) throw new Error(`gradient zeroing: '${l.B}' is not a parameter of graph "${graph.name}"`);
    const uses = [...B.uses];
    const m = graph.addInput(`${l.B}.gradmask`, { dtype: 'float32', shape: [l.rank, 1] });
    b.insertionPoint = uses[0]!.node;
    const one = b.constant(Tensor.scalar(1, 'float32'), 'float32', `${l.B}.one`);
    one.meta.set('constant', true);
    const eff = b.op('Add', [b.op('Mul', [B, m], {}, { name: `${l.B}.masked` }), b.op('Mul', [stopGradient(b, B), b.op('Sub', [one, m])], {}, { name: `${l.B}.held` })], {}, { name: `${l.B}.eff` });
    for (const u of uses) u.node.setInput(u.index, eff);
    masks.set(l.B, m.name);
  }
  b.insertionPoint = undefined;
  return masks;
}

/** Feeds of the gradient masks at step t (0 for rows "frozen" by the schedule). */
export function gradientMaskFeeds(layers: readonly AdapterLayer[], masks: Map<string, string>, t: number, s: FreezeSchedule): Record<string, Tensor> {
  const feeds: Record<string, Tensor> = {};
  for (const l of layers) {
    const name = masks.get(l.B);
    if (!name) continue;
    const m = new Float32Array(l.rank).fill(1);
    for (const r of frozenRowsAt(l.rank, t, s)) m[r] = 0;
    feeds[name] = new Tensor('float32', [l.rank, 1], m);
  }
  return feeds;
}
