import type { Graph } from '@tessera/core';

/** Fills a partial config from defaults and rejects unknown fields, naming them. */
export function resolveConfig<C extends object>(model: string, defaults: C, given: Partial<C> = {}): C {
  for (const k of Object.keys(given)) {
    if (!(k in defaults)) throw new Error(`${model} config: unknown field '${k}' (valid: ${Object.keys(defaults).join(', ')})`);
  }
  const out = { ...defaults };
  for (const [k, v] of Object.entries(given)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

/** Throws one line naming the config field when `ok` is false. */
export function check(ok: boolean, model: string, field: string, what: string): void {
  if (!ok) throw new Error(`${model} config: '${field}' ${what}`);
}

/** Records which builder and config made the graph (graph.meta 'model'). */
export function stamp<C>(graph: Graph, model: string, config: C): Graph {
  graph.meta.set('model', { name: model, config });
  return graph;
}
