import { describe, expect, it } from 'vitest';
import { Graph, GraphBuilder, Rng, Tensor, interpret, standardOps, type NumberFormatRef } from '@tessera/core';
import {
  MAC_UNIT_TABLE, analogImc, applyAnalogWeightNoise, asic45nm, cpuOrt, fpgaResources, gap8Like, insertAnalogActivationNoise,
  macEnergyPj, macUnitCost, parseFormatId, positFixedMac, quireBits,
} from './index.js';

const registry = standardOps();

/** x[1,4] -> MatMul W[4,3] (12 MACs) -> Add b[3] (3 ops) -> Relu (3 ops) -> y[1,3] */
function tiny(format?: NumberFormatRef) {
  const b = new GraphBuilder(new Graph('tiny'), registry);
  const x = b.input('x', 'float32', [1, 4]);
  const w = b.param('w', Tensor.from([0.5, -1, 2, 1, 0.25, -0.5, 1.5, 0, -2, 0.75, 1, -1.25], [4, 3]));
  const bias = b.param('b', Tensor.from([0.1, -0.2, 0.3], [3]));
  const h = b.op('Add', [b.op('MatMul', [x, w], {}, { name: 'fc' }), bias], {}, { name: 'bias' });
  const y = b.op('Relu', [h], {}, { name: 'act' });
  b.output(y, 'y');
  const g = b.graph;
  if (format) for (const v of g.allValues()) v.format = format;
  return g;
}

const byNode = (r: { perNode: { node: string; metrics: Record<string, number> }[] }, metric: string) => Object.fromEntries(r.perNode.map((e) => [e.node, e.metrics[metric]]));

describe('formats', () => {
  it('parses numerics ids and dtypes', () => {
    expect(parseFormatId('posit<8,2>')).toEqual({ id: 'posit<8,2>', kind: 'posit', bits: 8, es: 2 });
    expect(parseFormatId('fixed<4,2>')).toMatchObject({ kind: 'fixed', bits: 4 });
    expect(parseFormatId('int<1,sym>')).toMatchObject({ kind: 'binary', bits: 1 });
    expect(parseFormatId('bfloat16')).toMatchObject({ kind: 'float', bits: 16 });
    expect(() => parseFormatId('tf32')).toThrow("number format 'tf32' is not known to the cost models");
  });
});

