import type { Node } from '../graph.js';
import type { InferContext, OpSchema } from '../registry.js';
import type { Tensor } from '../tensor.js';
import { fromNums, intsOf, ioCost, known, toF64, typeOf } from './util.js';

type Act = (x: number) => number;

/** Recurrent activations by ONNX name; alpha/beta come from the op's activation_alpha/beta lists in order. */
function activation(name: string, alpha: number | undefined, beta: number | undefined): Act {
  switch (name.toLowerCase()) {
    case 'sigmoid': return (x) => 1 / (1 + Math.exp(-x));
    case 'tanh': return Math.tanh;
    case 'relu': return (x) => (x > 0 ? x : 0);
    case 'affine': { const a = alpha ?? 1; const b = beta ?? 0; return (x) => a * x + b; }
    case 'leakyrelu': { const a = alpha ?? 0.01; return (x) => (x >= 0 ? x : a * x); }
    case 'thresholdedrelu': { const a = alpha ?? 1; return (x) => (x > a ? x : 0); }
    case 'scaledtanh': { const a = alpha ?? 1; const b = beta ?? 1; return (x) => a * Math.tanh(b * x); }
    case 'hardsigmoid': { const a = alpha ?? 0.2; const b = beta ?? 0.5; return (x) => Math.max(0, Math.min(1, a * x + b)); }
    case 'elu': { const a = alpha ?? 1; return (x) => (x >= 0 ? x : a * (Math.exp(x) - 1)); }
    case 'softsign': return (x) => x / (1 + Math.abs(x));
    case 'softplus': return (x) => Math.log1p(Math.exp(x));
    default: throw new Error(`activation '${name}' is not supported; valid: Sigmoid, Tanh, Relu, Affine, LeakyRelu, ThresholdedRelu, ScaledTanh, HardSigmoid, Elu, Softsign, Softplus`);
  }
}

const ACTS_NEEDING_ALPHA = new Set(['affine', 'leakyrelu', 'thresholdedrelu', 'scaledtanh', 'hardsigmoid', 'elu']);
const ACTS_NEEDING_BETA = new Set(['affine', 'scaledtanh', 'hardsigmoid']);

function activations(node: Node, defaults: string[], dirs: number): Act[][] {
  const names = node.attrs.has('activations') ? node.strings('activations') : [...defaults, ...(dirs === 2 ? defaults : [])];
  const alphas = node.attrs.has('activation_alpha') ? node.floats('activation_alpha') : [];
  const betas = node.attrs.has('activation_beta') ? node.floats('activation_beta') : [];
  let ai = 0;
  let bi = 0;
  const fns = names.map((n) => {
    const l = n.toLowerCase();
    const a = ACTS_NEEDING_ALPHA.has(l) ? alphas[ai++] : undefined;
    const b = ACTS_NEEDING_BETA.has(l) ? betas[bi++] : undefined;
    return activation(n, a, b);
  });
  const k = defaults.length;
  return Array.from({ length: dirs }, (_, d) => fns.slice(d * k, d * k + k));
}

type Cell = 'rnn' | 'gru' | 'lstm';
const GATES: Record<Cell, number> = { rnn: 1, gru: 3, lstm: 4 };
const DEFAULT_ACTS: Record<Cell, string[]> = { rnn: ['Tanh'], gru: ['Sigmoid', 'Tanh'], lstm: ['Sigmoid', 'Tanh', 'Tanh'] };

