import type { Graph, Node, OpRegistry, Value } from '@tessera/core';
import { GraphBuilder, Rng, Tensor, defineTarget, elementCount, standardOps, type AnalyticTarget, type NodeCompute } from '@tessera/core';
import { COMMON_DNN_OPS, MAC_OPS, computeByNode, missingCostRules } from './common.js';
import { elementwiseOpPj } from './asic45nm.js';
import { operandFormat, tryParseFormatId } from './formats.js';

/** Variation noise of analog compute: multiplicative N(0, sigma^2) and additive N(0, (additiveSigma * range)^2). */
export interface AnalogNoise {
  /** Relative (multiplicative) standard deviation: x -> x * (1 + sigma * e). */
  sigma: number;
  /** Additive standard deviation relative to the tensor's range (max - min); default 0. */
  additiveSigma?: number;
  seed: number;
}

/**
 * Applies the noise model to a tensor's values (float in, float32 out):
 * y = x * (1 + sigma * e1) + additiveSigma * (max(x) - min(x)) * e2, with e1, e2 ~ N(0, 1) from `rng`.
 */
export function perturbTensor(t: Tensor, noise: Omit<AnalogNoise, 'seed'>, rng: Rng): Tensor {
  const x = t.toFloat64();
  let lo = Infinity, hi = -Infinity;
  for (const v of x) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const add = (noise.additiveSigma ?? 0) * (x.length ? hi - lo : 0);
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const m = x[i]! * (1 + noise.sigma * rng.normal());
    out[i] = add > 0 ? m + add * rng.normal() : m;
  }
  return new Tensor('float32', [...t.shape], out);
}

/**
 * Programming and drift variation of crossbar weights ("chip" mode): returns a copy of the graph
 * whose MVM weights (input 1 of Conv / ConvTranspose / MatMul / Gemm when it is an initializer) carry
 * one seeded draw of the noise. The input graph is not touched. A weight shared by several MVMs is
 * drawn once, as one array programmed once.
 */
export function applyAnalogWeightNoise(graph: Graph, noise: AnalogNoise): Graph {
  const g = graph.clone();
  const rng = new Rng(noise.seed);
  const done = new Set<Value>();
  for (const n of g.nodes) {
    const w = n.inputs[1];
    if (!MAC_OPS.has(n.op) || !w?.initializer || done.has(w)) continue;
    if (!/float/.test(w.initializer.dtype)) throw new Error(`applyAnalogWeightNoise: node "${n.name}" (${n.opId}) weight %${w.name} is ${w.initializer.dtype}; analog weights must be floating point`);
    done.add(w);
    const p = perturbTensor(w.initializer, noise, rng);
    g.setInitializer(w.name, w.initializer.dtype === 'float32' ? p : p.cast(w.initializer.dtype));
  }
  return g;
}

export interface ActivationNoise extends AnalogNoise {
  /**
   * 'temporal': a fresh draw per inference (RandomNormalLike nodes, seeded per node);
   * 'chip': one draw per simulated chip, stored as constant gains (per output element, shared
   * across the batch) — evaluate over many seeds to simulate many chips. Default 'temporal'.
   */
  mode?: 'temporal' | 'chip';
}

/**
 * Activation noise on every analog MVM output (Conv / ConvTranspose / MatMul / Gemm), written into
 * a copy of the graph with standard ops so any backend runs it:
 * y' = y * (1 + sigma * e1) [+ additiveSigma * (ReduceMax(y) - ReduceMin(y)) * e2], e ~ N(0, 1).
 * Graph output names are kept. Temporal mode needs RandomNormalLike in the registry (standard ONNX).
 */
