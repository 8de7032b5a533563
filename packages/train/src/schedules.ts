/** A learning-rate schedule: the multiplier of each group's base learning rate at step t (0-based). */
export type Schedule = (step: number) => number;

export const constant = (): Schedule => () => 1;

/** Multiplies by `gamma` every `every` steps (torch StepLR). */
export const stepDecay = (opts: { every: number; gamma?: number }): Schedule => (t) => (opts.gamma ?? 0.1) ** Math.floor(t / opts.every);

/** Cosine decay from 1 to `floor` over `total` steps (torch CosineAnnealingLR with eta_min = floor·lr). */
export const cosine = (opts: { total: number; floor?: number }): Schedule => (t) => {
  const f = opts.floor ?? 0;
  const p = Math.min(t, opts.total) / opts.total;
  return f + (1 - f) * 0.5 * (1 + Math.cos(Math.PI * p));
};

/** Linear warmup from 1/steps to 1 over `steps` steps, then `after` (shifted to start at 0). */
export const linearWarmup = (steps: number, after: Schedule = constant()): Schedule => (t) =>
  t < steps ? (t + 1) / steps : after(t - steps);
