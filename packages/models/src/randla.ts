import { Rng, Tensor, type Graph, type Value } from '@tessera/core';
import { check, resolveConfig, stamp } from './config.js';
import { LayerBuilder, type BuildOptions } from './layers.js';

export interface RandLAConfig {
  /** Output width d of each encoder layer's block (the block emits 2d channels). */
  widths: number[];
  /** Width of 'fc0', the first per-point linear on the xyz input. */
  fc0: number;
  classes: number;
}

export const RANDLA_DEFAULTS: RandLAConfig = { widths: [16, 32, 64], fc0: 8, classes: 4 };

/** Sampling settings (no weights): they change the point and neighbour counts fed to the graph. */
export interface RandLASampling {
  /** Down-sampling ratio after each encoder layer (default 4 each). */
  ratios: number[];
  /** Neighbours per point, per layer (default 16 each). */
  k: number[];
}

const lrelu = (L: LayerBuilder, v: Value, name: string) => L.leakyRelu(v, 0.2, `${name}.lrelu`);

/** Rows of a [N*M, C]-flattened tensor picked by global indices (n·M + j) -> [..., C]. */
function gatherRows(L: LayerBuilder, v: Value, channels: number, index: Value, name: string): Value {
  return L.op('Gather', [L.reshape(v, [-1, channels], `${name}.rows`), index], { axis: 0 }, name);
}

/**
 * A RandLA-Net-style point-cloud segmentation net (Hu et al. 2020), simplified (see the README):
 * 'fc0'; per encoder layer l a dilated residual block 'encoder.l' — 'mlp1'; two local feature
 * aggregation units, each a relative position encoding MLP on [p_i, p_k, p_i − p_k, |p_i − p_k|]
 * ('locse1', 'locse2') concatenated with neighbour features, attentive pooling (a shared linear
 * 'att1'/'att2', Softmax over the K neighbours, weighted sum, then 'att1.mlp'/'att2.mlp'); 'mlp2' +
 * 'shortcut' and LeakyReLU — then random down-sampling by gathering the sampled points; decoder
 * 'decoder.l' with nearest-neighbour up-sampling and skip concatenation; head 'head.fc1',
 * 'head.fc2', 'head.classifier' -> logits [N, P, classes] (class axis last).
 *
 * Neighbour and sampling indices are inputs (computed outside the graph by `randlaFeeds`):
 * 'neighbors.l' int64 [N, P_l, K_l], 'subsample.l' int64 [N, P_{l+1}], 'upsample.l' int64 [N, P_l],
 * all as global row indices n·P + j into the level's flattened points. Point and neighbour counts
 * are symbolic dims ('P0', 'P1', ..., 'K0', ...), so one graph serves every sampling setting.
 */
