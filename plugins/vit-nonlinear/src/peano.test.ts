import { GraphBuilder, RewriteTracer, Rng, Tensor, interpret, standardOps, type Graph } from '@tessera/core';
import { takeRows } from '@tessera/data';
import { buildViT } from '@tessera/models';
import { checkPluginApi } from '@tessera/pipeline';
import { createExecutor } from '@tessera/runtime';
import { describe, expect, it } from 'vitest';
import plugin, {
  FORBIDDEN_OPS, PEANO_DOMAIN, efficiencyGains, fashionSubsets, fpgaCostTable, geluGaussianError, geluPwl, geluSweep, geluTables, layerNormRow,
  layerNormSweep, lnInvStd, lowerPeanoOps, msrReciprocal, padeExp, padeSweep, parsePeanoOptions, peanoApproximate, peanoRegistry, reciprocalSweep,
  softmaxRow, softmaxSweep,
} from './index.js';

const registry = standardOps();
const peanoReg = peanoRegistry(registry);

/** A float32 tensor of N(0, std²) values, seeded. */
function randn(shape: number[], std = 1, seed = 0): Tensor {
  const rng = new Rng(seed);
  return Tensor.from(Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => std * rng.normal()), shape);
}

function maxDiff(a: Tensor, b: Tensor): number {
  const x = a.toFloat64(), y = b.toFloat64();
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]! - y[i]!));
  return m;
}

