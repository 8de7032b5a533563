import {
  Tensor, applyRewriteRules, defineRewriteRule, standardOps, type Graph, type GraphBuilder, type Match, type OpRegistry, type RewriteRule,
  type RewriteTracer, type Value,
} from '@tessera/core';
import { lowerPeanoOps } from './lower.js';
import { ApproxGelu, ApproxLayerNorm, ApproxSoftmax, PEANO_DOMAIN, peanoRegistry } from './ops.js';
import { parsePeanoOptions, type GeluOptions, type LayerNormOptions, type PeanoOptions, type PeanoOptionsInput, type SoftmaxOptions } from './options.js';

/** A scalar constant bound to `name` that is within `tol` of `want`, or the reason it is not. */
function scalarNear(m: Match, name: string, want: number, tol = 1e-6): true | string {
  const t = m.constant(name);
  if (!t) return `%${m.vars[name]!.name} is not a constant (want ${want})`;
  if (t.size !== 1 || t.dtype === 'string') return `%${m.vars[name]!.name} has ${t.size} elements, want the scalar ${want}`;
  const v = Number(t.getFlat(0));
  return Math.abs(v - want) <= tol * Math.max(1, Math.abs(want)) ? true : `%${m.vars[name]!.name} is ${v}, want ${want}`;
}

function lastDim(v: Value): number | undefined {
  const s = v.type?.shape;
  const d = s?.[s.length - 1];
  return typeof d === 'number' ? d : undefined;
}

/** axes (attribute or constant input) reduce exactly the last axis of a tensor of rank `rank`, keeping dims. */
function reducesLastAxis(m: Match, nodeName: string, rank: number | undefined, axesVar?: string): true | string {
  const n = m.node(nodeName);
  const axes = axesVar ? m.constant(axesVar)?.toNumbers() : n.attrs.has('axes') ? n.ints('axes') : undefined;
  if (!axes) return `node "${n.name}" (${n.op}) has no constant axes`;
  if (n.int('keepdims', 1) !== 1) return `node "${n.name}" (${n.op}) drops the reduced axis`;
  const ok = axes.length === 1 && (axes[0] === -1 || (rank !== undefined && axes[0] === rank - 1));
  return ok ? true : `node "${n.name}" (${n.op}) reduces axes [${axes.join(', ')}], want the last axis only`;
}

function lnAttrs(o: LayerNormOptions, epsilon: number) {
  return { epsilon, tableBits: o.tableBits, pow2Only: o.pow2Only ? 1 : 0, minExponent: o.minExponent, maxExponent: o.maxExponent };
}

function approxLn(b: GraphBuilder, m: Match, o: LayerNormOptions, x: Value, gamma: Value, beta: Value | null, epsilon: number): Value {
  const d = lastDim(x)!;
  const shift = beta ?? b.constant(Tensor.zeros('float32', [d]), 'float32', `${m.root.name}.bias`);
  return b.op(ApproxLayerNorm, [x, gamma, shift], lnAttrs(o, epsilon), { domain: PEANO_DOMAIN, name: m.root.name });
}

function affineOk(m: Match, x: Value, names: string[]): true | string {
  const d = lastDim(x);
  if (d === undefined) return `input %${x.name} has no known last dimension`;
  for (const n of names) {
    const s = m.vars[n]!.type?.shape;
    if (!s || s.length !== 1 || s[0] !== d) return `%${m.vars[n]!.name} has shape [${s?.join(', ') ?? '?'}], want [${d}] (per-feature affine)`;
  }
  return true;
}

