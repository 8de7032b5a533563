import type { Graph, Value } from '@tessera/core';
import { check, resolveConfig, stamp } from './config.js';
import { LayerBuilder, type BuildOptions } from './layers.js';

export interface InvertedResidualStage {
  /** Blocks in the stage; only blocks after the first have identity residuals (and can be dropped). */
  blocks: number;
  width: number;
  /** Stride of the stage's first block (1 or 2). */
  stride: number;
  /** Hidden width = expansion · input width (1 skips the expand conv, as MobileNetV2). */
  expansion: number;
}

export interface DeepLabConfig {
  inChannels: number;
  imageSize: number;
  classes: number;
  stem: number;
  stages: InvertedResidualStage[];
  /** Index of the stage whose output feeds the decoder's low-level branch. */
  lowLevelStage: number;
  /** Dilation rates of the atrous 3x3 ASPP branches ('aspp.atrous<rate>'). */
  asppRates: number[];
  asppWidth: number;
  /** Include the image-pooling ASPP branch. */
  imagePool: boolean;
  lowLevelWidth: number;
  decoderWidth: number;
}

export const DEEPLAB_DEFAULTS: DeepLabConfig = {
  inChannels: 3, imageSize: 32, classes: 5, stem: 16,
  stages: [
    { blocks: 1, width: 16, stride: 1, expansion: 1 },
    { blocks: 2, width: 24, stride: 2, expansion: 3 },
    { blocks: 2, width: 32, stride: 2, expansion: 3 },
    { blocks: 2, width: 48, stride: 1, expansion: 3 },
  ],
  lowLevelStage: 1, asppRates: [1, 2, 3], asppWidth: 32, imagePool: true, lowLevelWidth: 16, decoderWidth: 32,
};

/**
 * A small DeepLabV3+-style segmentation net: 'stem' conv3x3+BN+ReLU; inverted-residual stages
 * ('stages.s.b.expand' 1x1, '.dw' depthwise 3x3, '.project' 1x1, each with BN; ReLU instead of
 * ReLU6); ASPP on the last stage ('aspp.conv1x1', 'aspp.atrous<r>' dilated 3x3, 'aspp.pool'
 * image pooling upsampled by Resize, concat, 'aspp.project'); decoder: Resize (bilinear) to the
 * low-level stage's resolution, concat with 'decoder.low_level' 1x1 projection, 'decoder.conv1',
 * 'decoder.conv2' 3x3, 'classifier' 1x1, Resize back to the input size -> logits [N, classes, S, S].
 */
export function buildDeepLabV3Plus(config: Partial<DeepLabConfig> = {}, opts: BuildOptions = {}): Graph {
  const c = resolveConfig('deeplabv3plus', DEEPLAB_DEFAULTS, config);
  check(c.stages.length >= 1 && c.stages.every((s) => s.blocks >= 1 && (s.stride === 1 || s.stride === 2)), 'deeplabv3plus', 'stages', 'need at least one stage, each with blocks >= 1 and stride 1 or 2');
  check(c.lowLevelStage >= 0 && c.lowLevelStage < c.stages.length - 1, 'deeplabv3plus', 'lowLevelStage', `must index a stage before the last (0..${c.stages.length - 2}), got ${c.lowLevelStage}`);
  const strideAt = (s: number) => c.stages.slice(0, s + 1).reduce((p, st) => p * st.stride, 1);
  const lowStride = strideAt(c.lowLevelStage);
  const highStride = strideAt(c.stages.length - 1);
  check(c.imageSize % highStride === 0, 'deeplabv3plus', 'imageSize', `must be a multiple of the output stride ${highStride}, got ${c.imageSize}`);
  const L = new LayerBuilder('deeplabv3plus', opts);
  const x = L.input('x', 'float32', [L.batch, c.inChannels, c.imageSize, c.imageSize]);
  const cbr = (h: Value, name: string, cin: number, cout: number, k: number, o: { stride?: number; dilation?: number; groups?: number; relu?: boolean } = {}) => {
    const y = L.batchNorm(L.conv(h, `${name}`, cin, cout, k, { ...o, bias: false }), `${name}.bn`, cout);
    return o.relu === false ? y : L.relu(y, `${name}.relu`);
  };
  let h = cbr(x, 'stem', c.inChannels, c.stem, 3);
  let cin = c.stem;
  let low: Value | undefined;
  c.stages.forEach((st, s) => {
    for (let b = 0; b < st.blocks; b++) {
      const name = `stages.${s}.${b}`;
      const stride = b === 0 ? st.stride : 1;
      const hidden = cin * st.expansion;
      let y = st.expansion === 1 ? h : cbr(h, `${name}.expand`, cin, hidden, 1);
      y = cbr(y, `${name}.dw`, hidden, hidden, 3, { stride, groups: hidden });
      y = cbr(y, `${name}.project`, hidden, st.width, 1, { relu: false });
      h = stride === 1 && cin === st.width ? L.op('Add', [h, y], {}, `${name}.residual`) : y;
      cin = st.width;
    }
    if (s === c.lowLevelStage) low = h;
  });
  const side = c.imageSize / highStride;
  const A = c.asppWidth;
  const branches = [cbr(h, 'aspp.conv1x1', cin, A, 1)];
  for (const r of c.asppRates) branches.push(cbr(h, `aspp.atrous${r}`, cin, A, 3, { dilation: r }));
  if (c.imagePool) {
    const pooled = L.relu(L.conv(L.op('GlobalAveragePool', [h], {}, 'aspp.pool.gap'), 'aspp.pool', cin, A, 1, { pad: 0 }), 'aspp.pool.relu');
    branches.push(L.upsample(pooled, [side, side], 'nearest', 'aspp.pool.upsample'));
  }
  const aspp = cbr(L.concat(branches, 1, 'aspp.concat'), 'aspp.project', A * branches.length, A, 1);
  const lowStages = c.stages[c.lowLevelStage]!.width;
  const lowProj = cbr(low!, 'decoder.low_level', lowStages, c.lowLevelWidth, 1);
  const up = highStride / lowStride;
  const merged = L.concat([up === 1 ? aspp : L.upsample(aspp, [up, up], 'linear', 'decoder.upsample'), lowProj], 1, 'decoder.concat');
  let d = cbr(merged, 'decoder.conv1', A + c.lowLevelWidth, c.decoderWidth, 3);
  d = cbr(d, 'decoder.conv2', c.decoderWidth, c.decoderWidth, 3);
  let logits = L.conv(d, 'classifier', c.decoderWidth, c.classes, 1, { pad: 0, gain: 1 });
  if (lowStride > 1) logits = L.upsample(logits, [lowStride, lowStride], 'linear', 'classifier.upsample');
  L.output(logits, 'logits', 1);
  return stamp(L.graph, 'deeplabv3plus', c);
}
