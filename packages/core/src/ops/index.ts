import { OpRegistry, type OpSchema } from '../registry.js';
import { controlOps } from './control.js';
import { elementwiseOps } from './elementwise.js';
import { linalgOps } from './linalg.js';
import { nnOps } from './nn.js';
import { quantOps } from './quant.js';
import { randomOps } from './random.js';
import { rnnOps } from './rnn.js';
import { reduceOps } from './reduce.js';
import { shapeOps } from './shape.js';

// Each op file exports an array of schemas; add new files here. One op = one entry in one file.
const groups: OpSchema[][] = [elementwiseOps, linalgOps, nnOps, reduceOps, shapeOps, controlOps, quantOps, rnnOps, randomOps];

let standard: OpRegistry | undefined;

/**
 * The standard ONNX op set as an immutable registry. It is frozen, so it is no process-wide
 * mutable state: runs and plugins `extend()` it to add their own ops.
 */
export function standardOps(): OpRegistry {
  if (!standard) {
    const r = new OpRegistry();
    for (const g of groups) for (const s of g) r.register(s);
    standard = r.freeze();
  }
  return standard;
}