export function buildRandLANet(config: Partial<RandLAConfig> = {}, opts: BuildOptions = {}): Graph {
  const c = resolveConfig('randla', RANDLA_DEFAULTS, config);
  check(c.widths.length >= 1 && c.widths.every((w) => w % 2 === 0 && w > 0), 'randla', 'widths', `must be even positive widths, got [${c.widths.join(', ')}]`);
  const L = new LayerBuilder('randla', opts);
  const N = L.batch;
  const layers = c.widths.length;
  const x = L.input('x', 'float32', [N, 'P0', 3]);
  const neighbors: Value[] = [];
  const subsample: Value[] = [];
  const upsample: Value[] = [];
  for (let l = 0; l < layers; l++) neighbors.push(L.input(`neighbors.${l}`, 'int64', [N, `P${l}`, `K${l}`]));
  for (let l = 0; l < layers; l++) subsample.push(L.input(`subsample.${l}`, 'int64', [N, `P${l + 1}`]));
  for (let l = 0; l < layers; l++) upsample.push(L.input(`upsample.${l}`, 'int64', [N, `P${l}`]));

  let feat = lrelu(L, L.linear(x, 'fc0', 3, c.fc0), 'fc0');
  let width = c.fc0;
  let points = x;
  const skips: Array<{ v: Value; width: number }> = [];
  for (let l = 0; l < layers; l++) {
    const d = c.widths[l]!;
    feat = residualBlock(L, feat, points, neighbors[l]!, `encoder.${l}`, width, d);
    width = 2 * d;
    skips.push({ v: feat, width });
    feat = gatherRows(L, feat, width, subsample[l]!, `encoder.${l}.sample`);
    points = gatherRows(L, points, 3, subsample[l]!, `encoder.${l}.sample_xyz`);
  }
  feat = lrelu(L, L.linear(feat, 'middle', width, width), 'middle');
  for (let l = layers - 1; l >= 0; l--) {
    const up = gatherRows(L, feat, width, upsample[l]!, `decoder.${l}.upsample`);
    const skip = skips[l]!;
    feat = lrelu(L, L.linear(L.concat([skip.v, up], -1, `decoder.${l}.concat`), `decoder.${l}`, skip.width + width, skip.width), `decoder.${l}`);
    width = skip.width;
  }
  feat = lrelu(L, L.linear(feat, 'head.fc1', width, 64), 'head.fc1');
  feat = lrelu(L, L.linear(feat, 'head.fc2', 64, 32), 'head.fc2');
  L.output(L.linear(feat, 'head.classifier', 32, c.classes, { init: 'xavier' }), 'logits', -1);
  L.graph.meta.set('randlaLayers', layers);
  return stamp(L.graph, 'randla', c);
}

function residualBlock(L: LayerBuilder, f: Value, p: Value, nbr: Value, name: string, cin: number, d: number): Value {
  // Geometry of each point's neighbourhood, shared by both units: [N, P, K, 10].
  const pk = gatherRows(L, p, 3, nbr, `${name}.xyz_neighbors`);
  const diff = L.op('Sub', [L.unsqueeze(p, [2], `${name}.xyz_center`), pk], {}, `${name}.xyz_diff`);
  const pi = L.op('Add', [pk, diff], {}, `${name}.xyz_tiled`);
  const dist = L.op('Sqrt', [L.reduce('ReduceSum', L.op('Mul', [diff, diff], {}, `${name}.xyz_sq`), [-1], true, `${name}.xyz_sqsum`)], {}, `${name}.xyz_dist`);
  const geometry = L.concat([pi, pk, diff, dist], -1, `${name}.geometry`);

  const f1 = lrelu(L, L.linear(f, `${name}.mlp1`, cin, d / 2), `${name}.mlp1`);
  const pos1 = lrelu(L, L.linear(geometry, `${name}.locse1`, 10, d / 2), `${name}.locse1`);
  const a1 = attentivePooling(L, L.concat([gatherRows(L, f1, d / 2, nbr, `${name}.neighbors1`), pos1], -1, `${name}.cat1`), `${name}.att1`, d, d / 2);
  const pos2 = lrelu(L, L.linear(pos1, `${name}.locse2`, d / 2, d / 2), `${name}.locse2`);
  const a2 = attentivePooling(L, L.concat([gatherRows(L, a1, d / 2, nbr, `${name}.neighbors2`), pos2], -1, `${name}.cat2`), `${name}.att2`, d, d);
  const main = L.linear(a2, `${name}.mlp2`, d, 2 * d);
  const shortcut = L.linear(f, `${name}.shortcut`, cin, 2 * d);
  return lrelu(L, L.op('Add', [main, shortcut], {}, `${name}.residual`), name);
}

/** Softmax scores over the K neighbours (axis 2) from a shared linear, weighted sum, then a linear + LeakyReLU. */
function attentivePooling(L: LayerBuilder, feats: Value, name: string, d: number, out: number): Value {
  const scores = L.op('Softmax', [L.linear(feats, name, d, d, { bias: false, init: 'xavier' })], { axis: 2 }, `${name}.softmax`);
  const pooled = L.reduce('ReduceSum', L.op('Mul', [feats, scores], {}, `${name}.weighted`), [2], false, `${name}.sum`);
  return lrelu(L, L.linear(pooled, `${name}.mlp`, d, out), `${name}.mlp`);
}