describe('asic45nm', () => {
  it('float32 energy by hand (Horowitz 45 nm)', () => {
    const r = asic45nm({ registry }).cost(tiny());
    // compute: fc 12 x (3.7 + 0.9) = 55.2; bias 3 x 0.9 = 2.7; act 3 x 0.9 = 2.7
    expect(byNode(r, 'computeEnergy').fc).toBeCloseTo(55.2, 10);
    expect(byNode(r, 'computeEnergy').bias).toBeCloseTo(2.7, 10);
    // memory (64-bit words): fc weights 12 x 32 b = 6 words x 1300 pJ (DRAM) + activations (4+3) x 32 b = 3.5 words x 100 pJ (1 MB SRAM)
    expect(byNode(r, 'memoryEnergy').fc).toBeCloseTo(6 * 1300 + 3.5 * 100, 10);
    // bias: b 3 x 32 b = 1.5 words DRAM + (3+3) x 32 b = 3 words SRAM ; act: 3 words SRAM
    expect(byNode(r, 'memoryEnergy').bias).toBeCloseTo(1.5 * 1300 + 3 * 100, 10);
    expect(byNode(r, 'memoryEnergy').act).toBeCloseTo(300, 10);
    expect(r.total.energy).toBeCloseTo(60.6 + 7800 + 350 + 1950 + 300 + 300, 8);
    expect(r.total.macs).toBe(12);
    expect(r.units.energy).toBe('pJ');
    expect(r.estimated).toBe(true);
    expect(r.perNode.every((e) => e.estimated)).toBe(true);
  });

  it('int8 and binary MACs, derived figures noted', () => {
    expect(macEnergyPj(parseFormatId('int8'), parseFormatId('int8')).value).toBeCloseTo(0.3, 12); // 0.2 mult + 0.1 int32 acc
    const int4 = macEnergyPj(parseFormatId('int<4,sym>'), parseFormatId('int<4,sym>'));
    expect(int4.value).toBeCloseTo(0.2 * 16 / 64 + 0.1, 12);
    expect(int4.derived).toBe(true);
    expect(int4.notes[0]).toContain('scaled by bit product');
    expect(macEnergyPj(parseFormatId('binary'), parseFormatId('binary')).value).toBeCloseTo(0.00625, 12);
    const r = asic45nm({ registry, weightMemory: 'sram-8kb', activationMemory: 'sram-8kb' }).cost(tiny({ id: 'int<8,sym>', bits: 8 }));
    // fc: 12 x 0.3 = 3.6 pJ compute; weights 96 b = 1.5 words, activations 56 b = 0.875 words, 10 pJ each
    expect(byNode(r, 'computeEnergy').fc).toBeCloseTo(3.6, 10);
    expect(byNode(r, 'memoryEnergy').fc).toBeCloseTo((1.5 + 0.875) * 10, 10);
    // elementwise int8: 3 adds x 0.03 pJ
    expect(byNode(r, 'computeEnergy').act).toBeCloseTo(0.09, 10);
  });

  it('check lists unsupported ops and formats before anything runs', () => {
    const g = tiny();
    g.nodes[0]!.inputs[1]!.format = { id: 'posit<8,0>', bits: 8 };
    const b = new GraphBuilder(g, registry);
    b.output(b.op('Cos', [g.outputs[0]!], {}, { name: 'cos1' }));
    const t = asic45nm({ registry });
    expect(t.check(g).map((d) => d.message)).toEqual([
      'node "fc" (MatMul): input 1 %w has format posit<8,0>, not supported by target asic45nm (see the target\'s supported list)',
      'node "cos1" (Cos): op Cos is not supported by target asic45nm (see the target\'s supported list)',
    ]);
    expect(() => t.cost(g)).toThrow(/^target asic45nm: node "fc" \(MatMul\): input 1 %w has format posit<8,0>/);
  });
});

describe('gap8Like', () => {
  it('int8 latency by hand: max(compute, memory) + 20 us per layer', () => {
    const r = gap8Like({ registry }).cost(tiny({ id: 'int<8,sym>', bits: 8 }));
    const mac = 8 * 4 * 0.4 * 175e6; // MAC/s at int8
    const dma = 8 * 175e6; // B/s, weights fit in L2
    const fc = Math.max(12 / mac, 12 / dma + 7 / dma) + 20e-6;
    const bias = Math.max(3 / mac, 3 / dma + 6 / dma) + 20e-6;
    const act = Math.max(3 / mac, 6 / dma) + 20e-6;
    expect(byNode(r, 'latency').fc).toBeCloseTo(fc * 1e6, 9);
    expect(byNode(r, 'latency').bias).toBeCloseTo(bias * 1e6, 9);
    expect(byNode(r, 'latency').act).toBeCloseTo(act * 1e6, 9);
    expect(r.total.latency).toBeCloseTo((fc + bias + act) * 1e6, 9);
    expect(r.units.latency).toBe('us');
    expect(r.estimated).toBe(true);
  });

  it('float tensors are errors unless costed as int8 on request (and the report says so)', () => {
    expect(gap8Like({ registry }).check(tiny())[0]!.message).toBe(
      'node "fc" (MatMul): input 0 %x has format float32, not supported by target gap8-like (see the target\'s supported list)',
    );
    const r = gap8Like({ registry, assumeInt8ForFloat: true }).cost(tiny());
    expect(r.total.latency).toBeCloseTo(gap8Like({ registry }).cost(tiny({ id: 'int<8,sym>', bits: 8 })).total.latency!, 9);
    expect(r.assumptions.at(-1)).toContain('assumeInt8ForFloat');
  });

  it('accepts and prices the Resize upsampling of segmentation decoders', () => {
    const b = new GraphBuilder(new Graph('up'));
    const x = b.input('x', 'float32', [1, 4, 8, 8]);
    const scales = b.constant(Tensor.from([1, 1, 2, 2], [4], 'float32'), 'float32', 'scales');
    b.output(b.op('Resize', [x, null, scales], { mode: 'nearest' }, { name: 'up' }), 'y');
    const target = gap8Like({ registry, assumeInt8ForFloat: true });
    expect(target.check(b.graph).filter((d) => d.severity === 'error')).toEqual([]);
    expect(byNode(target.cost(b.graph), 'latency').up).toBeGreaterThan(20);
  });
});

