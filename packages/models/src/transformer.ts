import { Tensor, type Graph, type Value } from '@tessera/core';
import { check, resolveConfig, stamp } from './config.js';
import { LayerBuilder, type BuildOptions } from './layers.js';

/** Sizes shared by the transformer blocks of the ViT, BERT and GPT builders. */
export interface BlockConfig {
  dim: number;
  depth: number;
  heads: number;
  mlpDim: number;
}

const MASKED = -1e9;

/**
 * Multi-head softmax attention over x [N, T, D] with separate 'q', 'k', 'v', 'o' linears (so
 * adapters can target each): scores = (Q Kᵀ)·1/√dh + mask, Softmax on the last axis.
 * `mask` is additive and broadcasts to [N, H, T, T].
 */
export function attention(L: LayerBuilder, x: Value, name: string, dim: number, heads: number, mask?: Value): Value {
  const dh = dim / heads;
  const split = (v: Value, perm: number[], n: string) => L.transpose(L.reshape(v, [0, 0, heads, dh], `${name}.${n}.heads`), perm, `${name}.${n}.transpose`);
  const q = split(L.linear(x, `${name}.q`, dim, dim, { init: 'xavier' }), [0, 2, 1, 3], 'q');
  const kT = split(L.linear(x, `${name}.k`, dim, dim, { init: 'xavier' }), [0, 2, 3, 1], 'k');
  const v = split(L.linear(x, `${name}.v`, dim, dim, { init: 'xavier' }), [0, 2, 1, 3], 'v');
  let scores = L.op('Mul', [L.op('MatMul', [q, kT], {}, `${name}.scores`), L.scalar(1 / Math.sqrt(dh), `${name}.scale`)], {}, `${name}.scaled`);
  if (mask) scores = L.op('Add', [scores, mask], {}, `${name}.masked`);
  const probs = L.op('Softmax', [scores], { axis: -1 }, `${name}.softmax`);
  const ctx = L.op('MatMul', [probs, v], {}, `${name}.context`);
  const merged = L.reshape(L.transpose(ctx, [0, 2, 1, 3], `${name}.merge.transpose`), [0, 0, dim], `${name}.merge`);
  return L.linear(merged, `${name}.o`, dim, dim, { init: 'xavier' });
}

/**
 * A transformer block over [N, T, D]: pre-LN (x + attn(ln1(x)); x + mlp(ln2(x))) or post-LN
 * (ln1(x + attn(x)); ln2(x + mlp(x))). Parameters under '<name>.attn.*', '<name>.ln1/ln2',
 * '<name>.mlp.fc1/fc2'; the MLP uses GELU.
 */
export function transformerBlock(L: LayerBuilder, x: Value, name: string, c: BlockConfig, norm: 'pre' | 'post', mask?: Value): Value {
  const mlp = (h: Value) => L.linear(L.gelu(L.linear(h, `${name}.mlp.fc1`, c.dim, c.mlpDim, { init: 'xavier' }), `${name}.mlp.gelu`), `${name}.mlp.fc2`, c.mlpDim, c.dim, { init: 'xavier' });
  if (norm === 'pre') {
    const h = L.op('Add', [x, attention(L, L.layerNorm(x, `${name}.ln1`, c.dim), `${name}.attn`, c.dim, c.heads, mask)], {}, `${name}.residual1`);
    return L.op('Add', [h, mlp(L.layerNorm(h, `${name}.ln2`, c.dim))], {}, `${name}.residual2`);
  }
  const h = L.layerNorm(L.op('Add', [x, attention(L, x, `${name}.attn`, c.dim, c.heads, mask)], {}, `${name}.residual1`), `${name}.ln1`, c.dim);
  return L.layerNorm(L.op('Add', [h, mlp(h)], {}, `${name}.residual2`), `${name}.ln2`, c.dim);
}

function checkBlock(model: string, c: BlockConfig): void {
  check(Number.isInteger(c.dim / c.heads), model, 'heads', `must divide dim ${c.dim}, got ${c.heads}`);
  check(c.depth >= 1, model, 'depth', `must be at least 1, got ${c.depth}`);
}