/**
 * The index inputs of a RandLA graph for a batch of clouds x [N, P, 3]: per layer, the K nearest
 * neighbours (brute force, the point itself included), a random subset of P_l / ratio points (a
 * seeded permutation's prefix, as RandLA's random sampling), and for up-sampling each point's
 * nearest sampled point. Returns feeds for 'x' and every index input.
 */
export function randlaFeeds(x: Tensor, layers: number, sampling: Partial<RandLASampling> = {}, seed = 0): Record<string, Tensor> {
  const [N, P] = x.shape as [number, number, number];
  const ratios = sampling.ratios ?? new Array<number>(layers).fill(4);
  const ks = sampling.k ?? new Array<number>(layers).fill(16);
  if (ratios.length !== layers || ks.length !== layers) throw new Error(`randlaFeeds: sampling needs ${layers} ratios and ${layers} k values, got ${ratios.length} and ${ks.length}`);
  const rng = new Rng(seed);
  const feeds: Record<string, Tensor> = { x };
  // Coordinates of the current level, per cloud.
  let level: Float32Array[] = [];
  const xs = x.data as Float32Array;
  for (let n = 0; n < N; n++) level.push(xs.slice(n * P * 3, (n + 1) * P * 3));
  let count = P;
  for (let l = 0; l < layers; l++) {
    const k = Math.min(ks[l]!, count);
    const next = Math.max(1, Math.floor(count / ratios[l]!));
    const nbr = new BigInt64Array(N * count * k);
    const sub = new BigInt64Array(N * next);
    const up = new BigInt64Array(N * count);
    const nextLevel: Float32Array[] = [];
    for (let n = 0; n < N; n++) {
      const pts = level[n]!;
      const knn = nearest(pts, count, pts, count, k);
      for (let i = 0; i < count * k; i++) nbr[n * count * k + i] = BigInt(n * count + knn[i]!);
      const perm = rng.permutation(count).subarray(0, next);
      const sampled = new Float32Array(next * 3);
      perm.forEach((src, j) => {
        sampled.set(pts.subarray(src * 3, src * 3 + 3), j * 3);
        sub[n * next + j] = BigInt(n * count + src);
      });
      const nn = nearest(pts, count, sampled, next, 1);
      for (let i = 0; i < count; i++) up[n * count + i] = BigInt(n * next + nn[i]!);
      nextLevel.push(sampled);
    }
    feeds[`neighbors.${l}`] = new Tensor('int64', [N, count, k], nbr);
    feeds[`subsample.${l}`] = new Tensor('int64', [N, next], sub);
    feeds[`upsample.${l}`] = new Tensor('int64', [N, count], up);
    level = nextLevel;
    count = next;
  }
  return feeds;
}

/** For each of the m query points, the indices of its k nearest reference points (closest first, ties by index). */
function nearest(query: Float32Array, m: number, ref: Float32Array, r: number, k: number): Int32Array {
  const out = new Int32Array(m * k);
  const bestD = new Float64Array(k);
  const bestI = new Int32Array(k);
  for (let i = 0; i < m; i++) {
    bestD.fill(Infinity);
    bestI.fill(-1);
    const qx = query[i * 3]!, qy = query[i * 3 + 1]!, qz = query[i * 3 + 2]!;
    for (let j = 0; j < r; j++) {
      const dx = ref[j * 3]! - qx, dy = ref[j * 3 + 1]! - qy, dz = ref[j * 3 + 2]! - qz;
      const dd = dx * dx + dy * dy + dz * dz;
      if (dd >= bestD[k - 1]!) continue;
      let at = k - 1;
      while (at > 0 && bestD[at - 1]! > dd) { bestD[at] = bestD[at - 1]!; bestI[at] = bestI[at - 1]!; at--; }
      bestD[at] = dd;
      bestI[at] = j;
    }
    out.set(bestI, i * k);
  }
  return out;
}
