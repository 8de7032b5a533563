import { Graph, GraphBuilder, grad, interpret, Rng, Tensor, type Value } from '@tessera/core';
import { describe, expect, it } from 'vitest';
import { hostDivergenceWeights } from './calibration.js';
import { attachBdkdLoss } from './loss.js';
import { parseBdkdLossConfig, type BdkdLossConfig } from './options.js';

const B = 8;
const C = 5;

/** Student rows alternate between sharp and flat, teacher rows the other way: entropy gaps of both signs. */
function logits(seed: number): { zs: Float32Array; zt: Float32Array; y: BigInt64Array } {
  const rng = new Rng(seed);
  const zs = new Float32Array(B * C);
  const zt = new Float32Array(B * C);
  const y = new BigInt64Array(B);
  for (let i = 0; i < B; i++) {
    const [ss, st] = i % 2 === 0 ? [6, 0.5] : [0.5, 6];
    for (let k = 0; k < C; k++) {
      zs[i * C + k] = ss * rng.normal();
      zt[i * C + k] = st * rng.normal();
    }
    y[i] = BigInt(rng.int(C));
  }
  return { zs, zt, y };
}

/** The loss graph alone: inputs zS, zT, labels; every diagnostic value as an output. */
function lossGraph(cfg: BdkdLossConfig) {
  const b = new GraphBuilder(new Graph('bdkd-loss'));
  const zs = b.input('zs', 'float32', [B, C]);
  const zt = b.input('zt', 'float32', [B, C]);
  const labels = b.input('labels', 'int64', [B]);
  const v = attachBdkdLoss(b, { studentLogits: zs, teacherLogits: zt, labels }, cfg);
  for (const o of [v.loss, v.studentLoss, v.teacherLoss!, v.fkl, v.rkl, v.gap, v.fklWeight, v.rklWeight]) b.graph.addOutput(o);
  return { g: b.graph, v, zs, zt };
}

function run(cfg: BdkdLossConfig, seed = 3) {
  const { g, v } = lossGraph(cfg);
  const d = logits(seed);
  const out = interpret(g, { zs: new Tensor('float32', [B, C], d.zs), zt: new Tensor('float32', [B, C], d.zt), labels: new Tensor('int64', [B], d.y) });
  const get = (x: Value) => Array.from(out[x.name]!.toFloat64());
  return { d, loss: get(v.loss)[0]!, ls: get(v.studentLoss)[0]!, lt: get(v.teacherLoss!)[0]!, fkl: get(v.fkl), rkl: get(v.rkl), gap: get(v.gap), fw: get(v.fklWeight), rw: get(v.rklWeight) };
}