/** Strips comments, then looks for transcendental calls and the division operator. */
function forbiddenInSource(fn: (...a: never[]) => unknown): string[] {
  const src = fn.toString().replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
  return [/Math\.(exp|sqrt|pow|log\w*|tanh|cbrt|hypot)/, /[^/*]\/[^/*]/, /\*\*/].filter((r) => r.test(src)).map(String);
}

describe('kernels: dense error sweeps match the spec [C] numbers', () => {
  // The spec rounds its [C] figures to 2–3 significant digits; a dense grid approaches each supremum
  // from below within the grid step (relative 2e-4 for the LN sweep), so ±0.6 of the last printed digit.
  it('LayerNorm 1/√v over 1e-6..1e4 (1e5 points): max relative error per table size', () => {
    const want: [number, number, number][] = [[0, 0.184, 0.0006], [2, 0.057, 0.0006], [3, 0.030, 0.0006], [4, 0.015, 0.0006], [6, 0.0039, 0.00006]];
    for (const [t, c, tol] of want) {
      const s = layerNormSweep({ tableBits: t });
      expect(s.points).toBeGreaterThanOrEqual(1e5);
      expect(s.nan).toBe(0);
      expect(Math.abs(s.maxRel - c)).toBeLessThan(tol);
    }
    expect(Math.abs(layerNormSweep({ tableBits: 4, pow2Only: true }).maxRel - 0.189)).toBeLessThan(0.0006);
  });

  it('multi-scale reciprocal and Padé exponential', () => {
    for (const [t, c] of [[3, 0.059], [4, 0.030], [6, 0.0078]] as const) expect(Math.abs(reciprocalSweep({ bits: t }).maxRel - c)).toBeLessThan(0.0006);
    expect(Math.abs(padeSweep(-1, 1).maxRel - 0.0015)).toBeLessThan(0.00006);
    expect(Math.abs(padeSweep(-1, 2).maxRel - 0.053)).toBeLessThan(0.0006);
    expect(Math.abs(padeSweep(-2, 2).maxRel - 0.056)).toBeLessThan(0.0006);
    const at2 = padeSweep(-3, 2);
    expect(at2.argMaxAbs).toBe(2);
    expect(Math.abs(at2.maxAbs - 0.39)).toBeLessThan(0.006);
    expect(Math.abs(at2.maxRel - 0.54)).toBeLessThan(0.006);
  });

  it('GELU over [-10, 10] with 4e5 points and on N(0, 1.5²); shift-add slopes', () => {
    for (const [S, c, tol] of [[4, 0.118, 0.0006], [8, 0.038, 0.0006], [16, 0.0094, 0.00006], [32, 0.0040, 0.00006]] as const) {
      const s = geluSweep({ segments: S });
      expect(s.points).toBe(400_000);
      expect(Math.abs(s.maxAbs - c)).toBeLessThan(tol);
    }
    for (const [S, c, tol] of [[4, 0.030, 0.0006], [8, 0.0070, 0.00006], [16, 0.0016, 0.00006]] as const) expect(Math.abs(geluGaussianError(S) - c)).toBeLessThan(tol);
    expect(Math.abs(geluSweep({ segments: 8, slopes: 'shiftAdd' }).maxAbs - 0.040)).toBeLessThan(0.0006);
  });

  it('the least-squares PWL fit reproduces the spec table for a = 3, S = 8', () => {
    const tb = geluTables({ range: 3, segments: 8, slopes: 'float' });
    const slopes = [-0.02742, -0.10054, -0.12330, 0.20337, 0.79663, 1.12330, 1.10054, 1.02742];
    const intercepts = [-0.08445, -0.24896, -0.28310, -0.03810, -0.03810, -0.28310, -0.24896, -0.08445];
    slopes.forEach((s, i) => expect(Math.abs(tb.slopes[i]! - s)).toBeLessThan(2e-5));
    intercepts.forEach((s, i) => expect(Math.abs(tb.intercepts[i]! - s)).toBeLessThan(2e-5));
    for (let i = 0; i < 8; i++) expect(tb.slopes[i]! + tb.slopes[7 - i]!).toBeCloseTo(1, 6);
  });

  it('softmax on 1e4 rows per setting (lengths 17/50/197, std 1/2/4, masked −∞ entries): spec ranges, argmax kept, no NaN', () => {
    for (const std of [1, 2, 4]) {
      const s = softmaxSweep({ rows: 10_000, length: 50, std, seed: std });
      // [C]: max abs probability error 0.02–0.06 on 50-entry rows of std 1/2/4; argmax always preserved.
      expect(s.maxAbs).toBeGreaterThan(0.015);
      expect(s.maxAbs).toBeLessThan(0.065);
      expect(s.argmaxPreserved).toBe(1);
      expect(s.nan).toBe(0);
    }
    for (const length of [17, 197]) {
      const s = softmaxSweep({ rows: 10_000, length, std: 2, maskFraction: 0.3, seed: length });
      expect(s.nan).toBe(0);
      expect(s.fullyMaskedZero).toBe(s.fullyMasked);
      expect(s.fullyMasked).toBe(100);
      expect(s.argmaxPreserved).toBe(1);
    }
  });

  it('masked entries get exactly 0; zero-variance tokens give β, not NaN', () => {
    const out = new Float64Array(4);
    const row = [0.5, -Infinity, 1.5, -Infinity];
    const b = new GraphBuilder(undefined, peanoReg);
    const x = b.input('x', 'float32', [2, 4]);
    b.output(b.op('ApproxSoftmax', [x], {}, { domain: PEANO_DOMAIN }), 'y');
    const y = interpret(b.graph, { x: Tensor.from([...row, -Infinity, -Infinity, -Infinity, -Infinity], [2, 4]) }, { registry: peanoReg }).y!.toFloat64();
    expect([y[1], y[3], ...y.slice(4)]).toEqual([0, 0, 0, 0, 0, 0]);
    expect(y[0]! + y[2]!).toBeGreaterThan(0.97);
    const tbl = { T: new Float64Array([1, 1]), t: 0, pow2Only: false, kmin: -64, kmax: 63 };
    layerNormRow([3, 3, 3, 3], out, [1, 1, 1, 1], [0.25, 0, 0, -1], 0, 0.25, tbl);
    expect([...out]).toEqual([0.25, 0, 0, -1]);
  });

  it('kernel sources call no exp/sqrt/pow/log/tanh and do not divide', () => {
    for (const fn of [lnInvStd, msrReciprocal, padeExp, geluPwl, softmaxRow, layerNormRow]) expect(forbiddenInSource(fn as never), fn.name).toEqual([]);
  });
});

function lnGraph(form: 'onnx' | 'torch'): Graph {
  const b = new GraphBuilder(undefined, registry);
  const x = b.input('x', 'float32', [2, 3, 16]);
  const g = b.constant(randn([16], 0.5, 3));
  const bt = b.constant(randn([16], 0.5, 4));
  if (form === 'onnx') {
    b.output(b.op('LayerNormalization', [x, g, bt], { axis: -1, epsilon: 1e-5 }), 'y');
  } else {
    // torch.onnx export (opset < 17) of nn.LayerNorm.
    const d = b.op('Sub', [x, b.op('ReduceMean', [x], { axes: [-1] })]);
    const v = b.op('ReduceMean', [b.op('Pow', [d, b.constant(2)])], { axes: [-1] });
    const n = b.op('Div', [d, b.op('Sqrt', [b.op('Add', [v, b.constant(1e-5)])])]);
    b.output(b.op('Add', [b.op('Mul', [n, g]), bt]), 'y');
  }
  return b.graph;
}

function geluGraph(form: 'models' | 'torch'): Graph {
  const b = new GraphBuilder(undefined, registry);
  const x = b.input('x', 'float32', [4, 32]);
  const erf = b.op('Erf', [b.op('Div', [x, b.constant(Math.SQRT2)])]);
  if (form === 'models') {
    b.output(b.op('Mul', [b.op('Mul', [x, b.op('Add', [erf, b.constant(1)])]), b.constant(0.5)]), 'y');
  } else {
    // torch: x * 0.5 * (1.0 + erf(x / sqrt(2))) exports Mul(Mul(x, 0.5), Add(1, Erf(Div(x, 1.4142135))))
    b.output(b.op('Mul', [b.op('Mul', [x, b.constant(0.5)]), b.op('Add', [b.constant(1), erf])]), 'y');
  }
  return b.graph;
}

describe('rewrite pass and lowerings', () => {
  const cases: [string, Graph, Tensor, number][] = [
    ['LayerNormalization', lnGraph('onnx'), randn([2, 3, 16], 3, 1), 0.05],
    ['decomposed LayerNorm (PyTorch export)', lnGraph('torch'), randn([2, 3, 16], 3, 1), 0.05],
    ['GELU erf form (models)', geluGraph('models'), randn([4, 32], 2, 2), 0.04],
    ['GELU erf form (PyTorch export)', geluGraph('torch'), randn([4, 32], 2, 2), 0.04],
  ];
  for (const [name, g, x, tol] of cases) {
    it(`${name}: matched by pattern, lowered without forbidden ops, numbers agree`, () => {
      const exact = interpret(g, { x }).y!;
      const tracer = new RewriteTracer();
      const custom = peanoApproximate(g, { lower: false }, { tracer });
      expect(custom.nodes.filter((n) => n.domain === PEANO_DOMAIN)).toHaveLength(1);
      expect(custom.nodes).toHaveLength(1);
      const ref = interpret(custom, { x }, { registry: peanoReg }).y!;
      const lowered = peanoApproximate(g);
      expect(lowered.nodes.map((n) => n.op).filter((op) => (FORBIDDEN_OPS as readonly string[]).includes(op))).toEqual([]);
      const low = interpret(lowered, { x }).y!;
      expect(maxDiff(ref, low)).toBeLessThan(1e-5);
      const err = maxDiff(exact, ref);
      expect(err).toBeGreaterThan(0);
      expect(err).toBeLessThan(tol);
    });
  }

  it('the tracer says why a rule did not fire (LayerNorm over two axes is left alone)', () => {
    const b = new GraphBuilder(undefined, registry);
    const x = b.input('x', 'float32', [2, 4, 8]);
    b.output(b.op('LayerNormalization', [x, b.constant(Tensor.from(new Array(32).fill(1), [4, 8])), b.constant(Tensor.zeros('float32', [4, 8]))], { axis: 1 }), 'y');
    const tracer = new RewriteTracer();
    const out = peanoApproximate(b.graph, {}, { tracer });
    expect(out.nodes.map((n) => n.op)).toEqual(['LayerNormalization']);
    expect(tracer.why('peano-layer-normalization')[0]!.reason).toContain('normalises from axis 1');
  });

  it('ViT: every LayerNorm, Softmax and GELU is swapped; kernels and lowering agree; all [R] constants are options', () => {
    const g = buildViT({ depth: 2 }, { seed: 0 });
    const custom = peanoApproximate(g, { lower: false });
    const count = (op: string) => custom.nodes.filter((n) => n.op === op).length;
    expect([count('ApproxLayerNorm'), count('ApproxSoftmax'), count('ApproxGelu')]).toEqual([5, 2, 2]);
    expect(custom.nodes.some((n) => ['Erf', 'Sqrt', 'Div', 'Softmax', 'LayerNormalization'].includes(n.op))).toBe(false);
    const lowered = peanoApproximate(g);
    expect(lowered.nodes.filter((n) => (FORBIDDEN_OPS as readonly string[]).includes(n.op) || n.domain !== '')).toEqual([]);
    const x = randn([3, 1, 28, 28], 1, 7);
    // The kernels work in float64, the lowered graph in float32: where rounding moves a value across a
    // table boundary the index differs by one, changing r by up to 2^-t (1.5 % at t = 4); through the
    // network that is a few hundredths on the logits, far below the approximation's own effect.
    expect(maxDiff(interpret(custom, { x }, { registry: peanoReg }).logits!, interpret(lowered, { x }).logits!)).toBeLessThan(0.05);
    expect(parsePeanoOptions({})).toEqual({
      layerNorm: { enabled: true, tableBits: 4, pow2Only: false, minExponent: -64, maxExponent: 63 },
      softmax: { enabled: true, bias: 2, cutoff: -3, reciprocalBits: 6, sumMaxExponent: 30 },
      gelu: { enabled: true, range: 3, segments: 8, slopes: 'float' },
      lower: true,
    });
    expect(() => parsePeanoOptions({ gelu: { segments: 0 } })).toThrow(/^peano-approximate options\.gelu\.segments: /);
    // Disabled blocks stay exact.
    const onlyGelu = peanoApproximate(g, { layerNorm: { enabled: false }, softmax: { enabled: false }, lower: false });
    expect(onlyGelu.nodes.filter((n) => n.op === 'LayerNormalization')).toHaveLength(5);
  });

  it('coarser options give larger kernel errors (a fake that ignores its options would not)', () => {
    const g = lnGraph('onnx');
    const x = randn([2, 3, 16], 3, 1);
    const exact = interpret(g, { x }).y!;
    const errs = [{ tableBits: 6 }, { tableBits: 2 }, { pow2Only: true }].map((ln) => maxDiff(exact, interpret(peanoApproximate(g, { layerNorm: ln }), { x }).y!));
    expect(errs[0]!).toBeLessThan(errs[1]!);
    expect(errs[1]!).toBeLessThan(errs[2]!);
    const s = peanoApproximate(geluGraph('models'), { gelu: { segments: 2 } });
    const gx = randn([4, 32], 2, 2);
    expect(maxDiff(interpret(geluGraph('models'), { x: gx }).y!, interpret(s, { x: gx }).y!)).toBeGreaterThan(0.1);
  });
});

describe('export, runtimes and cost', () => {
  it('the rewritten ViT runs in onnxruntime-web with the reference interpreter\'s predictions (32 Fashion-MNIST test images)', async () => {
    const { test } = fashionSubsets(10, 32, 0);
    const g = buildViT({}, { seed: 1 });
    const x = takeRows(test.x, Array.from({ length: 32 }, (_, i) => i));
    const custom = peanoApproximate(g, { lower: false });
    const ref = interpret(custom, { x }, { registry: peanoReg }).logits!;
    const lowered = custom.clone();
    lowerPeanoOps(lowered, peanoReg);
    const web = createExecutor('ort-web', { registry });
    try {
      const out = (await web.run(lowered, { x })).logits!;
      // float64 kernels vs float32 lowering: table-boundary flips only (see the ViT test above).
      expect(maxDiff(ref, out)).toBeLessThan(0.05);
      const argmax = (t: Tensor) => Array.from({ length: 32 }, (_, i) => { const r = Array.from(t.toFloat64().slice(i * 10, i * 10 + 10)); return r.indexOf(Math.max(...r)); });
      const labels = Array.from(test.y.toFloat64().slice(0, 32));
      const acc = (p: number[]) => p.filter((v, i) => v === labels[i]).length;
      expect(argmax(out)).toEqual(argmax(ref));
      expect(acc(argmax(out))).toBe(acc(argmax(ref)));
    } finally {
      await web.dispose();
    }
  }, 60_000);

  it('FPGA table: approximate units drop dividers and exp/erf cores; estimated gains labelled next to the paper', () => {
    const rows = fpgaCostTable(peanoReg);
    for (const unit of ['layerNorm', 'softmax', 'gelu'] as const) {
      const e = rows.find((r) => r.unit === unit && r.variant === 'exact')!;
      const a = rows.find((r) => r.unit === unit && r.variant === 'approximate')!;
      expect(e.dividers + e.specialUnits).toBeGreaterThan(0);
      expect(a.dividers + a.specialUnits).toBe(0);
      expect(a.lut).toBeLessThan(e.lut);
      expect(a.ff).toBeLessThan(e.ff);
    }
    // By hand: exact GELU = Mul(x, 1/√2) + Erf core + Add + 2 Mul: 3 multipliers (3 DSP) + 4 DSP special = 7 DSP.
    expect(rows.find((r) => r.unit === 'gelu' && r.variant === 'exact')!.dsp).toBe(7);
    expect(rows.find((r) => r.unit === 'gelu' && r.variant === 'approximate')).toMatchObject({ multipliers: 1, comparators: 5, roms: 1, dsp: 1 });
    const gains = efficiencyGains(rows);
    expect(gains.map((g) => g.paper)).toEqual([1.91, 1.39, 8.01]);
    for (const g of gains) expect(g.estimatedPower).toBeGreaterThan(1);
  });

  it('the plugin loads against this core API and contributes the pass and the three ops', () => {
    expect(() => checkPluginApi(plugin)).not.toThrow();
    expect(plugin.passes.map((p) => p.name)).toEqual(['peano-approximate']);
    expect(plugin.ops.map((o) => `${o.domain}::${o.op}`)).toEqual(['tessera.peano::ApproxLayerNorm', 'tessera.peano::ApproxSoftmax', 'tessera.peano::ApproxGelu']);
    expect(plugin.passes[0]!.options.parse({})).toEqual(parsePeanoOptions({}));
  });
});
