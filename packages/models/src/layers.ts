import { Graph, GraphBuilder, standardOps, Tensor, type AttrInput, type Dim, type OpRegistry, type Value } from '@tessera/core';
import { initTensor, paramRng, type Init } from './init.js';

/** Options every builder takes besides its architecture config. */
export interface BuildOptions {
  /** Seed of the weight initialisation (default 0). */
  seed?: number;
  /** Registry to build against (default: the standard ops). */
  registry?: OpRegistry;
  /**
   * How BatchNormalization layers compute statistics (default 'inference').
   * 'inference': one BatchNormalization node using the running mean/variance initializers.
   * 'batch-stats': the training form — batch mean and (biased) variance from ReduceMean/Sub/Mul/
   * Sqrt/Div, which onnxruntime's standard CPU build runs (its BatchNormalization has no training
   * mode). Parameter names are the same in both forms, so trained weights copy across by name; the
   * batch statistics' value names are listed in `graph.meta.get('batchNormStats')` (BatchNormStat[])
   * for the trainer to update the running statistics.
   */
  batchNorm?: 'inference' | 'batch-stats';
  /** Name of the batch dimension (default 'N'). */
  batch?: string;
}

/** Where a 'batch-stats' BatchNorm layer keeps its batch statistics, for running-stat updates. */
export interface BatchNormStat {
  layer: string;
  /** Value names of the batch mean and biased variance (keepdims shapes, e.g. [1, C, 1, 1]). */
  mean: string;
  variance: string;
  runningMean: string;
  runningVar: string;
  epsilon: number;
}

/** The axis of `logits` that indexes classes: 1 for [N, C] and [N, C, H, W]; -1 for [N, T, C] and [N, P, C]. */
export type ClassAxis = 1 | -1;

/**
 * Builds layers as standard ONNX ops with named, seeded parameters. A layer named 'conv1' owns
 * 'conv1.weight' and 'conv1.bias'; its nodes are named after it, so graphs read like the model.
 */
export class LayerBuilder {
  readonly b: GraphBuilder;
  readonly seed: number;
  readonly batchNormMode: 'inference' | 'batch-stats';
  readonly batch: string;
  private readonly bnStats: BatchNormStat[] = [];

  constructor(name: string, opts: BuildOptions = {}) {
    this.b = new GraphBuilder(new Graph(name), opts.registry ?? standardOps());
    this.seed = opts.seed ?? 0;
    this.batchNormMode = opts.batchNorm ?? 'inference';
    this.batch = opts.batch ?? 'N';
  }

  get graph(): Graph {
    return this.b.graph;
  }

  input(name: string, dtype: 'float32' | 'int64', shape: Dim[]): Value {
    return this.b.input(name, dtype, shape);
  }

  /** A parameter with its exact name (names are part of the builder's contract, so a clash throws). */
  param(name: string, shape: number[], init: Init): Value {
    if (this.graph.hasValue(name)) throw new Error(`model "${this.graph.name}": parameter name '${name}' is used twice`);
    return this.b.param(name, initTensor(shape, init, paramRng(this.seed, name)));
  }

  /**
   * A constant initializer (mask, scale, shape). It is marked `meta.constant`, the flag trainers
   * read to keep float initializers that are not parameters out of training.
   */
  constTensor(t: Tensor, name = 'const'): Value {
    const v = this.b.constant(t, t.dtype, name);
    v.meta.set('constant', true);
    return v;
  }

  scalar(v: number, name = 'const'): Value {
    return this.constTensor(Tensor.scalar(v, 'float32'), name);
  }

  ints(values: number[], name = 'shape'): Value {
    return this.constTensor(Tensor.from(values, [values.length], 'int64'), name);
  }

  op(op: string, inputs: (Value | null)[], attrs: Record<string, AttrInput | undefined> = {}, name?: string): Value {
    return this.b.op(op, inputs, attrs, { name: name ?? op.toLowerCase() });
  }

  /** y = x W + b with W [in, out] ('<name>.weight') and b [out] ('<name>.bias'): MatMul then Add, any input rank. */
  linear(x: Value, name: string, inF: number, outF: number, opts: { bias?: boolean; init?: 'kaiming' | 'xavier' | 'kaiming-linear' } = {}): Value {
    const init = opts.init ?? 'kaiming';
    const w = this.param(`${name}.weight`, [inF, outF],
      init === 'xavier' ? { kind: 'xavier', fanIn: inF, fanOut: outF } : { kind: 'kaiming', fanIn: inF, gain: init === 'kaiming' ? Math.SQRT2 : 1 });
    const y = this.op('MatMul', [x, w], {}, name);
    if (opts.bias === false) return y;
    return this.op('Add', [y, this.param(`${name}.bias`, [outF], { kind: 'constant', value: 0 })], {}, `${name}.add`);
  }

