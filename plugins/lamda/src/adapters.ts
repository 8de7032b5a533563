/**
 * LaMDA and LoRA adapter insertion as graph rewrites. A target is a `MatMul(x, W)` whose weight
 * is a transformer block projection of the @tessera/models builders ('blocks.<i>.attn.{q,k,v,o}'
 * and 'blocks.<i>.mlp.{fc1,fc2}'). The adapter is an added branch, before the bias:
 *
 *   LaMDA  y = x W + s · drop(x) A S B     A frozen (meta.frozen), S and B parameters
 *   LoRA   y = x W + s · drop(x) A B       A and B parameters
 *
 * with s = alpha / r. Parameter names: '<layer>.lamda.{A,S,B}', '<layer>.lora.{A,B}'; the scale is
 * the constant '<layer>.<kind>.scale'. Everything a later step needs (which layers, ranks,
 * scales) is recovered from those names by `findAdapters`, so it survives ONNX export and caches.
 */
import { GraphBuilder, Rng, svd, Tensor, standardOps, type Graph, type OpRegistry, type Svd, type Value } from '@tessera/core';

export const TARGETS = ['q', 'k', 'v', 'o', 'ffn-in', 'ffn-out'] as const;
export type TargetName = (typeof TARGETS)[number];
export type AdapterKind = 'lamda' | 'lora';
export type LamdaInit = 'svd-principal' | 'svd-minor' | 'code-release';

const WEIGHT = /^blocks\.(\d+)\.(?:attn\.(q|k|v|o)|mlp\.(fc1|fc2))\.weight$/;

/** One adapted projection. */
export interface AdapterLayer {
  kind: AdapterKind;
  /** The projection, e.g. 'blocks.0.attn.q'. */
  name: string;
  block: number;
  target: TargetName;
  /** Its pretrained weight [dIn, dOut]. */
  weight: string;
  dIn: number;
  dOut: number;
  rank: number;
  /** alpha / rank. */
  scale: number;
  /** Parameter names: A [dIn, r] (frozen in LaMDA), S [r, r] (LaMDA only), B [r, dOut]. */
  A: string;
  S: string | null;
  B: string;
}

/** A projection the pass can adapt: its weight and the MatMul that reads it. */
export interface TargetProjection {
  name: string;
  block: number;
  target: TargetName;
  weight: string;
  dIn: number;
  dOut: number;
}

/** The adaptable projections of a graph, in node order, restricted to `targets` and `blocks` (null: all). */
export function findTargets(graph: Graph, targets: readonly TargetName[] = TARGETS, blocks: readonly number[] | null = null): TargetProjection[] {
  const out: TargetProjection[] = [];
  for (const n of graph.nodes) {
    if (n.op !== 'MatMul' || n.domain !== '') continue;
    const w = n.inputs[1];
    const m = w?.initializer ? WEIGHT.exec(w.name) : null;
    if (!m || w!.initializer!.rank !== 2) continue;
    const target: TargetName = m[2] ? (m[2] as TargetName) : m[3] === 'fc1' ? 'ffn-in' : 'ffn-out';
    const block = Number(m[1]);
    if (!targets.includes(target) || (blocks && !blocks.includes(block))) continue;
    const [dIn, dOut] = w!.initializer!.shape as [number, number];
    out.push({ name: w!.name.slice(0, -'.weight'.length), block, target, weight: w!.name, dIn, dOut });
  }
  return out;
}

/** The pretrained weight of a projection as float64, row-major [dIn, dOut]. */
export function weightOf(graph: Graph, p: TargetProjection): Float64Array {
  return graph.initializers.get(p.weight)!.initializer!.toFloat64() as Float64Array;
}

/** Thin SVDs of the targets' weights, keyed by weight name (LaMDA init and LaMDA++ share them). */
export function spectra(graph: Graph, targets: readonly TargetProjection[]): Map<string, Svd> {
  return new Map(targets.map((p) => [p.weight, svd(weightOf(graph, p), p.dIn, p.dOut)]));
}

export interface AdapterInsertConfig {
  /** Rank of every adapter (uniform allocation). */
  rank: number;
  /** Per-projection ranks by projection name (LaMDA++); overrides `rank` where given. */
  ranks?: Record<string, number>;
  alpha: number;
  dropout: number;
  targets: readonly TargetName[];
  blocks: readonly number[] | null;
  seed: number;
  registry?: OpRegistry;
}