/** Written out from the definitions, independent of the plugin's helpers. */
function direct(z: Float32Array, i: number, tau: number): number[] {
  const row = Array.from(z.subarray(i * C, (i + 1) * C), (x) => x / tau);
  const m = Math.max(...row);
  const e = row.map((x) => Math.exp(x - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}
const kl = (p: number[], q: number[]) => p.reduce((a, pk, k) => a + pk * Math.log(pk / q[k]!), 0);
const entropy = (p: number[]) => -p.reduce((a, pk) => a + pk * Math.log(pk), 0);
const ce = (z: Float32Array, y: BigInt64Array) => {
  let s = 0;
  for (let i = 0; i < B; i++) s -= Math.log(direct(z, i, 1)[Number(y[i])]!);
  return s / B;
};

describe('BD-KD loss graph', () => {
  it('forward KL, reverse KL and the entropy gap match a direct computation per sample', () => {
    const cfg = parseBdkdLossConfig({ tau: 2 });
    const r = run(cfg);
    for (let i = 0; i < B; i++) {
      const ps = direct(r.d.zs, i, 2);
      const pt = direct(r.d.zt, i, 2);
      expect(r.fkl[i]).toBeCloseTo(kl(pt, ps), 5);
      expect(r.rkl[i]).toBeCloseTo(kl(ps, pt), 5);
      expect(r.gap[i]).toBeCloseTo(entropy(ps) - entropy(pt), 5);
    }
    // Forward and reverse KL really differ here (a swap would be visible).
    expect(r.fkl.some((f, i) => Math.abs(f - r.rkl[i]!) > 0.1)).toBe(true);
  });

  it("'hard' weights switch per sample with the sign of the entropy gap, and the loss uses them", () => {
    const cfg = parseBdkdLossConfig({ tau: 3, wMajor: 0.9, wMinor: 0.1, lambdaStudent: 0.7, lambdaTeacher: 0.4 });
    const r = run(cfg);
    expect(r.gap.some((g) => g > 0) && r.gap.some((g) => g < 0)).toBe(true);
    for (let i = 0; i < B; i++) {
      expect(r.rw[i]).toBeCloseTo(r.gap[i]! > 0 ? 0.9 : 0.1, 6);
      expect(r.fw[i]).toBeCloseTo(r.gap[i]! > 0 ? 0.1 : 0.9, 6);
    }
    // L_S = CE + λ_S τ² mean_i(a_i FKL_i + b_i RKL_i) with the gap-dependent weights; a constant
    // weight (e.g. 0.5/0.5) gives a different number.
    const kd = r.fkl.reduce((a, f, i) => a + r.fw[i]! * f + r.rw[i]! * r.rkl[i]!, 0) / B;
    expect(r.ls).toBeCloseTo(ce(r.d.zs, r.d.y) + 0.7 * 9 * kd, 4);
    const constant = r.fkl.reduce((a, f, i) => a + 0.5 * f + 0.5 * r.rkl[i]!, 0) / B;
    expect(Math.abs(ce(r.d.zs, r.d.y) + 0.7 * 9 * constant - r.ls)).toBeGreaterThan(1e-2);
    // Teacher: CE + λ_T τ² mean KL(p_T‖p_S) (reverse KL from the teacher's side).
    let rklT = 0;
    for (let i = 0; i < B; i++) rklT += kl(direct(r.d.zt, i, 3), direct(r.d.zs, i, 3));
    expect(r.lt).toBeCloseTo(ce(r.d.zt, r.d.y) + 0.4 * 9 * (rklT / B), 4);
    expect(r.loss).toBeCloseTo(r.ls + r.lt, 5);
  });

  it("'soft' weights are sigmoid(gap / softTemp); constant rules give constant weights; host mirror agrees", () => {
    for (const weighting of ['soft', 'fkl-only', 'rkl-only', 'fixed-mix', 'hard'] as const) {
      const cfg = parseBdkdLossConfig({ weighting, softTemp: 0.5, fixedMix: 0.3 });
      const r = run(cfg, 11);
      const host = hostDivergenceWeights(r.gap, cfg);
      for (let i = 0; i < B; i++) {
        expect(r.rw[i]).toBeCloseTo(host.rkl[i]!, 6);
        expect(r.fw[i]).toBeCloseTo(host.fkl[i]!, 6);
      }
      if (weighting === 'soft') for (let i = 0; i < B; i++) expect(r.rw[i]).toBeCloseTo(1 / (1 + Math.exp(-r.gap[i]! / 0.5)), 6);
      if (weighting === 'fixed-mix') expect(new Set(r.rw.map((w) => w.toFixed(6)))).toEqual(new Set(['0.300000']));
      if (weighting === 'soft' || weighting === 'hard') expect(new Set(r.rw.map((w) => w.toFixed(4))).size).toBeGreaterThan(1);
    }
  });

  it('each KD term sends gradient only into its own network (the other side is a constant)', () => {
    const cfg = parseBdkdLossConfig({ tau: 3, weighting: 'soft' });
    const { g, v, zs, zt } = lossGraph(cfg);
    const total = grad(g, v.loss, [zs, zt]).grads;
    const own = [grad(g, v.studentLoss, [zs]).grads[0]!, grad(g, v.teacherLoss!, [zt]).grads[0]!];
    const cross = grad(g, v.studentLoss, [zt]).grads[0];
    expect(cross).toBeNull(); // the student's objective does not depend differentiably on the teacher
    for (const x of [...total, ...own]) g.addOutput(x!);
    const d = logits(5);
    const out = interpret(g, { zs: new Tensor('float32', [B, C], d.zs), zt: new Tensor('float32', [B, C], d.zt), labels: new Tensor('int64', [B], d.y) });
    const a = (x: Value) => Array.from(out[x.name]!.toFloat64());
    const [gs, gt] = [a(total[0]!), a(total[1]!)];
    a(own[0]!).forEach((x, i) => expect(gs[i]).toBeCloseTo(x, 6));
    a(own[1]!).forEach((x, i) => expect(gt[i]).toBeCloseTo(x, 6));
  });

  it('forward KL towards a peaked teacher leaves the student less certain than reverse KL (2-class toy, one step)', () => {
    const entropyAfterStep = (weighting: 'fkl-only' | 'rkl-only') => {
      const b = new GraphBuilder(new Graph('toy'));
      const zs = b.input('zs', 'float32', [1, 2]);
      const zt = b.input('zt', 'float32', [1, 2]);
      const labels = b.input('labels', 'int64', [1]);
      const cfg = parseBdkdLossConfig({ tau: 1, weighting });
      const v = attachBdkdLoss(b, { studentLogits: zs, teacherLogits: zt, labels }, cfg);
      // KD gradient only: differentiate the student's KD part (L_S minus its CE) by dropping CE's label signal.
      const kd = b.sub(v.studentLoss, b.op('SoftmaxCrossEntropyLoss', [zs, labels], { reduction: 'mean' }));
      b.graph.addOutput(grad(b.graph, kd, [zs]).grads[0]!);
      const z = [0.5, 0];
      const out = interpret(b.graph, { zs: Tensor.from(z, [1, 2]), zt: Tensor.from([4, -4], [1, 2]), labels: Tensor.from([0], [1], 'int64') });
      const gz = Array.from(out[b.graph.outputs[0]!.name]!.toFloat64());
      const next = z.map((x, k) => x - 0.5 * gz[k]!);
      const e = next.map((x) => Math.exp(x));
      const p = e.map((x) => x / (e[0]! + e[1]!));
      return -p.reduce((a, q) => a + q * Math.log(q), 0);
    };
    expect(entropyAfterStep('fkl-only')).toBeGreaterThan(entropyAfterStep('rkl-only') + 0.01);
  });
});