describe('fpgaResources', () => {
  it('operator counts and derived DSP / LUT / FF / BRAM by hand', () => {
    const r = fpgaResources({ registry }).cost(tiny({ id: 'fixed<8,4>', bits: 8 }));
    // fc: min(16, 12) = 12 MAC units: 12 DSP (8x8 fits a DSP48E1), LUT 12 x 32 (accumulators), FF 12 x (16 + 32), 1 cycle
    expect(r.perNode[0]!.metrics).toEqual({ multipliers: 12, adders: 12, comparators: 0, specialUnits: 0, dividers: 0, shifters: 0, leadingOneDetectors: 0, roms: 0, dsp: 12, lut: 384, ff: 576, bram: 1, cycles: 1 });
    // bias: one 8-bit adder, 3 cycles; act: one 8-bit comparator, 3 cycles
    expect(r.perNode[1]!.metrics).toMatchObject({ adders: 1, lut: 8, ff: 8, bram: 1, cycles: 3 });
    expect(r.perNode[2]!.metrics).toMatchObject({ comparators: 1, lut: 8, ff: 8, bram: 0, cycles: 3 });
    expect(r.total).toMatchObject({ multipliers: 12, adders: 13, comparators: 1, dsp: 12, lut: 400, ff: 592, bram: 2, cycles: 7 });
    expect(r.units.dsp).toBe('DSP48');
    const lutMult = fpgaResources({ registry }).cost(tiny({ id: 'fixed<4,2>', bits: 4 }));
    expect(lutMult.perNode[0]!.metrics).toMatchObject({ dsp: 0, lut: 12 * (16 + 32) });
    expect(fpgaResources({ registry }).check(tiny())[0]!.code).toBe('unsupported-format');
  });

  it('prices operator counts that a plugin declares for its own ops', () => {
    const reg = registry.extend();
    reg.register({ op: 'Unit', domain: 'test.fpga', inputs: [{ name: 'X' }], outputs: [{ name: 'Y' }], infer: (c) => [c.inputs[0]], kernel: (c) => [c.inputs[0]!], cost: () => ({}) });
    const g = new Graph('unit');
    const x = g.addInput('x', { dtype: 'float32', shape: [1, 4] });
    const y = g.addNode({ op: 'Unit', domain: 'test.fpga', inputs: [x] }).output();
    y.type = { dtype: 'float32', shape: [1, 4] };
    g.addOutput(y);
    for (const v of [x, y]) v.format = { id: 'fixed<16,8>', bits: 16 };
    expect(fpgaResources({ registry: reg }).check(g)[0]!.code).toBe('unsupported-op');
    const t = fpgaResources({ registry: reg, operators: (n) => (n.op === 'Unit' ? { multipliers: 1, adders: 2, shifters: 1, leadingOneDetectors: 1, roms: 1 } : undefined) });
    // 1 DSP; LUT 2 x 16 (adders) + 64 + 20 + 16; FF 32 (multiplier) + 5 x 16; 4 elements, 1 lane
    expect(t.cost(g).perNode[0]!.metrics).toEqual({ multipliers: 1, adders: 2, comparators: 0, specialUnits: 0, dividers: 0, shifters: 1, leadingOneDetectors: 1, roms: 1, dsp: 1, lut: 132, ff: 112, bram: 0, cycles: 4 });
  });
});