/** Token + position embeddings via Gather: 'tok_embedding.weight' [V, D], 'pos_embedding.weight' [maxLen, D]. */
function embed(L: LayerBuilder, x: Value, vocab: number, maxLen: number, T: number, dim: number): Value {
  const tokW = L.param('tok_embedding.weight', [vocab, dim], { kind: 'normal', std: 0.02 });
  const posW = L.param('pos_embedding.weight', [maxLen, dim], { kind: 'normal', std: 0.02 });
  const positions = L.constTensor(Tensor.from(Array.from({ length: T }, (_, i) => i), [T], 'int64'), 'positions');
  const tok = L.op('Gather', [tokW, x], { axis: 0 }, 'tok_embedding');
  const pos = L.op('Gather', [posW, positions], { axis: 0 }, 'pos_embedding');
  return L.op('Add', [tok, pos], {}, 'embedding');
}

/** Row 0 of the token axis: [N, T, D] -> [N, D]. */
function firstToken(L: LayerBuilder, h: Value): Value {
  return L.op('Gather', [h, L.constTensor(Tensor.scalar(0, 'int64'), 'cls_index')], { axis: 1 }, 'cls');
}

export interface ViTConfig extends BlockConfig {
  imageSize: number;
  inChannels: number;
  patch: number;
  classes: number;
}

export const VIT_DEFAULTS: ViTConfig = { imageSize: 28, inChannels: 1, patch: 7, dim: 64, depth: 4, heads: 4, mlpDim: 128, classes: 10 };

/**
 * Tiny ViT: 'patch_embed' Conv (kernel = stride = patch) -> tokens [N, (S/p)², D]; one zero token
 * is padded in front and 'pos_embedding' [(S/p)² + 1, D] added, so its row 0 is the learned [CLS]
 * token (a CLS vector plus its position embedding is one free vector, so this equals the usual
 * concat-then-add); pre-LN blocks 'blocks.i'; final 'norm'; 'head' on the CLS token ->
 * logits [N, classes].
 */
export function buildViT(config: Partial<ViTConfig> = {}, opts: BuildOptions = {}): Graph {
  const c = resolveConfig('vit', VIT_DEFAULTS, config);
  checkBlock('vit', c);
  check(c.imageSize % c.patch === 0, 'vit', 'patch', `must divide imageSize ${c.imageSize}, got ${c.patch}`);
  const L = new LayerBuilder('vit', opts);
  const tokens = (c.imageSize / c.patch) ** 2;
  const x = L.input('x', 'float32', [L.batch, c.inChannels, c.imageSize, c.imageSize]);
  const patches = L.conv(x, 'patch_embed', c.inChannels, c.dim, c.patch, { stride: c.patch, pad: 0, gain: 1 });
  let h = L.transpose(L.reshape(patches, [0, c.dim, tokens], 'patch_embed.flatten'), [0, 2, 1], 'patch_embed.tokens');
  h = L.op('Pad', [h, L.ints([0, 1, 0, 0, 0, 0], 'cls_pads')], { mode: 'constant' }, 'cls_slot');
  h = L.op('Add', [h, L.param('pos_embedding', [tokens + 1, c.dim], { kind: 'normal', std: 0.02 })], {}, 'embedding');
  for (let i = 0; i < c.depth; i++) h = transformerBlock(L, h, `blocks.${i}`, c, 'pre');
  h = L.layerNorm(h, 'norm', c.dim);
  L.output(L.linear(firstToken(L, h), 'head', c.dim, c.classes, { init: 'xavier' }), 'logits', 1);
  return stamp(L.graph, 'vit', c);
}

export interface BertConfig extends BlockConfig {
  vocab: number;
  /** Tokens per example (the graph's fixed sequence length). */
  seqLen: number;
  /** Rows of the position table (>= seqLen). */
  maxLen: number;
  classes: number;
  /** Padding token id: attention ignores those keys. */
  padId: number;
  norm: 'pre' | 'post';
}

export const BERT_DEFAULTS: BertConfig = { vocab: 128, seqLen: 24, maxLen: 64, dim: 128, depth: 4, heads: 4, mlpDim: 512, classes: 2, padId: 0, norm: 'pre' };

