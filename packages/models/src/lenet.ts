import type { Graph } from '@tessera/core';
import { check, resolveConfig, stamp } from './config.js';
import { LayerBuilder, type BuildOptions } from './layers.js';

export interface LeNetConfig {
  /** Input channels (default 1) of 28x28 images. */
  inChannels: number;
  imageSize: number;
  /** Filters of conv1 and conv2 (default [6, 16]). */
  channels: [number, number];
  /** Widths of fc1 and fc2 (default [120, 84]). */
  hidden: [number, number];
  classes: number;
  activation: 'relu' | 'tanh';
  batchNorm: boolean;
}

export const LENET_DEFAULTS: LeNetConfig = { inChannels: 1, imageSize: 28, channels: [6, 16], hidden: [120, 84], classes: 10, activation: 'relu', batchNorm: false };

/**
 * LeNet-5 for 28x28 inputs: conv1 5x5 pad 2 -> act -> maxpool 2 -> conv2 5x5 -> act -> maxpool 2
 * -> flatten (16·5·5) -> fc1 -> act -> fc2 -> act -> fc3 -> logits [N, classes].
 * With batchNorm, 'bn1'/'bn2' follow the convs (the convs then have no bias).
 */
export function buildLeNet5(config: Partial<LeNetConfig> = {}, opts: BuildOptions = {}): Graph {
  const c = resolveConfig('lenet5', LENET_DEFAULTS, config);
  // conv1 keeps the size (pad 2), pool1 halves it, conv2 (no pad) removes 4, pool2 halves it.
  const side = (c.imageSize / 2 - 4) / 2;
  check(Number.isInteger(side) && side > 0, 'lenet5', 'imageSize', `must be 8 + a multiple of 4 (e.g. 28, 32), got ${c.imageSize}`);
  const L = new LayerBuilder('lenet5', opts);
  const x = L.input('x', 'float32', [L.batch, c.inChannels, c.imageSize, c.imageSize]);
  const [c1, c2] = c.channels;
  let h = L.conv(x, 'conv1', c.inChannels, c1, 5, { pad: 2, bias: !c.batchNorm });
  if (c.batchNorm) h = L.batchNorm(h, 'bn1', c1);
  h = L.op('MaxPool', [L.activation(h, c.activation, 'conv1.act')], { kernel_shape: [2, 2], strides: [2, 2] }, 'pool1');
  h = L.conv(h, 'conv2', c1, c2, 5, { pad: 0, bias: !c.batchNorm });
  if (c.batchNorm) h = L.batchNorm(h, 'bn2', c2);
  h = L.op('MaxPool', [L.activation(h, c.activation, 'conv2.act')], { kernel_shape: [2, 2], strides: [2, 2] }, 'pool2');
  h = L.reshape(h, [0, c2 * side * side], 'flatten');
  h = L.activation(L.linear(h, 'fc1', c2 * side * side, c.hidden[0]), c.activation, 'fc1.act');
  h = L.activation(L.linear(h, 'fc2', c.hidden[0], c.hidden[1]), c.activation, 'fc2.act');
  L.output(L.linear(h, 'fc3', c.hidden[1], c.classes, { init: 'kaiming-linear' }), 'logits', 1);
  return stamp(L.graph, 'lenet5', c);
}