  /** 2-D convolution, weight [out, in/groups, k, k] Kaiming-normal, 'same'-style padding by default. */
  conv(x: Value, name: string, cin: number, cout: number, k: number,
    opts: { stride?: number; pad?: number; dilation?: number; groups?: number; bias?: boolean; gain?: number } = {}): Value {
    const groups = opts.groups ?? 1;
    const dilation = opts.dilation ?? 1;
    const pad = opts.pad ?? Math.floor(((k - 1) * dilation) / 2);
    const fanIn = (cin / groups) * k * k;
    const w = this.param(`${name}.weight`, [cout, cin / groups, k, k], { kind: 'kaiming', fanIn, gain: opts.gain ?? Math.SQRT2 });
    const inputs = [x, w];
    if (opts.bias ?? true) inputs.push(this.param(`${name}.bias`, [cout], { kind: 'constant', value: 0 }));
    const stride = opts.stride ?? 1;
    return this.op('Conv', inputs, {
      kernel_shape: [k, k], strides: [stride, stride], pads: [pad, pad, pad, pad], dilations: [dilation, dilation], group: groups,
    }, name);
  }

  /**
   * Batch normalisation over channel axis 1 (inputs [N, C] or [N, C, H, W]); parameters
   * '<name>.weight' (gamma), '<name>.bias' (beta), '<name>.running_mean', '<name>.running_var'.
   */
  batchNorm(x: Value, name: string, c: number, epsilon = 1e-5): Value {
    const gamma = this.param(`${name}.weight`, [c], { kind: 'constant', value: 1 });
    const beta = this.param(`${name}.bias`, [c], { kind: 'constant', value: 0 });
    const rm = this.param(`${name}.running_mean`, [c], { kind: 'constant', value: 0 });
    const rv = this.param(`${name}.running_var`, [c], { kind: 'constant', value: 1 });
    if (this.batchNormMode === 'inference') {
      return this.op('BatchNormalization', [x, gamma, beta, rm, rv], { epsilon, momentum: 0.9 }, name);
    }
    const rank = x.shape?.length ?? 4;
    const axes = [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2)];
    const chanShape = [c, ...new Array<number>(rank - 2).fill(1)];
    const mean = this.reduceMean(x, axes, true, `${name}.batch_mean`);
    const xc = this.op('Sub', [x, mean], {}, `${name}.center`);
    const variance = this.reduceMean(this.op('Mul', [xc, xc], {}, `${name}.square`), axes, true, `${name}.batch_var`);
    const std = this.op('Sqrt', [this.op('Add', [variance, this.scalar(epsilon, `${name}.epsilon`)], {}, `${name}.var_eps`)], {}, `${name}.std`);
    const g = rank > 2 ? this.reshape(gamma, chanShape, `${name}.gamma`) : gamma;
    const bt = rank > 2 ? this.reshape(beta, chanShape, `${name}.beta`) : beta;
    const y = this.op('Add', [this.op('Mul', [this.op('Div', [xc, std], {}, `${name}.normalize`), g], {}, `${name}.scale`), bt], {}, name);
    this.bnStats.push({ layer: name, mean: mean.name, variance: variance.name, runningMean: rm.name, runningVar: rv.name, epsilon });
    this.graph.meta.set('batchNormStats', [...this.bnStats]);
    return y;
  }

  /** LayerNormalization over the last axis; '<name>.weight' and '<name>.bias' of shape [d]. */
  layerNorm(x: Value, name: string, d: number, epsilon = 1e-5): Value {
    const gamma = this.param(`${name}.weight`, [d], { kind: 'constant', value: 1 });
    const beta = this.param(`${name}.bias`, [d], { kind: 'constant', value: 0 });
    return this.op('LayerNormalization', [x, gamma, beta], { axis: -1, epsilon }, name);
  }

  relu(x: Value, name = 'relu'): Value {
    return this.op('Relu', [x], {}, name);
  }

  leakyRelu(x: Value, alpha = 0.2, name = 'leaky_relu'): Value {
    return this.op('LeakyRelu', [x], { alpha }, name);
  }

  /** GELU as 0.5·x·(1 + erf(x/√2)) (opset 17 has no Gelu op; onnxruntime fuses this pattern). */
  gelu(x: Value, name = 'gelu'): Value {
    const e = this.op('Erf', [this.op('Div', [x, this.scalar(Math.SQRT2, 'sqrt2')], {}, `${name}.scaled`)], {}, `${name}.erf`);
    const onePlus = this.op('Add', [e, this.scalar(1, 'one')], {}, `${name}.one_plus`);
    return this.op('Mul', [this.op('Mul', [x, onePlus], {}, `${name}.x_mul`), this.scalar(0.5, 'half')], {}, name);
  }

  activation(x: Value, kind: 'relu' | 'gelu' | 'tanh', name: string): Value {
    if (kind === 'relu') return this.relu(x, name);
    if (kind === 'gelu') return this.gelu(x, name);
    return this.op('Tanh', [x], {}, name);
  }

  reshape(x: Value, shape: number[], name = 'reshape'): Value {
    return this.op('Reshape', [x, this.ints(shape, `${name}.shape`)], {}, name);
  }

  transpose(x: Value, perm: number[], name = 'transpose'): Value {
    return this.op('Transpose', [x], { perm }, name);
  }

  concat(xs: Value[], axis: number, name = 'concat'): Value {
    return this.op('Concat', xs, { axis }, name);
  }

  /** Reductions and Unsqueeze take `axes` as an input or an attribute, as the graph's opset says. */
  reduce(op: 'ReduceMean' | 'ReduceSum' | 'ReduceMax', x: Value, axes: number[], keepdims: boolean, name: string): Value {
    if (this.takesInput(op, 'axes')) return this.op(op, [x, this.ints(axes, `${name}.axes`)], { keepdims: keepdims ? 1 : 0 }, name);
    return this.op(op, [x], { axes, keepdims: keepdims ? 1 : 0 }, name);
  }

  reduceMean(x: Value, axes: number[], keepdims: boolean, name = 'reduce_mean'): Value {
    return this.reduce('ReduceMean', x, axes, keepdims, name);
  }

  unsqueeze(x: Value, axes: number[], name = 'unsqueeze'): Value {
    if (this.takesInput('Unsqueeze', 'axes')) return this.op('Unsqueeze', [x, this.ints(axes, `${name}.axes`)], {}, name);
    return this.op('Unsqueeze', [x], { axes }, name);
  }

  /** Splits along `axis` into pieces of the given sizes. */
  split(x: Value, sizes: number[], axis: number, name = 'split'): Value[] {
    if (this.takesInput('Split', 'split')) {
      return this.b.opMulti('Split', [x, this.ints(sizes, `${name}.sizes`)], { axis }, { name, outputs: sizes.length });
    }
    return this.b.opMulti('Split', [x], { axis, split: sizes }, { name, outputs: sizes.length });
  }

  /** Resize by integer scale factors on the spatial axes of [N, C, H, W] ('nearest' or 'linear'). */
  upsample(x: Value, factor: [number, number], mode: 'nearest' | 'linear', name = 'upsample'): Value {
    const scales = this.constTensor(Tensor.from([1, 1, factor[0], factor[1]], [4], 'float32'), `${name}.scales`);
    return this.op('Resize', [x, null, scales], {
      mode, coordinate_transformation_mode: mode === 'linear' ? 'half_pixel' : 'asymmetric', nearest_mode: 'floor',
    }, name);
  }

  /** Marks `v` as the graph output `name` and records which axis holds the classes. */
  output(v: Value, name = 'logits', classAxis?: ClassAxis): Value {
    this.b.output(v, name);
    if (classAxis !== undefined) this.graph.meta.set('classAxis', classAxis);
    return v;
  }

  /**
   * Whether `op` takes `axes` (or Split's `split`) as an input at the graph's opset, per the ONNX
   * changelog: ReduceSum, Squeeze, Unsqueeze and Split since opset 13, the other reductions since
   * 18. Following the opset (not the schema, which may accept both) keeps onnxruntime happy.
   */
  private takesInput(op: string, _input: 'axes' | 'split'): boolean {
    const opset = this.graph.opsets.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version ?? 17;
    return opset >= (op === 'ReduceMean' || op === 'ReduceMax' ? 18 : 13);
  }
}