export function insertAnalogActivationNoise(graph: Graph, noise: ActivationNoise, registry: OpRegistry = standardOps()): Graph {
  const mode = noise.mode ?? 'temporal';
  if (mode === 'temporal' && !registry.has('RandomNormalLike')) {
    throw new Error("insertAnalogActivationNoise: temporal mode needs op RandomNormalLike, which this op registry lacks; pass a registry that has it or use mode: 'chip'");
  }
  const g = graph.clone();
  const rng = new Rng(noise.seed);
  const b = new GraphBuilder(g, registry);
  for (const n of g.nodes) {
    if (!MAC_OPS.has(n.op)) continue;
    const y = n.outputs[0]!;
    const users = [...y.uses];
    const wasOutput = y.isGraphOutput;
    b.insertionPoint = g.nodes[g.nodes.indexOf(n) + 1];
    const dtype = y.type?.dtype ?? 'float32';
    const draw = (scale: number, tag: string): Value => {
      if (mode === 'temporal') return b.op('RandomNormalLike', [y], { seed: Math.floor(rng.uniform() * 2 ** 31), mean: 0, scale }, { name: `${n.name}_${tag}` });
      const shape = (y.type?.shape ?? []).map((d, i) => (i === 0 ? 1 : d));
      if (!y.type?.shape || shape.some((d) => typeof d !== 'number')) {
        throw new Error(`insertAnalogActivationNoise: node "${n.name}" (${n.opId}) output %${y.name} needs a static shape past the batch dim for chip noise (has ${JSON.stringify(y.type?.shape)})`);
      }
      const size = (shape as number[]).reduce((a, d) => a * d, 1);
      const e = Tensor.from(Array.from({ length: size }, () => scale * rng.normal()), shape as number[], dtype);
      return b.constant(e, dtype, `${n.name}_${tag}`);
    };
    const one = b.constant(Tensor.scalar(1, dtype), dtype, `${n.name}_one`);
    let out = b.op('Mul', [y, b.op('Add', [one, draw(noise.sigma, 'noise_mul')])]);
    if ((noise.additiveSigma ?? 0) > 0) {
      const range = b.op('Sub', [b.op('ReduceMax', [y], { keepdims: 0 }), b.op('ReduceMin', [y], { keepdims: 0 })]);
      out = b.op('Add', [out, b.op('Mul', [draw(noise.additiveSigma!, 'noise_add'), range])]);
    }
    for (const u of users) u.node.setInput(u.index, out);
    if (wasOutput) {
      const name = y.name;
      g.renameValue(y, g.uniqueName(`${name}_clean`));
      for (let i = 0; i < g.outputs.length; i++) if (g.outputs[i] === y) g.outputs[i] = out;
      g.renameValue(out, name);
    }
  }
  return g;
}

/**
 * Analog in-memory-compute energy parameters, all [R] estimates (order of magnitude of published
 * crossbar macros, not a specific chip): a MAC in the array, one ADC conversion per output per
 * tile of `arrayRows` inputs (partial sums digitised then added digitally), one DAC drive per input
 * row per tile of `arrayCols` outputs.
 */
export const ANALOG_DEFAULTS = {
  macPj: 0.005,
  adcPj: 2,
  dacPj: 0.1,
  arrayRows: 256,
  arrayCols: 256,
};

export interface AnalogImcOptions extends Partial<typeof ANALOG_DEFAULTS> {
  registry?: OpRegistry;
}

/**
 * Analog IMC target: MVMs (Conv, MatMul, Gemm) run in crossbars, everything else on a digital unit
 * costed with the asic45nm per-op figures. Energy only; accuracy under variation is simulated with
 * applyAnalogWeightNoise / insertAnalogActivationNoise.
 */
export function analogImc(opts: AnalogImcOptions = {}): AnalyticTarget {
  const p = { ...ANALOG_DEFAULTS, ...opts };
  const registry = opts.registry ?? standardOps();
  return defineTarget<Map<string, NodeCompute>>({
    registry,
    id: 'analog-imc',
    description: `Analog in-memory compute: ${p.macPj} pJ/MAC in ${p.arrayRows}x${p.arrayCols} crossbars, ADC ${p.adcPj} pJ, DAC ${p.dacPj} pJ (estimates)`,
    supportedOps: (n) => COMMON_DNN_OPS.has(n.opId),
    supportedFormats: (id) => {
      const f = tryParseFormatId(id);
      return !!f && f.kind !== 'posit' && id !== 'float64' && f.bits <= 32;
    },
    units: { energy: 'pJ', arrayEnergy: 'pJ', conversionEnergy: 'pJ', digitalEnergy: 'pJ', macs: 'MAC' },
    assumptions: [
      `[R] estimates: ${p.macPj} pJ per analog MAC, ${p.adcPj} pJ per ADC conversion, ${p.dacPj} pJ per DAC drive; ${p.arrayRows}x${p.arrayCols} arrays`,
      'ADC conversions = outputs x ceil(K / rows); DAC drives = MACs / min(outputs per input, cols); digital ops: one 45 nm add each (Horowitz 2014)',
      'memory traffic of the digital unit not modelled (weights stay in the arrays)',
    ],
    extraChecks: (g) => missingCostRules(g, registry, 'analog-imc'),
    prepare: (g) => computeByNode(g, registry),
    nodeCost: (n: Node, compute) => {
      const c = compute.get(n.name)!;
      if (MAC_OPS.has(n.op) && c.macs > 0) {
        const outputs = elementCount(n.outputs[0]!);
        const k = c.macs / outputs;
        const conversions = outputs * Math.ceil(k / p.arrayRows);
        const drives = c.macs / Math.min(outputs, p.arrayCols);
        const arrayEnergy = c.macs * p.macPj;
        const conversionEnergy = conversions * p.adcPj + drives * p.dacPj;
        return { metrics: { energy: arrayEnergy + conversionEnergy, arrayEnergy, conversionEnergy, digitalEnergy: 0, macs: c.macs } };
      }
      const f = operandFormat(n.outputs[0]) ?? operandFormat(n.inputs[0]);
      const digitalEnergy = c.flops > 0 && f ? c.flops * elementwiseOpPj(f).value : 0;
      return { metrics: { energy: digitalEnergy, arrayEnergy: 0, conversionEnergy: 0, digitalEnergy, macs: c.macs } };
    },
  });
}