/** Rules that swap exact LayerNorm forms for ApproxLayerNorm. */
export function layerNormRules(o: LayerNormOptions): RewriteRule[] {
  const onnx = (withBias: boolean) => defineRewriteRule({
    name: withBias ? 'peano-layer-normalization' : 'peano-layer-normalization-no-bias',
    vars: withBias ? ['x', 'gamma', 'beta'] : ['x', 'gamma'],
    pattern: (b, v) => b.op('LayerNormalization', withBias ? [v.x!, v.gamma!, v.beta!] : [v.x!, v.gamma!], {}, { name: 'ln' }),
    check: (m) => {
      const n = m.node('ln');
      const rank = m.vars.x!.type?.shape?.length;
      const axis = n.int('axis', -1);
      if (!(axis === -1 || (rank !== undefined && axis === rank - 1))) return `node "${n.name}" normalises from axis ${axis}, want the last axis only`;
      return affineOk(m, m.vars.x!, withBias ? ['gamma', 'beta'] : ['gamma']);
    },
    rewrite: (b, m) => approxLn(b, m, o, m.vars.x!, m.vars.gamma!, withBias ? m.vars.beta! : null, m.node('ln').float('epsilon', 1e-5)),
  });
  // The form PyTorch exports (and onnx LayerNormalization's function body): ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div, Mul, Add.
  const decomposed = (square: 'Pow' | 'Mul', axesInput: boolean) => defineRewriteRule({
    name: `peano-layer-norm-decomposed-${square.toLowerCase()}${axesInput ? '-axes-input' : ''}`,
    vars: ['x', 'eps', 'gamma', 'beta', ...(square === 'Pow' ? ['two'] : []), ...(axesInput ? ['axes1', 'axes2'] : [])],
    commute: true,
    pattern: (b, v) => {
      const mean = b.op('ReduceMean', axesInput ? [v.x!, v.axes1!] : [v.x!], {}, { name: 'mean' });
      const d = b.op('Sub', [v.x!, mean]);
      const sq = square === 'Pow' ? b.op('Pow', [d, v.two!]) : b.op('Mul', [d, d]);
      const variance = b.op('ReduceMean', axesInput ? [sq, v.axes2!] : [sq], {}, { name: 'var' });
      const std = b.op('Sqrt', [b.op('Add', [variance, v.eps!])]);
      return b.op('Add', [b.op('Mul', [b.op('Div', [d, std]), v.gamma!]), v.beta!]);
    },
    check: (m): true | string => {
      const rank = m.vars.x!.type?.shape?.length;
      const checks: (true | string)[] = [
        square === 'Pow' ? scalarNear(m, 'two', 2, 0) : true,
        reducesLastAxis(m, 'mean', rank, axesInput ? 'axes1' : undefined),
        reducesLastAxis(m, 'var', rank, axesInput ? 'axes2' : undefined),
        m.constant('eps')?.size === 1 ? true : `%${m.vars.eps!.name} is not a scalar constant epsilon`,
        affineOk(m, m.vars.x!, ['gamma', 'beta']),
      ];
      for (const c of checks) if (c !== true) return c;
      return true;
    },
    rewrite: (b, m) => approxLn(b, m, o, m.vars.x!, m.vars.gamma!, m.vars.beta!, Number(m.constant('eps')!.getFlat(0))),
  });
  return [onnx(true), onnx(false), decomposed('Pow', false), decomposed('Pow', true), decomposed('Mul', false), decomposed('Mul', true)];
}

/** The rule that swaps Softmax (opset 13+ semantics: one axis) for ApproxSoftmax. */
export function softmaxRules(o: SoftmaxOptions): RewriteRule[] {
  return [defineRewriteRule({
    name: 'peano-softmax',
    vars: ['x'],
    pattern: (b, v) => b.op('Softmax', [v.x!], {}, { name: 'softmax' }),
    check: (m) => {
      const opset = m.root.graph.opsets.find((s) => s.domain === '')?.version ?? 17;
      const rank = m.vars.x!.type?.shape?.length;
      const axis = m.node('softmax').int('axis', opset >= 13 ? -1 : 1);
      if (opset < 13 && !(axis === -1 || (rank !== undefined && axis === rank - 1))) return `opset ${opset} Softmax flattens from axis ${axis}; only the last axis is supported there`;
      return true;
    },
    rewrite: (b, m) => b.op(ApproxSoftmax, [m.vars.x!], {
      axis: m.node('softmax').int('axis', -1), bias: o.bias, cutoff: o.cutoff, reciprocalBits: o.reciprocalBits, sumMaxExponent: o.sumMaxExponent,
    }, { domain: PEANO_DOMAIN, name: m.root.name }),
  })];
}

