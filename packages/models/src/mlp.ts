import type { Graph } from '@tessera/core';
import { check, resolveConfig, stamp } from './config.js';
import { LayerBuilder, type BuildOptions } from './layers.js';

export interface MlpConfig {
  /** Shape of one example; flattened first (default [1, 28, 28]). */
  inputShape: number[];
  /** Hidden widths, one per hidden layer (default [256]). */
  hidden: number[];
  classes: number;
  activation: 'relu' | 'gelu' | 'tanh';
  /** BatchNormalization after each hidden linear, before the activation. */
  batchNorm: boolean;
}

export const MLP_DEFAULTS: MlpConfig = { inputShape: [1, 28, 28], hidden: [256], classes: 10, activation: 'relu', batchNorm: false };

/**
 * Multi-layer perceptron: flatten (Reshape to [N, features]), then ('fc1', 'fc2', ...) linears with activations; the last
 * linear ('fc{n+1}') gives logits [N, classes]. Default 784-256-10.
 */
export function buildMlp(config: Partial<MlpConfig> = {}, opts: BuildOptions = {}): Graph {
  const c = resolveConfig('mlp', MLP_DEFAULTS, config);
  check(c.hidden.every((h) => Number.isInteger(h) && h > 0), 'mlp', 'hidden', `must hold positive integers, got [${c.hidden.join(', ')}]`);
  const L = new LayerBuilder('mlp', opts);
  const x = L.input('x', 'float32', [L.batch, ...c.inputShape]);
  let width = c.inputShape.reduce((a, b) => a * b, 1);
  let h = c.inputShape.length === 1 ? x : L.reshape(x, [0, width], 'flatten');
  c.hidden.forEach((out, i) => {
    const name = `fc${i + 1}`;
    h = L.linear(h, name, width, out, { bias: !c.batchNorm });
    if (c.batchNorm) h = L.batchNorm(h, `bn${i + 1}`, out);
    h = L.activation(h, c.activation, `${name}.${c.activation}`);
    width = out;
  });
  const logits = L.linear(h, `fc${c.hidden.length + 1}`, width, c.classes, { init: 'kaiming-linear' });
  L.output(logits, 'logits', 1);
  return stamp(L.graph, 'mlp', c);
}
