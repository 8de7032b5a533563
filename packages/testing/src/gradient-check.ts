import type { Graph } from '@tessera/core';
import type { BackendName, Feeds } from '@tessera/runtime';

/**
 * The contract of a finite-difference gradient check. @tessera/testing declares it so that plugin
 * authors can type their tests; the implementation comes with autodiff (@tessera/train).
 */
export interface GradientCheckOptions {
  /** The scalar value whose gradient is checked. */
  loss: string;
  /** Inputs or initializers to differentiate with respect to (default: every float parameter). */
  wrt?: readonly string[];
  /** Central-difference step (float64 graphs: 1e-6; float32: 1e-3). */
  eps?: number;
  rtol?: number;
  atol?: number;
  /** Elements probed per tensor (seeded sample; default all). */
  samples?: number;
  seed?: number;
  backend?: BackendName;
}

export interface GradientCheckEntry {
  name: string;
  /** Largest |analytic - numeric| / (atol + rtol * |numeric|); <= 1 passes. */
  worst: number;
  at: number;
  analytic: number;
  numeric: number;
}

export interface GradientCheckReport {
  ok: boolean;
  entries: GradientCheckEntry[];
}

export type GradientCheck = (graph: Graph, feeds: Feeds, opts: GradientCheckOptions) => Promise<GradientCheckReport>;
