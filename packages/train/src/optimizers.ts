import type { GraphBuilder, Value } from '@tessera/core';
import { Tensor } from '@tessera/core';

/**
 * An optimizer is a recipe for an update subgraph: per trainable tensor it declares its state
 * slots and writes p_next (and the next states) from p, its gradient, the state inputs and the
 * step's scalar inputs. Everything it needs per step (learning rate, bias corrections) is fed as a
 * scalar input, so the training graph is compiled once.
 */
export interface Optimizer {
  readonly name: string;
  /** Default learning rate and weight decay of parameter groups that do not set their own. */
  readonly lr: number;
  readonly weightDecay: number;
  /** Names of the per-parameter state tensors (same shape as the parameter), e.g. ['m', 'v']. */
  readonly stateSlots: readonly string[];
  /** Step scalars fed every step besides the learning rates (e.g. Adam's bias corrections). */
  readonly stepScalars: readonly string[];
  /** Values of the step scalars at step t (1-based). */
  stepValues(t: number): Record<string, number>;
  /** Writes the update of one tensor; returns the next parameter and next states (in stateSlots order). */
  update(ctx: UpdateContext): { param: Value; states: Value[] };
  /** Options as plain JSON (stored in checkpoints). */
  readonly config: Record<string, unknown>;
}

export interface UpdateContext {
  b: GraphBuilder;
  param: Value;
  grad: Value;
  states: Value[];
  lr: Value;
  weightDecay: number;
  scalars: Record<string, Value>;
}

const c = (b: GraphBuilder, v: number, dtype: Tensor['dtype'] = 'float32') => b.constant(Tensor.scalar(v, dtype), dtype, 'opt_c');

export interface SgdOptions {
  lr: number;
  /** 0 = plain SGD (no state). */
  momentum?: number;
  nesterov?: boolean;
  /** L2 weight decay added to the gradient (coupled, as torch.optim.SGD). */
  weightDecay?: number;
}

/** SGD with optional (Nesterov) momentum, torch.optim.SGD's update: v = μv + g; p -= lr·v. */
export function sgd(opts: SgdOptions): Optimizer {
  const momentum = opts.momentum ?? 0;
  return {
    name: momentum ? 'momentum' : 'sgd',
    lr: opts.lr,
    weightDecay: opts.weightDecay ?? 0,
    stateSlots: momentum ? ['momentum'] : [],
    stepScalars: [],
    stepValues: () => ({}),
    config: { kind: 'sgd', ...opts },
    update({ b, param, grad, states, lr, weightDecay }) {
      let g = grad;
      if (weightDecay) g = b.op('Add', [g, b.op('Mul', [param, c(b, weightDecay)])]);
      if (!momentum) return { param: b.op('Sub', [param, b.op('Mul', [g, lr])]), states: [] };
      const v = b.op('Add', [b.op('Mul', [states[0]!, c(b, momentum)]), g]);
      const dir = opts.nesterov ? b.op('Add', [g, b.op('Mul', [v, c(b, momentum)])]) : v;
      return { param: b.op('Sub', [param, b.op('Mul', [dir, lr])]), states: [v] };
    },
  };
}

/** SGD with momentum (0.9 by default). */
export function momentum(opts: Omit<SgdOptions, 'momentum'> & { momentum?: number }): Optimizer {
  return sgd({ ...opts, momentum: opts.momentum ?? 0.9 });
}

export interface AdamOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
}

function adamLike(kind: 'adam' | 'adamw', opts: AdamOptions): Optimizer {
  const b1 = opts.beta1 ?? 0.9;
  const b2 = opts.beta2 ?? 0.999;
  const eps = opts.eps ?? 1e-8;
  return {
    name: kind,
    lr: opts.lr,
    weightDecay: opts.weightDecay ?? (kind === 'adamw' ? 0.01 : 0),
    stateSlots: ['m', 'v'],
    stepScalars: ['bc1', 'bc2'],
    stepValues: (t) => ({ bc1: 1 - b1 ** t, bc2: 1 - b2 ** t }),
    config: { kind, ...opts },
    update({ b, param, grad, states, lr, weightDecay, scalars }) {
      let g = grad;
      let p = param;
      // Adam: L2 decay coupled into the gradient; AdamW: decoupled decay p -= lr·wd·p (torch order).
      if (weightDecay && kind === 'adam') g = b.op('Add', [g, b.op('Mul', [param, c(b, weightDecay)])]);
      if (weightDecay && kind === 'adamw') p = b.op('Mul', [param, b.op('Sub', [c(b, 1), b.op('Mul', [lr, c(b, weightDecay)])])]);
      const m = b.op('Add', [b.op('Mul', [states[0]!, c(b, b1)]), b.op('Mul', [g, c(b, 1 - b1)])]);
      const v = b.op('Add', [b.op('Mul', [states[1]!, c(b, b2)]), b.op('Mul', [b.op('Mul', [g, g]), c(b, 1 - b2)])]);
      // torch: p -= lr/bc1 · m / (sqrt(v)/sqrt(bc2) + eps)
      const denom = b.op('Add', [b.op('Div', [b.op('Sqrt', [v]), b.op('Sqrt', [scalars.bc2!])]), c(b, eps)]);
      const stepSize = b.op('Div', [lr, scalars.bc1!]);
      const next = b.op('Sub', [p, b.op('Mul', [b.op('Div', [m, denom]), stepSize])]);
      return { param: next, states: [m, v] };
    },
  };
}

/** Adam (Kingma & Ba), torch.optim.Adam's update; weight decay is L2 added to the gradient. */
export function adam(opts: AdamOptions): Optimizer {
  return adamLike('adam', opts);
}

/** AdamW (Loshchilov & Hutter): decoupled weight decay, torch.optim.AdamW's update (default wd 0.01). */
export function adamw(opts: AdamOptions): Optimizer {
  return adamLike('adamw', opts);
}

/** Rebuilds an optimizer from its checkpointed config. */
export function optimizerFromConfig(config: Record<string, unknown>): Optimizer {
  const { kind, ...rest } = config as { kind: string } & Record<string, number>;
  switch (kind) {
    case 'sgd': return sgd(rest as unknown as SgdOptions);
    case 'adam': return adam(rest as unknown as AdamOptions);
    case 'adamw': return adamw(rest as unknown as AdamOptions);
    default: throw new Error(`checkpoint optimizer.kind '${kind}' is unknown (valid: sgd, adam, adamw)`);
  }
}