export interface LamdaInsertConfig extends AdapterInsertConfig {
  init: LamdaInit;
  /** SVDs of the targets' weights when already computed (e.g. for LaMDA++ allocation). */
  svds?: Map<string, Svd>;
}

/** Kaiming-uniform with a = √5 on a [fanIn]-input linear, PyTorch's nn.Linear / PEFT lora_A default: U(−1/√fanIn, 1/√fanIn). */
function kaimingUniform(rng: Rng, n: number, fanIn: number): Float32Array {
  const bound = 1 / Math.sqrt(fanIn);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (2 * rng.uniform() - 1) * bound;
  return out;
}

function rankOf(p: TargetProjection, o: AdapterInsertConfig): number {
  const r = o.ranks?.[p.name] ?? o.rank;
  const max = Math.min(p.dIn, p.dOut);
  if (!Number.isInteger(r) || r < 1 || r > max) throw new Error(`adapter rank for '${p.name}' must be an integer in 1..${max} (min of its ${p.dIn}×${p.dOut} weight), got ${r}`);
  return r;
}

function paramSeed(seed: number, name: string): Rng {
  let h = 2166136261;
  for (const ch of name) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
  return new Rng(seed).fork(h);
}

/**
 * Adds `s · drop(x) · (factors...)` to the output of the projection's MatMul, before its bias.
 * Returns nothing; the graph is changed in place.
 */
function addBranch(graph: Graph, registry: OpRegistry, p: TargetProjection, kind: AdapterKind, factors: Value[], scale: number, dropout: number): void {
  const mm = graph.nodes.find((n) => n.op === 'MatMul' && n.inputs[1]?.name === p.weight);
  if (!mm) throw new Error(`${kind}-insert: no MatMul reads '${p.weight}' in graph "${graph.name}"`);
  const y0 = mm.output(0);
  if (y0.isGraphOutput) throw new Error(`${kind}-insert: the output of ${mm.describe()} is a graph output; adapters go on projections inside transformer blocks`);
  const uses = [...y0.uses];
  const b = new GraphBuilder(graph, registry);
  const nodes = graph.nodes;
  b.insertionPoint = nodes[nodes.indexOf(mm) + 1]; // right after the projection: every use of y0 comes later
  const pre = `${p.name}.${kind}`;
  let h = mm.inputs[0]!;
  if (dropout > 0) {
    const ratio = b.constant(Tensor.scalar(dropout, 'float32'), 'float32', `${pre}.dropout_ratio`);
    ratio.meta.set('constant', true);
    h = b.op('Dropout', [h, ratio], {}, { name: `${pre}.dropout` });
  }
  const names = kind === 'lamda' ? ['u', 'v', 'delta'] : ['u', 'delta'];
  factors.forEach((f, i) => (h = b.op('MatMul', [h, f], {}, { name: `${pre}.${names[i]}` })));
  const s = graph.addInitializer(`${pre}.scale`, Tensor.scalar(scale, 'float32'));
  s.meta.set('constant', true);
  const scaled = b.op('Mul', [h, s], {}, { name: `${pre}.scaled` });
  const y = b.op('Add', [y0, scaled], {}, { name: `${pre}.add` });
  for (const u of uses) u.node.setInput(u.index, y);
}

function param(graph: Graph, name: string, shape: number[], data: Float32Array, frozen = false): Value {
  if (graph.hasValue(name)) throw new Error(`adapter parameter '${name}' already exists in graph "${graph.name}": the projection is adapted twice`);
  const v = graph.addInitializer(name, new Tensor('float32', shape, data));
  if (frozen) v.meta.set('frozen', true);
  return v;
}

/**
 * Inserts LaMDA adapters. With an SVD init (W = U Σ Vᵀ): A = U[:, sel], B = V[:, sel]ᵀ, S = 0, so
 * the adapted model equals the pretrained one at step 0; sel is the top r singular directions
 * ('svd-principal') or the bottom r ('svd-minor'), always stored in descending singular-value
 * order, so row j of B belongs to the j-th largest selected singular value. 'code-release' is the
 * released code's init: A and S Kaiming-uniform (PyTorch default), B = 0.
 */
