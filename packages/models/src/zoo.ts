import type { Dim, Graph } from '@tessera/core';
import type { BuildOptions } from './layers.js';
import { buildDeepLabV3Plus, DEEPLAB_DEFAULTS, type DeepLabConfig } from './deeplab.js';
import { buildLeNet5, LENET_DEFAULTS, type LeNetConfig } from './lenet.js';
import { buildLstm, LSTM_DEFAULTS, type LstmConfig } from './lstm.js';
import { buildMlp, MLP_DEFAULTS, type MlpConfig } from './mlp.js';
import { buildRandLANet, RANDLA_DEFAULTS, type RandLAConfig } from './randla.js';
import { buildResNet, RESNET_DEFAULTS, type ResNetConfig } from './resnet.js';
import {
  BERT_DEFAULTS, buildBert, buildGpt, buildViT, GPT_DEFAULTS, VIT_DEFAULTS, type BertConfig, type GptConfig, type ViTConfig,
} from './transformer.js';

/** One entry of the zoo: a builder with its config defaults and the shape of what it returns. */
export interface ModelEntry<C> {
  name: string;
  description: string;
  defaults: Readonly<C>;
  build(config?: Partial<C>, opts?: BuildOptions): Graph;
  /** The documented shape of 'logits' for a config (batch dim 'N'; symbolic dims by name). */
  logitsShape(config: C): Dim[];
}

export interface ModelConfigs {
  mlp: MlpConfig;
  lenet5: LeNetConfig;
  resnet8: ResNetConfig;
  resnet20: ResNetConfig;
  vit: ViTConfig;
  bert: BertConfig;
  gpt: GptConfig;
  lstm: LstmConfig;
  deeplabv3plus: DeepLabConfig;
  randla: RandLAConfig;
}

export type ModelName = keyof ModelConfigs;

/** Every model builder by name, with its config defaults (plain TS types). */
export const modelZoo: { readonly [K in ModelName]: ModelEntry<ModelConfigs[K]> } = {
  mlp: { name: 'mlp', description: 'MLP 784-256-10 (hidden widths configurable)', defaults: MLP_DEFAULTS, build: buildMlp, logitsShape: (c) => ['N', c.classes] },
  lenet5: { name: 'lenet5', description: 'LeNet-5 for 28x28 images', defaults: LENET_DEFAULTS, build: buildLeNet5, logitsShape: (c) => ['N', c.classes] },
  resnet8: {
    name: 'resnet8', description: 'CIFAR-style ResNet-8 with BatchNorm', defaults: { ...RESNET_DEFAULTS, depth: 8 },
    build: (c, o) => buildResNet({ depth: 8, ...c }, o), logitsShape: (c) => ['N', c.classes],
  },
  resnet20: {
    name: 'resnet20', description: 'CIFAR-style ResNet-20 with BatchNorm', defaults: { ...RESNET_DEFAULTS, depth: 20 },
    build: (c, o) => buildResNet({ depth: 20, ...c }, o), logitsShape: (c) => ['N', c.classes],
  },
  vit: { name: 'vit', description: 'tiny pre-LN ViT (patch 7, 16 tokens + CLS, dim 64, depth 4)', defaults: VIT_DEFAULTS, build: buildViT, logitsShape: (c) => ['N', c.classes] },
  bert: { name: 'bert', description: 'tiny BERT-style encoder with a classification head', defaults: BERT_DEFAULTS, build: buildBert, logitsShape: (c) => ['N', c.classes] },
  gpt: { name: 'gpt', description: 'tiny GPT-style causal decoder', defaults: GPT_DEFAULTS, build: buildGpt, logitsShape: (c) => ['N', c.context, c.vocab] },
  lstm: {
    name: 'lstm', description: 'unrolled LSTM (row-sequential images or tokens)', defaults: LSTM_DEFAULTS, build: buildLstm,
    logitsShape: (c) => (c.head === 'last' ? ['N', c.classes] : ['N', c.steps, c.classes]),
  },
  deeplabv3plus: {
    name: 'deeplabv3plus', description: 'small DeepLabV3+-style segmentation net', defaults: DEEPLAB_DEFAULTS, build: buildDeepLabV3Plus,
    logitsShape: (c) => ['N', c.classes, c.imageSize, c.imageSize],
  },
  randla: { name: 'randla', description: 'RandLA-Net-style point-cloud segmentation (simplified)', defaults: RANDLA_DEFAULTS, build: buildRandLANet, logitsShape: (c) => ['N', 'P0', c.classes] },
};

/** Builds a zoo model by name, with a one-line error naming the valid names. */
export function buildModel<K extends ModelName>(name: K, config?: Partial<ModelConfigs[K]>, opts?: BuildOptions): Graph {
  const entry = (modelZoo as unknown as Record<string, ModelEntry<ModelConfigs[K]> | undefined>)[name];
  if (!entry) throw new Error(`unknown model '${String(name)}': expected one of ${Object.keys(modelZoo).join(', ')}`);
  return entry.build(config, opts);
}