/** Rules that swap GELU forms for ApproxGelu: 0.5·x·(1 + erf(x/√2)) as exported by PyTorch and as our models build it, and Gelu (opset 20). */
export function geluRules(o: GeluOptions): RewriteRule[] {
  const attrs = { range: o.range, segments: o.segments, slopes: o.slopes };
  const approx = (b: GraphBuilder, m: Match) => b.op(ApproxGelu, [m.vars.x!], attrs, { domain: PEANO_DOMAIN, name: m.root.name });
  const erfForm = (scale: 'Div' | 'Mul', halfFirst: boolean) => defineRewriteRule({
    name: `peano-gelu-erf-${scale.toLowerCase()}${halfFirst ? '-half-first' : ''}`,
    vars: ['x', 'k', 'one', 'half'],
    commute: true,
    pattern: (b, v) => {
      const onePlus = b.op('Add', [b.op('Erf', [b.op(scale, [v.x!, v.k!])]), v.one!]);
      return halfFirst
        ? b.op('Mul', [b.op('Mul', [v.x!, v.half!]), onePlus])
        : b.op('Mul', [b.op('Mul', [v.x!, onePlus]), v.half!]);
    },
    check: (m) => {
      for (const c of [scalarNear(m, 'k', scale === 'Div' ? Math.SQRT2 : Math.SQRT1_2), scalarNear(m, 'one', 1, 0), scalarNear(m, 'half', 0.5, 0)]) if (c !== true) return c;
      return true;
    },
    rewrite: approx,
  });
  const op = defineRewriteRule({ name: 'peano-gelu-op', vars: ['x'], pattern: (b, v) => b.op('Gelu', [v.x!]), rewrite: approx });
  return [erfForm('Div', false), erfForm('Div', true), erfForm('Mul', false), erfForm('Mul', true), op];
}

export interface PeanoReport {
  layerNorm: number;
  softmax: number;
  gelu: number;
  /** tessera.peano nodes expanded to standard ops (0 when options.lower is false). */
  lowered: number;
}

export interface PeanoEnv {
  /** Registry with the standard ops (default standardOps()); the tessera.peano ops are added on a child. */
  registry?: OpRegistry;
  /** Records, for every rule and candidate node, whether it fired and why not. */
  tracer?: RewriteTracer;
}

/** The rules the options enable, LayerNorm first (its decomposed form contains Div and Sqrt that no other rule touches). */
export function peanoRules(o: PeanoOptions): RewriteRule[] {
  return [...(o.layerNorm.enabled ? layerNormRules(o.layerNorm) : []), ...(o.softmax.enabled ? softmaxRules(o.softmax) : []), ...(o.gelu.enabled ? geluRules(o.gelu) : [])];
}

/** Swaps the approximations into `graph` in place (and lowers them when options.lower); returns what it did. */
export function peanoSwapInPlace(graph: Graph, options: PeanoOptionsInput = {}, env: PeanoEnv = {}): PeanoReport {
  const o = parsePeanoOptions(options);
  const registry = peanoRegistry(env.registry ?? standardOps());
  applyRewriteRules(graph, peanoRules(o), { registry, tracer: env.tracer });
  const count = (op: string) => graph.nodes.filter((n) => n.domain === PEANO_DOMAIN && n.op === op).length;
  const report: PeanoReport = { layerNorm: count(ApproxLayerNorm), softmax: count(ApproxSoftmax), gelu: count(ApproxGelu), lowered: 0 };
  if (o.lower) report.lowered = lowerPeanoOps(graph, registry);
  return report;
}

/**
 * PEANO-ViT as a function on graphs: a copy of `graph` with every exact LayerNorm, Softmax and
 * GELU (ONNX ops or their decomposed forms) replaced by the approximations, lowered to standard
 * ops unless `options.lower === false` (then tessera.peano ops that run on `peanoRegistry`).
 */
export function peanoApproximate(graph: Graph, options: PeanoOptionsInput = {}, env: PeanoEnv = {}): Graph {
  const g = graph.clone();
  peanoSwapInPlace(g, options, env);
  return g;
}
