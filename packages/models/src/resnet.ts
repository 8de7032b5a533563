import type { Graph, Value } from '@tessera/core';
import { check, resolveConfig, stamp } from './config.js';
import { LayerBuilder, type BuildOptions } from './layers.js';

export interface ResNetConfig {
  /** 6n + 2: 8 (n = 1) or 20 (n = 3), ... (CIFAR-style ResNet). */
  depth: number;
  /** Channels of the three stages (default [16, 32, 64]). */
  widths: [number, number, number];
  inChannels: number;
  imageSize: number;
  classes: number;
}

export const RESNET_DEFAULTS: ResNetConfig = { depth: 8, widths: [16, 32, 64], inChannels: 1, imageSize: 28, classes: 10 };

/**
 * CIFAR-style ResNet (He et al. 2016, section 4.2) with BatchNormalization: 'stem' conv3x3 + BN +
 * ReLU, three stages ('layer1'..'layer3') of n basic blocks ('layer2.0.conv1', 'layer2.0.bn1', ...),
 * stride 2 at the start of stages 2 and 3 with a 1x1 conv + BN projection shortcut
 * ('layer2.0.shortcut'), global average pool, 'fc' -> logits [N, classes].
 */
export function buildResNet(config: Partial<ResNetConfig> = {}, opts: BuildOptions = {}): Graph {
  const c = resolveConfig('resnet', RESNET_DEFAULTS, config);
  const n = (c.depth - 2) / 6;
  check(Number.isInteger(n) && n >= 1, 'resnet', 'depth', `must be 6n + 2 (8, 14, 20, ...), got ${c.depth}`);
  const L = new LayerBuilder(`resnet${c.depth}`, opts);
  const x = L.input('x', 'float32', [L.batch, c.inChannels, c.imageSize, c.imageSize]);
  let h = L.relu(L.batchNorm(L.conv(x, 'stem.conv', c.inChannels, c.widths[0], 3, { bias: false }), 'stem.bn', c.widths[0]), 'stem.relu');
  let cin = c.widths[0];
  c.widths.forEach((w, s) => {
    for (let i = 0; i < n; i++) {
      const stride = s > 0 && i === 0 ? 2 : 1;
      h = basicBlock(L, h, `layer${s + 1}.${i}`, cin, w, stride);
      cin = w;
    }
  });
  const pooled = L.reshape(L.op('GlobalAveragePool', [h], {}, 'avgpool'), [0, cin], 'flatten');
  L.output(L.linear(pooled, 'fc', cin, c.classes, { init: 'kaiming-linear' }), 'logits', 1);
  return stamp(L.graph, 'resnet', c);
}

function basicBlock(L: LayerBuilder, x: Value, name: string, cin: number, cout: number, stride: number): Value {
  let h = L.batchNorm(L.conv(x, `${name}.conv1`, cin, cout, 3, { stride, bias: false }), `${name}.bn1`, cout);
  h = L.relu(h, `${name}.relu1`);
  h = L.batchNorm(L.conv(h, `${name}.conv2`, cout, cout, 3, { bias: false }), `${name}.bn2`, cout);
  const shortcut = stride === 1 && cin === cout
    ? x
    : L.batchNorm(L.conv(x, `${name}.shortcut.conv`, cin, cout, 1, { stride, pad: 0, bias: false }), `${name}.shortcut.bn`, cout);
  return L.relu(L.op('Add', [h, shortcut], {}, `${name}.add`), `${name}.relu2`);
}
