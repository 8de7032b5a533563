/**
 * The FMAS genome over a DeepLabV3+-style supernet built by @tessera/models ([R], spec section 4):
 * per backbone stage the blocks kept (first d, d >= 1) and the hidden-width fraction of its
 * inverted residuals; a keep bit per atrous ASPP branch; the ASPP, decoder and low-level
 * projection width fractions. Genes with a single option (a one-block stage, a stage without an
 * expand conv) are left out. A genome maps to a SliceSpec for `sliceChannels`.
 */
import type { Graph } from '@tessera/core';
import type { DeepLabConfig } from '@tessera/models';
import type { CategoricalSpace, Genome } from '@tessera/search';
import type { SliceSpec } from './slice-channels.js';

export const WIDTH_FRACTIONS = [0.25, 0.5, 0.75, 1] as const;

export interface SubnetSpace extends CategoricalSpace {
  readonly genes: readonly { name: string; options: readonly (number | boolean)[] }[];
  /** The slicing that materialises a genome. */
  toSliceSpec(genome: Genome): SliceSpec;
  /** The genome of the whole supernet (every option at its largest). */
  readonly fullGenome: Genome;
}

/** The FMAS space of a graph built by `buildDeepLabV3Plus` (read from its `meta.model` stamp). */
export function deeplabSubnetSpace(supernet: Graph, fractions: readonly number[] = WIDTH_FRACTIONS): SubnetSpace {
  const stamp = supernet.meta.get('model') as { name: string; config: DeepLabConfig } | undefined;
  if (stamp?.name !== 'deeplabv3plus') {
    throw new Error(`fmas: the supernet must be built by @tessera/models buildDeepLabV3Plus (graph meta 'model' is ${stamp ? `'${stamp.name}'` : 'missing'})`);
  }
  if (!fractions.length || fractions.some((f) => !(f > 0 && f <= 1))) throw new Error(`fmas: width fractions must lie in (0, 1], got [${fractions.join(', ')}]`);
  const fr = [...new Set(fractions)].sort((a, b) => a - b);
  const c = stamp.config;
  type Draft = { widths: Record<string, number>; dropResidual: string[]; dropBranches: string[] };
  type Gene = { name: string; options: (number | boolean)[]; apply: (v: number | boolean, s: Draft) => void };
  const genes: Gene[] = [];
  c.stages.forEach((st, s) => {
    if (st.blocks > 1) {
      genes.push({
        name: `stage${s}.depth`, options: Array.from({ length: st.blocks }, (_, i) => i + 1),
        apply: (d, spec) => { for (let b = d as number; b < st.blocks; b++) spec.dropResidual.push(`stages.${s}.${b}.residual`); },
      });
    }
    if (st.expansion !== 1 && fr.length > 1) {
      genes.push({
        name: `stage${s}.width`, options: fr,
        apply: (f, spec) => { for (let b = 0; b < st.blocks; b++) spec.widths[`stages.${s}.${b}.expand`] = f as number; },
      });
    }
  });
  for (const r of c.asppRates) {
    genes.push({ name: `aspp.atrous${r}`, options: [false, true], apply: (on, spec) => { if (!on) spec.dropBranches.push(`aspp.atrous${r}.relu`); } });
  }
  if (fr.length > 1) {
    genes.push({
      name: 'aspp.width', options: fr,
      apply: (f, spec) => {
        for (const n of ['aspp.conv1x1', ...c.asppRates.map((r) => `aspp.atrous${r}`), ...(c.imagePool ? ['aspp.pool'] : []), 'aspp.project']) spec.widths[n] = f as number;
      },
    });
    genes.push({ name: 'decoder.width', options: fr, apply: (f, spec) => { spec.widths['decoder.conv1'] = f as number; spec.widths['decoder.conv2'] = f as number; } });
    genes.push({ name: 'lowlevel.width', options: fr, apply: (f, spec) => { spec.widths['decoder.low_level'] = f as number; } });
  }
  return {
    genes: genes.map(({ name, options }) => ({ name, options })),
    fullGenome: genes.map((g) => g.options.length - 1),
    toSliceSpec(genome: Genome): SliceSpec {
      if (genome.length !== genes.length) throw new Error(`fmas: genome has ${genome.length} genes, the space has ${genes.length} (${genes.map((g) => g.name).join(', ')})`);
      const spec: Draft = { widths: {}, dropResidual: [], dropBranches: [] };
      genes.forEach((g, i) => {
        const v = g.options[genome[i]!];
        if (v === undefined) throw new Error(`fmas: gene '${g.name}' index ${genome[i]} is outside 0..${g.options.length - 1}`);
        g.apply(v, spec);
      });
      for (const [k, f] of Object.entries(spec.widths)) if (f === 1) delete spec.widths[k];
      return spec;
    },
  };
}