export function insertLamda(graph: Graph, o: LamdaInsertConfig): AdapterLayer[] {
  const registry = o.registry ?? standardOps();
  const targets = findTargets(graph, o.targets, o.blocks);
  if (targets.length === 0) throw new Error(`lamda-insert: graph "${graph.name}" has no projection matching targets [${o.targets.join(', ')}]${o.blocks ? ` in blocks [${o.blocks.join(', ')}]` : ''} (weights named blocks.<i>.attn.{q,k,v,o}.weight or blocks.<i>.mlp.{fc1,fc2}.weight)`);
  const svds = o.init === 'code-release' ? null : (o.svds ?? spectra(graph, targets));
  const layers: AdapterLayer[] = [];
  for (const p of targets) {
    const r = rankOf(p, o);
    const A = new Float32Array(p.dIn * r);
    const S = new Float32Array(r * r);
    const B = new Float32Array(r * p.dOut);
    if (svds) {
      const d = svds.get(p.weight) ?? svd(weightOf(graph, p), p.dIn, p.dOut);
      const first = o.init === 'svd-principal' ? 0 : d.k - r;
      for (let c = 0; c < r; c++) {
        for (let i = 0; i < p.dIn; i++) A[i * r + c] = d.u[i * d.k + first + c]!;
        for (let j = 0; j < p.dOut; j++) B[c * p.dOut + j] = d.v[j * d.k + first + c]!;
      }
    } else {
      A.set(kaimingUniform(paramSeed(o.seed, `${p.name}.lamda.A`), A.length, p.dIn));
      S.set(kaimingUniform(paramSeed(o.seed, `${p.name}.lamda.S`), S.length, r));
    }
    const a = param(graph, `${p.name}.lamda.A`, [p.dIn, r], A, true);
    const s = param(graph, `${p.name}.lamda.S`, [r, r], S);
    const bv = param(graph, `${p.name}.lamda.B`, [r, p.dOut], B);
    addBranch(graph, registry, p, 'lamda', [a, s, bv], o.alpha / r, o.dropout);
    layers.push({ kind: 'lamda', name: p.name, block: p.block, target: p.target, weight: p.weight, dIn: p.dIn, dOut: p.dOut, rank: r, scale: o.alpha / r, A: a.name, S: s.name, B: bv.name });
  }
  return layers;
}

/** Inserts LoRA adapters (PEFT's init: A Kaiming-uniform, B = 0, so ΔW = 0 at step 0). */
export function insertLora(graph: Graph, o: AdapterInsertConfig): AdapterLayer[] {
  const registry = o.registry ?? standardOps();
  const targets = findTargets(graph, o.targets, o.blocks);
  if (targets.length === 0) throw new Error(`lora-insert: graph "${graph.name}" has no projection matching targets [${o.targets.join(', ')}]${o.blocks ? ` in blocks [${o.blocks.join(', ')}]` : ''}`);
  const layers: AdapterLayer[] = [];
  for (const p of targets) {
    const r = rankOf(p, o);
    const a = param(graph, `${p.name}.lora.A`, [p.dIn, r], kaimingUniform(paramSeed(o.seed, `${p.name}.lora.A`), p.dIn * r, p.dIn));
    const bv = param(graph, `${p.name}.lora.B`, [r, p.dOut], new Float32Array(r * p.dOut));
    addBranch(graph, registry, p, 'lora', [a, bv], o.alpha / r, o.dropout);
    layers.push({ kind: 'lora', name: p.name, block: p.block, target: p.target, weight: p.weight, dIn: p.dIn, dOut: p.dOut, rank: r, scale: o.alpha / r, A: a.name, S: null, B: bv.name });
  }
  return layers;
}

/** The adapters present in a graph, recovered from their parameter names (in node order). */
export function findAdapters(graph: Graph): AdapterLayer[] {
  const layers: AdapterLayer[] = [];
  for (const p of findTargets(graph)) {
    for (const kind of ['lamda', 'lora'] as const) {
      const A = graph.initializers.get(`${p.name}.${kind}.A`);
      const B = graph.initializers.get(`${p.name}.${kind}.B`);
      const s = graph.initializers.get(`${p.name}.${kind}.scale`);
      if (!A || !B || !s) continue;
      const rank = A.initializer!.shape[1]!;
      layers.push({
        kind, name: p.name, block: p.block, target: p.target, weight: p.weight, dIn: p.dIn, dOut: p.dOut, rank,
        scale: s.initializer!.getFlat(0), A: A.name, S: kind === 'lamda' ? `${p.name}.lamda.S` : null, B: B.name,
      });
    }
  }
  return layers;
}

/** Names of the trainable adapter parameters (LaMDA: S and B; LoRA: A and B). */
export function adapterParams(layers: readonly AdapterLayer[]): string[] {
  return layers.flatMap((l) => (l.kind === 'lamda' ? [l.S!, l.B] : [l.A, l.B]));
}