function recurrent(node: Node, inputs: (Tensor | undefined)[], cell: Cell): Tensor[] {
  const [x, w, r, b, seqLensT, h0T] = inputs;
  const c0T = cell === 'lstm' ? inputs[6] : undefined;
  const pT = cell === 'lstm' ? inputs[7] : undefined;
  const layout = node.int('layout', 0);
  const dirAttr = node.string('direction', 'forward');
  const dirs = dirAttr === 'bidirectional' ? 2 : 1;
  const H = node.int('hidden_size', r!.shape[2]!);
  const G = GATES[cell];
  const [T, Bn, I] = layout === 0 ? (x!.shape as [number, number, number]) : ([x!.shape[1]!, x!.shape[0]!, x!.shape[2]!] as [number, number, number]);
  if (w!.shape[1] !== G * H || w!.shape[2] !== I) throw new Error(`W [${w!.shape.join(', ')}] does not match ${G} gates x hidden ${H} and input size ${I}`);
  const X = toF64(x!);
  const W = toF64(w!);
  const R = toF64(r!);
  const Bv = b ? toF64(b) : new Float64Array(dirs * 2 * G * H);
  const P = pT ? toF64(pT) : new Float64Array(dirs * 3 * H);
  const lens = seqLensT ? intsOf(seqLensT) : new Array<number>(Bn).fill(T);
  const clip = node.attrs.has('clip') ? node.float('clip') : Infinity;
  const linearBeforeReset = node.int('linear_before_reset', 0) !== 0;
  const inputForget = node.int('input_forget', 0) !== 0;
  const acts = activations(node, DEFAULT_ACTS[cell], dirs);
  const xAt = (t: number, bb: number, i: number) => (layout === 0 ? X[(t * Bn + bb) * I + i]! : X[(bb * T + t) * I + i]!);
  const Y = new Float64Array(T * dirs * Bn * H);
  const Yh = new Float64Array(dirs * Bn * H);
  const Yc = new Float64Array(dirs * Bn * H);
  const yIdx = (t: number, d: number, bb: number, h: number) => (layout === 0 ? ((t * dirs + d) * Bn + bb) * H + h : ((bb * T + t) * dirs + d) * H + h);
  const stIdx = (d: number, bb: number, h: number) => (layout === 0 ? (d * Bn + bb) * H + h : (bb * dirs + d) * H + h);
  const h0 = h0T ? toF64(h0T) : undefined;
  const c0 = c0T ? toF64(c0T) : undefined;
  const gates = new Float64Array(G * H);
  const rh = new Float64Array(G * H);
  const clipv = (v: number) => (v > clip ? clip : v < -clip ? -clip : v);
  for (let d = 0; d < dirs; d++) {
    const reverse = dirAttr === 'reverse' || d === 1;
    const [f, g, hAct] = acts[d]!;
    const wOff = d * G * H * I;
    const rOff = d * G * H * H;
    const wb = d * 2 * G * H;
    const rb = wb + G * H;
    for (let bb = 0; bb < Bn; bb++) {
      const hPrev = new Float64Array(H);
      const cPrev = new Float64Array(H);
      for (let h = 0; h < H; h++) {
        hPrev[h] = h0 ? h0[stIdx(d, bb, h)]! : 0;
        cPrev[h] = c0 ? c0[stIdx(d, bb, h)]! : 0;
      }
      const L = lens[bb]!;
      for (let s = 0; s < L; s++) {
        const t = reverse ? L - 1 - s : s;
        for (let q = 0; q < G * H; q++) {
          let acc = Bv[wb + q]!;
          for (let i = 0; i < I; i++) acc += W[wOff + q * I + i]! * xAt(t, bb, i);
          gates[q] = acc;
          let racc = Bv[rb + q]!;
          for (let k = 0; k < H; k++) racc += R[rOff + q * H + k]! * hPrev[k]!;
          rh[q] = racc;
        }
        if (cell === 'rnn') {
          for (let h = 0; h < H; h++) hPrev[h] = f!(clipv(gates[h]! + rh[h]!));
        } else if (cell === 'gru') {
          const hNew = new Float64Array(H);
          const rVec = new Float64Array(H);
          for (let k = 0; k < H; k++) rVec[k] = f!(clipv(gates[H + k]! + rh[H + k]!));
          for (let h = 0; h < H; h++) {
            const z = f!(clipv(gates[h]! + rh[h]!));
            const rr = f!(clipv(gates[H + h]! + rh[H + h]!));
            let cand: number;
            if (linearBeforeReset) cand = g!(clipv(gates[2 * H + h]! + rr * rh[2 * H + h]!));
            else {
              let acc = Bv[rb + 2 * H + h]!;
              for (let k = 0; k < H; k++) acc += R[rOff + (2 * H + h) * H + k]! * rVec[k]! * hPrev[k]!;
              cand = g!(clipv(gates[2 * H + h]! + acc));
            }
            hNew[h] = (1 - z) * cand + z * hPrev[h]!;
          }
          hPrev.set(hNew);
        } else {
          const pOff = d * 3 * H;
          for (let h = 0; h < H; h++) {
            const iG = f!(clipv(gates[h]! + rh[h]! + P[pOff + h]! * cPrev[h]!));
            let fG = f!(clipv(gates[2 * H + h]! + rh[2 * H + h]! + P[pOff + 2 * H + h]! * cPrev[h]!));
            if (inputForget) fG = 1 - iG;
            const cC = g!(clipv(gates[3 * H + h]! + rh[3 * H + h]!));
            const c = fG * cPrev[h]! + iG * cC;
            const oG = f!(clipv(gates[H + h]! + rh[H + h]! + P[pOff + H + h]! * c));
            cPrev[h] = c;
            gates[h] = oG * hAct!(c);
          }
          for (let h = 0; h < H; h++) hPrev[h] = gates[h]!;
        }
        for (let h = 0; h < H; h++) Y[yIdx(t, d, bb, h)] = hPrev[h]!;
      }
      for (let h = 0; h < H; h++) { Yh[stIdx(d, bb, h)] = hPrev[h]!; Yc[stIdx(d, bb, h)] = cPrev[h]!; }
    }
  }
  const dt = x!.dtype;
  const yShape = layout === 0 ? [T, dirs, Bn, H] : [Bn, T, dirs, H];
  const sShape = layout === 0 ? [dirs, Bn, H] : [Bn, dirs, H];
  const out = [fromNums(dt, yShape, Y), fromNums(dt, sShape, Yh)];
  if (cell === 'lstm') out.push(fromNums(dt, sShape, Yc));
  return out;
}