/**
 * Tiny BERT-style encoder for sequence classification: x int64 [N, seqLen] token ids; embeddings
 * + 'embed_norm'; blocks 'blocks.i' with a key-padding mask (ids equal to padId are ignored);
 * pre-LN blocks end with 'norm' (post-LN, as in BERT, is an option); the head reads token 0
 * ([CLS]) through 'pre_classifier' + ReLU + 'classifier' (as DistilBERT) -> logits [N, classes].
 */
export function buildBert(config: Partial<BertConfig> = {}, opts: BuildOptions = {}): Graph {
  const c = resolveConfig('bert', BERT_DEFAULTS, config);
  checkBlock('bert', c);
  check(c.maxLen >= c.seqLen, 'bert', 'maxLen', `must be at least seqLen ${c.seqLen}, got ${c.maxLen}`);
  const L = new LayerBuilder('bert', opts);
  const x = L.input('x', 'int64', [L.batch, c.seqLen]);
  let h = L.layerNorm(embed(L, x, c.vocab, c.maxLen, c.seqLen, c.dim), 'embed_norm', c.dim);
  const isPad = L.op('Cast', [L.op('Equal', [x, L.constTensor(Tensor.scalar(c.padId, 'int64'), 'pad_id')], {}, 'is_pad')], { to: 1 }, 'is_pad.float');
  const mask = L.unsqueeze(L.op('Mul', [isPad, L.scalar(MASKED, 'masked')], {}, 'pad_mask'), [1, 2], 'pad_mask.heads');
  for (let i = 0; i < c.depth; i++) h = transformerBlock(L, h, `blocks.${i}`, c, c.norm, mask);
  if (c.norm === 'pre') h = L.layerNorm(h, 'norm', c.dim);
  const pooled = L.relu(L.linear(firstToken(L, h), 'pre_classifier', c.dim, c.dim), 'pre_classifier.relu');
  L.output(L.linear(pooled, 'classifier', c.dim, c.classes, { init: 'xavier' }), 'logits', 1);
  return stamp(L.graph, 'bert', c);
}

export interface GptConfig extends BlockConfig {
  vocab: number;
  /** Tokens per forward pass (the graph's fixed context window). */
  context: number;
  /** Also output the final normalised hidden states as 'hidden' [N, T, D] (for adapters that read them). */
  exposeHidden: boolean;
  /**
   * Also output the last block's output before the final norm as 'block_output' [N, T, D]: the
   * context representation that external-memory methods (kNN-LM, PEMA) store and read.
   */
  exposeBlockOutput: boolean;
}

export const GPT_DEFAULTS: GptConfig = { vocab: 64, context: 64, dim: 128, depth: 4, heads: 4, mlpDim: 512, exposeHidden: false, exposeBlockOutput: false };

/**
 * Tiny GPT-style decoder: x int64 [N, context]; token + position embeddings via Gather; pre-LN
 * blocks 'blocks.i' with a causal mask (position t attends to 0..t); final 'norm'; 'lm_head'
 * (no bias, untied) -> logits [N, context, vocab] (class axis last): logits[:, t] predicts token t+1.
 */
export function buildGpt(config: Partial<GptConfig> = {}, opts: BuildOptions = {}): Graph {
  const c = resolveConfig('gpt', GPT_DEFAULTS, config);
  checkBlock('gpt', c);
  const L = new LayerBuilder('gpt', opts);
  const T = c.context;
  const x = L.input('x', 'int64', [L.batch, T]);
  let h = embed(L, x, c.vocab, T, T, c.dim);
  const causal = new Float32Array(T * T);
  for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) causal[i * T + j] = MASKED;
  const mask = L.constTensor(new Tensor('float32', [T, T], causal), 'causal_mask');
  for (let i = 0; i < c.depth; i++) h = transformerBlock(L, h, `blocks.${i}`, c, 'pre', mask);
  const blockOutput = h;
  h = L.layerNorm(h, 'norm', c.dim);
  L.output(L.linear(h, 'lm_head', c.dim, c.vocab, { bias: false, init: 'xavier' }), 'logits', -1);
  if (c.exposeHidden) L.b.output(h, 'hidden');
  if (c.exposeBlockOutput) L.b.output(blockOutput, 'block_output');
  return stamp(L.graph, 'gpt', c);
}
