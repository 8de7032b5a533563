/** The built-in hardware targets (from @tessera/targets) and the `check-targets` / `cost` steps. */
import type { CostReport, Graph, Target } from '@tessera/core';
import { analogImc, asic45nm, cpuOrt, fpgaResources, gap8Like, positFixedMac } from '@tessera/targets';
import { z } from 'zod';
import { barChart } from '../plots.js';
import { defineProcedure, type StepContext } from '../plugin.js';
import { TOKENS } from '../tokens.js';

/**
 * The same target under another id: the pipeline names the 45 nm ASIC 'asic-45nm' (kebab-case
 * like every other id); the cost report carries the id the pipeline used.
 */
function withId(t: Target, id: string): Target {
  if (t.id === id) return t;
  return {
    id,
    description: t.description,
    supportedOps: t.supportedOps,
    supportedFormats: t.supportedFormats,
    check: (g) => t.check(g),
    cost: async (g, o) => ({ ...(await t.cost(g, o)), target: id }),
  };
}

export const builtinTargets: Target[] = [withId(asic45nm(), 'asic-45nm'), cpuOrt(), fpgaResources(), gap8Like(), analogImc(), positFixedMac()];

const TargetList = z.array(z.string()).optional();

function chosenTargets(ctx: StepContext, ids: string[] | undefined): Target[] {
  if (!ids) {
    if (ctx.targets.length === 0) throw new Error("no targets: list them in the pipeline's 'targets' or in this step's 'targets' option");
    return [...ctx.targets];
  }
  const all = ctx.resolve<Map<string, Target>>(TOKENS.Targets);
  return ids.map((id) => {
    const t = all.get(id);
    if (!t) throw new Error(`options.targets: unknown target '${id}'; valid: ${[...all.keys()].sort().join(', ')}`);
    return t;
  });
}

/** Symbolic dims (the batch 'N') are bound to 1: one inference. */
export function unitBindings(g: Graph): Record<string, number> {
  const b: Record<string, number> = {};
  for (const v of g.inputs) for (const d of v.type?.shape ?? []) if (typeof d === 'string') b[d] = 1;
  return b;
}

export const checkTargetsProcedure = defineProcedure({
  name: 'check-targets',
  description: 'checks that every op and number format of the graph is supported by each target; unsupported ones fail the step, one line each',
  options: z.object({ targets: TargetList }).strict(),
  run(ctx, input, o) {
    if (!input.graph) throw new Error('check-targets needs a graph; the pipeline has none yet');
    const result: Record<string, { ok: boolean; errors: string[]; warnings: string[] }> = {};
    const failures: string[] = [];
    for (const t of chosenTargets(ctx, o.targets)) {
      const diags = t.check(input.graph);
      const errors = diags.filter((d) => d.severity === 'error').map((d) => d.message);
      result[t.id] = { ok: errors.length === 0, errors, warnings: diags.filter((d) => d.severity !== 'error').map((d) => d.message) };
      failures.push(...errors.map((e) => `${t.id}: ${e}`));
    }
    if (failures.length) throw new Error(`${failures.length} unsupported op(s)/format(s):\n${failures.join('\n')}`);
    return { artefacts: { targets: Object.keys(result), ok: true, checks: result } };
  },
});

export const costProcedure = defineProcedure({
  name: 'cost',
  description: "costs the graph on each target (energy, latency, resources per node and in total, batch 1) and plots the per-layer figures",
  options: z.object({ targets: TargetList, metric: z.record(z.string(), z.string()).default({}) }).strict(),
  async run(ctx, input, o) {
    if (!input.graph) throw new Error('cost needs a graph; the pipeline has none yet');
    const graph = input.graph;
    const artefacts: Record<string, unknown> = {};
    const reports: Record<string, CostReport> = {};
    const plots: Record<string, string> = {};
    const targets = chosenTargets(ctx, o.targets);
    for (const [i, t] of targets.entries()) {
      const r = await t.cost(graph, { bindings: unitBindings(graph) });
      reports[t.id] = r;
      for (const [k, v] of Object.entries(r.total)) artefacts[`${t.id}.${k}`] = v;
      // The per-layer chart shows the target's first metric, or the one the options name.
      const metric = o.metric[t.id] ?? Object.keys(r.units)[0];
      if (metric && r.perNode.length) {
        const rows = r.perNode.map((e) => ({ node: e.node, [metric]: e.metrics[metric] ?? 0 }));
        plots[`per-layer-${t.id}`] = await barChart(rows, { x: 'node', y: metric, horizontal: true, title: `${t.id}: ${metric} per node (${r.units[metric] ?? ''})`, yTitle: `${metric} (${r.units[metric] ?? ''})`, height: Math.max(120, 14 * rows.length) });
      }
      ctx.progress.update(i + 1, targets.length, t.id);
    }
    artefacts.reports = reports;
    return { artefacts, plots };
  },
});