function rnnInfer(cell: Cell) {
  return (ctx: InferContext) => {
    const x = ctx.inputs[0];
    const n = cell === 'lstm' ? 3 : 2;
    if (!x) return new Array(n).fill(undefined);
    const dirs = ctx.node.string('direction', 'forward') === 'bidirectional' ? 2 : 1;
    const H = ctx.node.attrs.has('hidden_size') ? ctx.node.int('hidden_size') : (ctx.inputs[2]?.shape?.[2] ?? null);
    if (!x.shape) return new Array(n).fill({ dtype: x.dtype });
    const layout = ctx.node.int('layout', 0);
    const [T, B] = layout === 0 ? [x.shape[0]!, x.shape[1]!] : [x.shape[1]!, x.shape[0]!];
    const y = typeOf(x.dtype, layout === 0 ? [T, dirs, B, H] : [B, T, dirs, H]);
    const s = typeOf(x.dtype, layout === 0 ? [dirs, B, H] : [B, dirs, H]);
    return cell === 'lstm' ? [y, s, s] : [y, s];
  };
}

function rnnOp(op: string, cell: Cell): OpSchema {
  const inputs = [
    { name: 'X' }, { name: 'W' }, { name: 'R' }, { name: 'B', optional: true }, { name: 'sequence_lens', optional: true },
    { name: 'initial_h', optional: true },
  ];
  if (cell === 'lstm') inputs.push({ name: 'initial_c', optional: true }, { name: 'P', optional: true });
  const outputs = [{ name: 'Y', optional: true }, { name: 'Y_h', optional: true }];
  if (cell === 'lstm') outputs.push({ name: 'Y_c', optional: true });
  return {
    op,
    inputs,
    outputs,
    attrs: {
      activation_alpha: { type: 'floats' }, activation_beta: { type: 'floats' }, activations: { type: 'strings' },
      clip: { type: 'float' }, direction: { type: 'string', default: 'forward' }, hidden_size: { type: 'int' },
      layout: { type: 'int', default: 0 },
      ...(cell === 'gru' ? { linear_before_reset: { type: 'int', default: 0 } } : {}),
      ...(cell === 'lstm' ? { input_forget: { type: 'int', default: 0 } } : {}),
    },
    infer: rnnInfer(cell),
    kernel: ({ node, inputs: ins }) => recurrent(node, ins, cell),
    cost: (node) => {
      const x = node.inputs[0]?.type?.shape;
      const w = node.inputs[1]?.type?.shape;
      const r = node.inputs[2]?.type?.shape;
      if (!known(x) || !known(w) || !known(r)) return ioCost(node);
      const steps = x[0]! * x[1]!;
      return { ...ioCost(node), macs: steps * (w[0]! * w[1]! * w[2]! + r[0]! * r[1]! * r[2]!) };
    },
  };
}

export const rnnOps: OpSchema[] = [rnnOp('RNN', 'rnn'), rnnOp('GRU', 'gru'), rnnOp('LSTM', 'lstm')];