describe('analogImc', () => {
  it('energy by hand: array MACs, ADC per output per tile, DAC drives, digital ops', () => {
    const r = analogImc({ registry }).cost(tiny());
    // fc: 12 x 0.005 + 3 outputs x ceil(4/256) x 2 pJ + 12/min(3,256) x 0.1 pJ
    expect(byNode(r, 'energy').fc).toBeCloseTo(0.06 + 6 + 0.4, 12);
    expect(byNode(r, 'energy').bias).toBeCloseTo(2.7, 12);
    expect(r.total.energy).toBeCloseTo(6.46 + 5.4, 12);
  });

  it('weight noise: seeded, relative spread sigma, input untouched', () => {
    const b = new GraphBuilder(new Graph(), registry);
    const x = b.input('x', 'float32', [1, 200]);
    const rng = new Rng(9);
    const w = b.param('w', Tensor.from(Array.from({ length: 200 * 50 }, () => 1 + rng.uniform()), [200, 50]));
    b.output(b.op('MatMul', [x, w]), 'y');
    const g = b.graph;
    const n1 = applyAnalogWeightNoise(g, { sigma: 0.1, seed: 1 });
    const n2 = applyAnalogWeightNoise(g, { sigma: 0.1, seed: 1 });
    const orig = w.initializer!.toFloat64();
    const noisy = n1.initializers.get('w')!.initializer!.toFloat64();
    expect([...n2.initializers.get('w')!.initializer!.toFloat64()]).toEqual([...noisy]);
    const rel = orig.map((v, i) => noisy[i]! / v - 1);
    const mean = rel.reduce((a, v) => a + v, 0) / rel.length;
    const sd = Math.sqrt(rel.reduce((a, v) => a + (v - mean) ** 2, 0) / rel.length);
    expect(Math.abs(mean)).toBeLessThan(0.005);
    expect(sd).toBeGreaterThan(0.095);
    expect(sd).toBeLessThan(0.105);
    expect(g.initializers.get('w')!.initializer).toBe(w.initializer);
  });

  function mvm() {
    const b = new GraphBuilder(new Graph(), registry);
    const x = b.input('x', 'float32', ['N', 1]);
    const w = b.param('w', Tensor.from(Array.from({ length: 4000 }, () => 1), [1, 4000]));
    b.output(b.op('MatMul', [x, w], {}, { name: 'mvm' }), 'y');
    return b.graph;
  }
  const relSd = (y: Float64Array, clean: number) => {
    const rel = y.map((v) => v / clean - 1);
    return Math.sqrt(rel.reduce((a, v) => a + v * v, 0) / rel.length);
  };

  it('chip activation noise: constant gains after each MVM, shared over the batch, output names kept', () => {
    const noisy = insertAnalogActivationNoise(mvm(), { sigma: 0.2, seed: 3, mode: 'chip' }, registry);
    expect(noisy.nodes.map((n) => n.op)).toEqual(['MatMul', 'Add', 'Mul']);
    expect(noisy.outputs.map((o) => o.name)).toEqual(['y']);
    const y = interpret(noisy, { x: Tensor.from([2, 2], [2, 1]) }, { registry }).y!.toFloat64();
    expect([...y.slice(0, 4000)]).toEqual([...y.slice(4000)]);
    const sd = relSd(y.slice(0, 4000), 2);
    expect(sd).toBeGreaterThan(0.18);
    expect(sd).toBeLessThan(0.22);
    const again = interpret(insertAnalogActivationNoise(mvm(), { sigma: 0.2, seed: 3, mode: 'chip' }, registry), { x: Tensor.from([2], [1, 1]) }, { registry }).y!;
    expect([...again.toFloat64()]).toEqual([...y.slice(0, 4000)]);
  });

  it('temporal activation noise uses RandomNormalLike and says so when the registry lacks it', () => {
    if (registry.has('RandomNormalLike')) {
      const noisy = insertAnalogActivationNoise(mvm(), { sigma: 0.2, seed: 3 }, registry);
      expect(noisy.nodes.map((n) => n.op)).toEqual(['MatMul', 'RandomNormalLike', 'Add', 'Mul']);
      const sd = relSd(interpret(noisy, { x: Tensor.from([2], [1, 1]) }, { registry }).y!.toFloat64(), 2);
      expect(sd).toBeGreaterThan(0.18);
      expect(sd).toBeLessThan(0.22);
    } else {
      expect(() => insertAnalogActivationNoise(mvm(), { sigma: 0.2, seed: 3 }, registry)).toThrow(
        "insertAnalogActivationNoise: temporal mode needs op RandomNormalLike, which this op registry lacks; pass a registry that has it or use mode: 'chip'",
      );
    }
  });
});

