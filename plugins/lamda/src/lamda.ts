/**
 * The plugin's functions without a pipeline: insert LaMDA (with LaMDA++ rank allocation) or LoRA
 * with the spec's defaults, on a clone of the graph.
 */
import type { Graph, OpRegistry, Svd } from '@tessera/core';
import type { z } from 'zod';
import { findTargets, insertLamda, insertLora, spectra, type AdapterLayer } from './adapters.js';
import { LamdaInsertOptions, LoraInsertOptions } from './options.js';
import { allocateRanks, type LayerAllocation } from './rank-allocation.js';

export interface LamdaResult {
  graph: Graph;
  layers: AdapterLayer[];
  /** Per-layer spectral energy and rank (always reported; ranks differ only with 'spectral-energy'). */
  allocation: LayerAllocation[];
}

/** LaMDA / LaMDA++ on a copy of `graph`; options are parsed with the spec's defaults. */
/** `svds` (by weight name, from `spectra`) skips recomputing the SVDs when several arms adapt one model. */
export function lamda(graph: Graph, options: z.input<typeof LamdaInsertOptions> = {}, registry?: OpRegistry, svds?: Map<string, Svd>): LamdaResult {
  const o = LamdaInsertOptions.parse(options);
  const g = graph.clone();
  const targets = findTargets(g, o.targets, o.blocks);
  const sv = svds ?? spectra(g, targets);
  const ra = o.rankAllocation;
  const allocation = allocateRanks(targets.map((p) => ({ name: p.name, dIn: p.dIn, dOut: p.dOut, svd: sv.get(p.weight) ?? spectra(g, [p]).get(p.weight)! })), ra.kind === 'spectral-energy'
    ? { baseRank: o.rank, budget: ra.budget, rMin: ra.rMin, rMax: ra.rMax, invert: ra.invert }
    : { baseRank: o.rank, budget: null, rMin: 1, rMax: o.rank, invert: false });
  const ranks = Object.fromEntries(allocation.map((a) => [a.name, a.rank]));
  const layers = insertLamda(g, { ...o, ranks, svds: sv, registry });
  return { graph: g, layers, allocation };
}

/** LoRA on a copy of `graph`, for comparison. */
export function lora(graph: Graph, options: z.input<typeof LoraInsertOptions> = {}, registry?: OpRegistry): { graph: Graph; layers: AdapterLayer[] } {
  const o = LoraInsertOptions.parse(options);
  const g = graph.clone();
  return { graph: g, layers: insertLora(g, { ...o, registry }) };
}
