import { countParameters, standardOps, type Graph, type OpRegistry } from '@tessera/core';
import type { Dataset } from '@tessera/data';
import { createExecutor, type Executor } from '@tessera/runtime';
import { adam, Trainer } from '@tessera/train';
import { parseOptions, TrainRecipeSchema, type TrainRecipe, type TrainRecipeInput } from './options.js';
import { sntExpand, sntMerge } from './transform.js';

export interface TrainRunResult {
  /** The model to evaluate and compress: for SNT the merged graph (original architecture). */
  graph: Graph;
  recipe: TrainRecipe;
  steps: number;
  /** Forward+backward passes the engine ran (SAM: two per step). */
  gradientEvaluations: number;
  /** Trainable scalars during training (SNT: the expanded count) and of the returned graph. */
  trainingParameters: number;
  parameters: number;
  finalLoss: number;
  wallMs: number;
  msPerStep: number;
  losses: number[];
}

/**
 * Trains a classifier with one of the three arms of the SNT comparison, all on the same engine,
 * batches (seeded order), learning rate and number of optimizer steps:
 * - 'adam': Adam;
 * - 'sam': Adam inside SAM (the engine's `sam` option: gradient at θ, ascent to θ + ρ·g/‖g‖,
 *   gradient there, update) — two gradient evaluations per step;
 * - 'snt': snt-expand, Adam on the expanded graph, snt-merge back (exact) — one gradient
 *   evaluation per step on the bigger graph.
 */
export async function trainArm(graph: Graph, train: Dataset, recipe: TrainRecipeInput, env: { executor?: Executor; registry?: OpRegistry; threads?: number } = {}): Promise<TrainRunResult> {
  const r = parseOptions(TrainRecipeSchema, recipe, 'snt-train');
  const registry = env.registry ?? standardOps();
  const executor = env.executor ?? createExecutor('ort-node', { registry, threads: env.threads });
  const forward = r.method === 'snt' ? sntExpand(graph, { expansion: r.expansion, layers: r.layers, seed: r.seed }, registry).graph : graph;
  const trainer = await Trainer.create({
    forward, optimizer: adam({ lr: r.lr }), batchSize: r.batchSize, seed: r.seed, executor, registry,
    sam: r.method === 'sam' ? { rho: r.rho } : undefined,
  });
  const t0 = performance.now();
  const steps = await trainer.fit(train, { epochs: r.epochs, maxSteps: r.maxSteps, progress: false });
  const wallMs = performance.now() - t0;
  const trained = trainer.currentGraph();
  const out = r.method === 'snt' ? sntMerge(trained, registry) : trained;
  const losses = steps.map((s) => s.loss);
  const tail = losses.slice(-Math.max(1, Math.floor(losses.length / 10)));
  return {
    graph: out, recipe: r, steps: steps.length, gradientEvaluations: trainer.gradientEvaluations,
    trainingParameters: trainer.accounting.trainableScalars, parameters: countParameters(out).total,
    finalLoss: tail.reduce((a, b) => a + b, 0) / tail.length, wallMs, msPerStep: wallMs / Math.max(1, steps.length), losses,
  };
}