describe('posit / fixed MAC units', () => {
  it('unit energies by hand from the stated model', () => {
    const fixed = macUnitCost({ weight: 'fixed<4,2>', activation: 'fixed<4,2>', accumulator: 16 });
    // mult 0.2 x 16/64 = 0.05, no decoders, no alignment, 16-bit add 0.05
    expect(fixed.energyPj).toBeCloseTo(0.1, 12);
    expect(fixed.areaUm2).toBeCloseTo(282 * 16 / 64 + 67, 12);
    const mixed = macUnitCost({ weight: 'posit<4,0>', activation: 'fixed<4,2>', accumulator: 16 });
    // posit<4,0> significand 2 bits: mult 0.2 x 8/64 = 0.025; decoder (2 + log2 4) x add4 (0.015) = 0.06;
    // alignment log2(16) x add16 = 0.2; accumulator 0.05
    expect(mixed.breakdown.multiplier).toBeCloseTo(0.025, 12);
    expect(mixed.breakdown.decoders).toBeCloseTo(0.06, 12);
    expect(mixed.breakdown.alignment).toBeCloseTo(0.2, 12);
    expect(mixed.energyPj).toBeCloseTo(0.335, 12);
    const posit = macUnitCost({ weight: 'posit<4,0>', activation: 'posit<4,0>' });
    expect(posit.accumulatorBits).toBe(quireBits(4, 0));
    expect(quireBits(8, 0)).toBe(32);
    expect(quireBits(16, 1)).toBe(128);
    expect(quireBits(32, 2)).toBe(512);
    // quire 12 bits: mult 0.2 x 4/64, decoders 2 x 0.06, alignment 4 x add12 (0.04), accumulator 0.04
    expect(posit.energyPj).toBeCloseTo(0.0125 + 0.12 + 0.16 + 0.04, 12);
    expect(MAC_UNIT_TABLE.map((u) => `${u.weight}x${u.activation}`).slice(0, 3)).toEqual(['fixed<4,2>xfixed<4,2>', 'posit<4,0>xfixed<4,2>', 'posit<4,0>xposit<4,0>']);
    expect(MAC_UNIT_TABLE.every((u) => u.estimated)).toBe(true);
    expect(() => macUnitCost({ weight: 'fixed<4,2>', activation: 'fixed<4,2>', accumulator: 'quire' })).toThrow('a quire accumulator needs posit x posit');
  });

  it('target: MACs x unit energy, area counted once per unit', () => {
    const g = tiny({ id: 'fixed<4,2>', bits: 4 });
    g.nodes[0]!.inputs[1]!.format = { id: 'posit<4,0>', bits: 4 };
    const r = positFixedMac({ registry, accumulator: 16 }).cost(g);
    const unit = macUnitCost({ weight: 'posit<4,0>', activation: 'fixed<4,2>', accumulator: 16 });
    expect(byNode(r, 'energy').fc).toBeCloseTo(12 * unit.energyPj, 12);
    expect(byNode(r, 'energy').act).toBeCloseTo(3 * 0.05, 12);
    expect(r.total.areaUm2).toBeCloseTo(unit.areaUm2, 12);
    expect(positFixedMac({ registry }).check(tiny())[0]!.code).toBe('unsupported-format');
  });
});

