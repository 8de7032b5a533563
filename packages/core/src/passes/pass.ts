import type { Graph } from '../graph.js';
import type { OpRegistry } from '../registry.js';

/** What a pass gets besides the graph. */
export interface PassContext {
  /** The op registry of the run (schemas for inference, kernels for folding). */
  registry: OpRegistry;
  /** 0-based iteration when the manager repeats a sequence to a fixed point. */
  iteration: number;
  /** Free-form log lines a pass wants to surface (kept in the manager's records). */
  log(message: string): void;
}

export interface PassResult {
  graph: Graph;
  changed: boolean;
}

/**
 * A graph transformation. `inPlace` passes edit the graph they are given and return it; the
 * others leave their input untouched and return a new graph. `requires` / `ensures` return a reason
 * string when the graph does not meet the pass's pre- or postcondition (nothing when it does).
 */
export interface Pass {
  readonly name: string;
  readonly inPlace: boolean;
  requires?(graph: Graph, ctx: PassContext): string | void;
  ensures?(graph: Graph, ctx: PassContext): string | void;
  run(graph: Graph, ctx: PassContext): PassResult;
}

/** Where a pass failed: in its precondition, its body, its postcondition, or the manager's verifier. */
export type PassPhase = 'requires' | 'run' | 'ensures' | 'verify' | 'contract';

/** A pass failure, one line: which pass, which phase, what ran before it. */
export class PassError extends Error {
  constructor(
    readonly pass: string,
    readonly phase: PassPhase,
    readonly reason: string,
    /** Names of the passes that ran before this one (with their iteration when repeating). */
    readonly ranBefore: readonly string[],
    override readonly cause?: unknown,
  ) {
    super(`pass ${pass} failed in ${phase}: ${reason}; ran before: ${ranBefore.length ? ranBefore.join(', ') : '(nothing)'}`);
    this.name = 'PassError';
  }
}
