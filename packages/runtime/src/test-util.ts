import type { Tensor } from '@tessera/core';
import { tensorMismatch, type Tolerance } from './compare.js';

/** Throws one line when two tensors differ beyond the tolerance (for tests). */
export function compareTensors(actual: Tensor, expected: Tensor, tol: Tolerance, what: string): void {
  const m = tensorMismatch(actual, expected, tol);
  if (m) throw new Error(`${what}: ${m}`);
}