describe('cpuOrt', () => {
  it('measures latency on onnxruntime-node: median of N runs, not estimated', async () => {
    const r = await cpuOrt({ runs: 5, warmup: 1 }).cost(tiny());
    expect(r.estimated).toBe(false);
    expect(r.perNode).toEqual([]);
    expect(r.total.runs).toBe(5);
    expect(r.total.latency).toBeGreaterThan(0);
    expect(r.total.min).toBeLessThanOrEqual(r.total.latency!);
    expect(r.total.max).toBeGreaterThanOrEqual(r.total.latency!);
    expect(r.units.latency).toBe('ms');
  });

  it('check rejects custom formats and domains before running', async () => {
    const g = tiny();
    g.nodes[0]!.inputs[1]!.format = { id: 'posit<8,2>', bits: 8 };
    const t = cpuOrt();
    expect(t.check(g).map((d) => d.message)).toEqual([
      'node "fc" (MatMul): input 1 %w has format posit<8,2>, not supported by target cpu-ort (supported: float16, float32, float64, int16, int32, int8, uint16, uint32, uint8)',
    ]);
    await expect(t.cost(g)).rejects.toThrow(/^target cpu-ort: node "fc" \(MatMul\)/);
  });
});

describe('every analytic target on a small CNN', () => {
  function cnn() {
    const b = new GraphBuilder(new Graph('cnn'), registry);
    const x = b.input('x', 'float32', ['N', 1, 4, 4]);
    const w = b.param('w', Tensor.from(Array.from({ length: 18 }, (_, i) => (i % 5) - 2), [2, 1, 3, 3]));
    const c = b.op('Conv', [x, w], { kernel_shape: [3, 3] }, { name: 'conv' });
    const p = b.op('MaxPool', [b.op('Relu', [c])], { kernel_shape: [2, 2] }, { name: 'pool' });
    const f = b.op('Flatten', [p], { axis: 1 });
    b.output(b.op('Gemm', [f, b.param('fcw', Tensor.zeros('float32', [2, 3]))], {}, { name: 'fc' }), 'y');
    return b.graph;
  }

  it('Conv MACs by hand on asic45nm; all targets cost it once formats fit', () => {
    const g = cnn();
    const r = asic45nm({ registry }).cost(g, { bindings: { N: 1 } });
    // conv: output [1,2,2,2] = 8 elements x 9 MACs = 72 MACs at fp32 (3.7 + 0.9 pJ)
    expect(byNode(r, 'macs').conv).toBe(72);
    expect(byNode(r, 'computeEnergy').conv).toBeCloseTo(72 * 4.6, 10);
    expect(byNode(r, 'macs').fc).toBe(6);
    expect(r.total.energy).toBeCloseTo(r.perNode.reduce((a, e) => a + e.metrics.energy!, 0), 9);
    expect(analogImc({ registry }).cost(g, { bindings: { N: 1 } }).total.macs).toBe(78);
    for (const v of g.allValues()) if (v.type?.dtype === 'float32') v.format = { id: 'fixed<8,4>', bits: 8 };
    for (const t of [gap8Like({ registry }), fpgaResources({ registry }), positFixedMac({ registry })]) {
      expect(t.check(g)).toEqual([]);
      const c = t.cost(g, { bindings: { N: 1 } });
      expect(c.perNode.map((e) => e.node)).toEqual(g.nodes.map((n) => n.name));
    }
    expect(() => asic45nm({ registry }).cost(g)).toThrow(/shape \[N, 1, 4, 4\]; cost needs concrete shapes: pass bindings such as \{ N: 1 \}/);
  });
});
