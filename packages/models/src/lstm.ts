import { Tensor, type Graph, type Value } from '@tessera/core';
import { check, resolveConfig, stamp } from './config.js';
import { LayerBuilder, type BuildOptions } from './layers.js';

export interface LstmConfig {
  /** 'features': x float32 [N, steps, features] (e.g. row-sequential 28x28 images); 'tokens': x int64 [N, steps] through 'embedding'. */
  input: 'features' | 'tokens';
  steps: number;
  features: number;
  vocab: number;
  embedDim: number;
  hidden: number;
  layers: number;
  classes: number;
  /** 'last': logits [N, classes] from the last step; 'sequence': logits [N, steps, classes] at every step. */
  head: 'last' | 'sequence';
}

export const LSTM_DEFAULTS: LstmConfig = {
  input: 'features', steps: 28, features: 28, vocab: 64, embedDim: 32, hidden: 128, layers: 1, classes: 10, head: 'last',
};

/** Per layer, the value names of h_t for t = 0..T-1 (the states that feed the next matrix products). */
export interface LstmStates {
  layer: string;
  hidden: string[];
  cell: string[];
}

/**
 * LSTM unrolled over time (the layout measured fastest in shared/notes/training-graphs.md): per
 * layer 'lstm.l', one MatMul projects every step's input at once (time-major [T, N, D] · W_ih
 * [D, 4H] + b: one GEMM of T·N rows), Gather takes step t; each
 * step adds h_{t-1} W_hh (W_hh [H, 4H], skipped at t = 0 where h = 0), splits the gates
 * [i, f, o, g], and computes c_t = σ(f)c_{t-1} + σ(i)tanh(g), h_t = σ(o)tanh(c_t).
 * h_t values are named 'lstm.l.h.t' and listed in graph.meta 'lstmStates' (LstmStates[]).
 */
export function buildLstm(config: Partial<LstmConfig> = {}, opts: BuildOptions = {}): Graph {
  const c = resolveConfig('lstm', LSTM_DEFAULTS, config);
  check(c.steps >= 1, 'lstm', 'steps', `must be at least 1, got ${c.steps}`);
  check(c.layers >= 1, 'lstm', 'layers', `must be at least 1, got ${c.layers}`);
  const L = new LayerBuilder('lstm', opts);
  const T = c.steps;
  const H = c.hidden;
  let seq: Value;
  let D: number;
  if (c.input === 'tokens') {
    const x = L.input('x', 'int64', [L.batch, T]);
    seq = L.op('Gather', [L.param('embedding.weight', [c.vocab, c.embedDim], { kind: 'normal', std: 0.1 }), x], { axis: 0 }, 'embedding');
    D = c.embedDim;
  } else {
    seq = L.input('x', 'float32', [L.batch, T, c.features]);
    D = c.features;
  }
  // Time-major [T, N, D]: step t is Gather(index t) on axis 0.
  let steps = L.transpose(seq, [1, 0, 2], 'time_major');
  const states: LstmStates[] = [];
  let hs: Value[] = [];
  for (let l = 0; l < c.layers; l++) {
    const name = `lstm.${l}`;
    const wih = L.param(`${name}.weight_ih`, [D, 4 * H], { kind: 'xavier', fanIn: D, fanOut: 4 * H });
    const whh = L.param(`${name}.weight_hh`, [H, 4 * H], { kind: 'xavier', fanIn: H, fanOut: 4 * H });
    const bias = L.param(`${name}.bias`, [4 * H], { kind: 'constant', value: 0 });
    // Forget-gate bias 1 (gate order i, f, o, g) so early training keeps the cell state.
    (bias.initializer!.data as Float32Array).fill(1, H, 2 * H);
    // One product for all steps: [T, N, D] x [D, 4H] is a single GEMM of T·N rows.
    const proj = L.op('Add', [L.op('MatMul', [steps, wih], {}, `${name}.input_proj`), bias], {}, `${name}.input_proj.bias`);
    let h: Value | null = null;
    let cell: Value | null = null;
    hs = [];
    const cells: Value[] = [];
    for (let t = 0; t < T; t++) {
      const xt = L.op('Gather', [proj, L.constTensor(Tensor.scalar(t, 'int64'), 'step')], { axis: 0 }, `${name}.x.${t}`);
      const gates = h ? L.op('Add', [xt, L.op('Gemm', [h, whh], {}, `${name}.recurrent.${t}`)], {}, `${name}.gates.${t}`) : xt;
      const [gi, gf, go, gg] = L.split(gates, [H, H, H, H], 1, `${name}.gates.${t}.split`) as [Value, Value, Value, Value];
      const i = L.op('Sigmoid', [gi], {}, `${name}.i.${t}`);
      const o = L.op('Sigmoid', [go], {}, `${name}.o.${t}`);
      const g = L.op('Tanh', [gg], {}, `${name}.g.${t}`);
      cell = cell
        ? L.op('Add', [L.op('Mul', [L.op('Sigmoid', [gf], {}, `${name}.f.${t}`), cell], {}, `${name}.fc.${t}`), L.op('Mul', [i, g], {}, `${name}.ig.${t}`)], {}, `${name}.c.${t}`)
        : L.op('Mul', [i, g], {}, `${name}.c.${t}`);
      h = L.op('Mul', [o, L.op('Tanh', [cell], {}, `${name}.c.${t}.tanh`)], {}, `${name}.h.${t}`);
      hs.push(h);
      cells.push(cell);
    }
    states.push({ layer: name, hidden: hs.map((v) => v.name), cell: cells.map((v) => v.name) });
    if (l + 1 < c.layers) {
      steps = L.concat(hs.map((v, t) => L.unsqueeze(v, [0], `${name}.h.${t}.step`)), 0, `${name}.outputs`);
      D = H;
    }
  }
  L.graph.meta.set('lstmStates', states);
  if (c.head === 'last') {
    L.output(L.linear(hs[T - 1]!, 'fc', H, c.classes, { init: 'xavier' }), 'logits', 1);
  } else {
    const all = L.concat(hs.map((v, t) => L.unsqueeze(v, [1], `states.${t}`)), 1, 'states');
    L.output(L.linear(all, 'fc', H, c.classes, { init: 'xavier' }), 'logits', -1);
  }
  return stamp(L.graph, 'lstm', c);
}
