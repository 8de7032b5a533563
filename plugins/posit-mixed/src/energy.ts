import { computeCost, standardOps, type Graph, type OpRegistry } from '@tessera/core';
import { macUnitCost, positShiftAddMacCost, MAC_UNIT_MODEL, SHIFT_ADD_MAC_MODEL, type MacUnitCost } from '@tessera/targets';
import type { FormatMap } from './format-map.js';

export interface LayerEnergy {
  node: string;
  macs: number;
  positFraction: number;
  /** pJ per inference. */
  energyPj: number;
  units: string[];
}

export interface EnergyReport {
  /** MAC energy per inference (one example), pJ: weight layers plus the other MAC nodes (attention) at fixed x fixed. */
  totalPj: number;
  layers: LayerEnergy[];
  /** MACs of nodes without a mapped weight (e.g. attention scores), priced as fixed x fixed. */
  otherMacs: number;
  otherPj: number;
  estimated: true;
  model: string;
  units: MacUnitCost[];
}

/**
 * Energy per inference from @tessera/targets' MAC-unit model (macUnitCost, estimates scaled from
 * Horowitz ISSCC 2014, 45 nm): each weight layer's MACs split by its Posit4 fraction ρ into
 * (1−ρ)·E(FixP4 × FixP_a) + ρ·E(Posit4 × FixP_a), both into a fixed-point accumulator of
 * `accumulatorBits`; MAC nodes without a mapped weight run fixed × fixed at the activation width.
 * MACs come from core's computeCost with the batch bound to 1.
 */
export function inferenceEnergy(
  graph: Graph, map: FormatMap,
  opts: { activation: ReadonlyMap<string, string> | string; accumulatorBits: number; positMac?: 'generic' | 'shift-add'; registry?: OpRegistry },
): EnergyReport {
  const positMac = opts.positMac ?? 'generic';
  const input = graph.inputs.find((v) => !v.isInitializer)!;
  const batch = input.shape?.[0];
  const cost = computeCost(graph, { registry: opts.registry ?? standardOps(), bindings: typeof batch === 'string' ? { [batch]: 1 } : {} });
  const byNode = new Map(cost.nodes.map((c) => [c.node, c]));
  const units = new Map<string, MacUnitCost>();
  const unit = (weight: string, activation: string) => {
    const key = `${weight}x${activation}`;
    let u = units.get(key);
    if (!u) {
      const spec = { weight, activation, accumulator: opts.accumulatorBits };
      u = weight.startsWith('posit') && positMac === 'shift-add' ? positShiftAddMacCost(spec) : macUnitCost(spec);
      units.set(key, u);
    }
    return u;
  };
  const actOf = (node: string) => (typeof opts.activation === 'string' ? opts.activation : opts.activation.get(node) ?? [...opts.activation.values()][0]!);
  const mapped = new Set(map.layers.map((a) => a.node));
  const layers: LayerEnergy[] = map.layers.map((a) => {
    const macs = byNode.get(a.node)?.macs ?? 0;
    const act = actOf(a.node);
    const fix = unit(a.fixed, act);
    const pos = unit(a.posit, act);
    const e = macs * ((1 - a.positFraction) * fix.energyPj + a.positFraction * pos.energyPj);
    return { node: a.node, macs, positFraction: a.positFraction, energyPj: e, units: [`${fix.weight}x${fix.activation}`, `${pos.weight}x${pos.activation}`] };
  });
  let otherMacs = 0;
  for (const c of cost.nodes) if (!mapped.has(c.node)) otherMacs += c.macs;
  const defaultAct = typeof opts.activation === 'string' ? opts.activation : [...opts.activation.values()][0]!;
  const otherPj = otherMacs > 0 ? otherMacs * unit(defaultAct, defaultAct).energyPj : 0;
  return {
    totalPj: layers.reduce((s, l) => s + l.energyPj, 0) + otherPj,
    layers, otherMacs, otherPj, estimated: true, model: positMac === 'shift-add' ? `${SHIFT_ADD_MAC_MODEL} FixP x FixP: ${MAC_UNIT_MODEL}` : MAC_UNIT_MODEL, units: [...units.values()],
  };
}
