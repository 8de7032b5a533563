/**
 * The joint graph of online distillation: teacher and student as ONE Tessera graph reading one
 * input, with every name prefixed ('teacher.', 'student.'), so one training graph (forward of
 * both, both losses, one backward, one update) covers both parameter sets.
 */
import { Graph, GraphBuilder, standardOps, type OpRegistry, type Value } from '@tessera/core';

export const TEACHER_PREFIX = 'teacher.';
export const STUDENT_PREFIX = 'student.';

export interface JointGraph {
  graph: Graph;
  /** The shared data input's name. */
  input: string;
  studentLogits: string;
  teacherLogits: string;
  /** Output 0 of the joint graph: [N, 2, C] = stack(student, teacher) logits (what a training step fetches). */
  pairLogits: string;
}

function sameShape(a: Value, b: Value): boolean {
  const sa = a.shape ?? [];
  const sb = b.shape ?? [];
  return a.dtype === b.dtype && sa.length === sb.length && sa.every((d, i) => i === 0 || d === sb[i]);
}

const fmt = (v: Value) => `${v.dtype}[${(v.shape ?? []).map((d) => d ?? '?').join(', ')}]`;

/** Copies `src` into `dst` with prefixed names; the first input of `src` becomes `input`. Returns the copy of src's first output. */
function appendPrefixed(dst: Graph, src: Graph, prefix: string, input: Value): Value {
  const map = new Map<Value, Value>();
  map.set(src.inputs[0]!, input);
  for (const v of src.initializers.values()) {
    const c = dst.addInitializer(prefix + v.name, v.initializer!);
    c.type = v.type && { dtype: v.type.dtype, shape: v.type.shape && [...v.type.shape] };
    c.format = v.format;
    for (const [k, m] of v.meta) c.meta.set(k, m);
    map.set(v, c);
  }
  for (const n of src.nodes) {
    for (const [k, a] of n.attrs) {
      if (a.kind === 'graph' || a.kind === 'graphs') throw new Error(`bdkd: node ${n.describe()} of graph "${src.name}" has a subgraph attribute '${k}'; the joint graph supports graphs without control flow`);
    }
    const c = dst.addNode({
      op: n.op, domain: n.domain, name: prefix + n.name, attrs: Object.fromEntries(n.attrs),
      outputs: n.outputs.map((o) => (o.name === '' ? '' : prefix + o.name)), docString: n.docString,
    });
    n.inputs.forEach((v, i) => {
      if (!v) { c.setInput(i, null); return; }
      const m = map.get(v);
      if (!m) throw new Error(`bdkd: value '${v.name}' of graph "${src.name}" is used by ${n.describe()} before it is defined (or is an extra input); the joint graph needs networks with one data input`);
      c.setInput(i, m);
    });
    for (const [k, m] of n.meta) c.meta.set(k, m);
    n.outputs.forEach((o, i) => {
      const co = c.outputs[i]!;
      co.type = o.type && { dtype: o.type.dtype, shape: o.type.shape && [...o.type.shape] };
      co.format = o.format;
      for (const [k, m] of o.meta) co.meta.set(k, m);
      map.set(o, co);
    });
  }
  return map.get(src.outputs[0]!)!;
}

const STAT_NAMES = ['layer', 'mean', 'variance', 'runningMean', 'runningVar'] as const;

/** A graph's `meta.batchNormStats` (@tessera/models 'batch-stats' layers) with every value name prefixed. */
function prefixedStats(g: Graph, prefix: string): Record<string, unknown>[] {
  const stats = g.meta.get('batchNormStats') as Record<string, unknown>[] | undefined;
  return (stats ?? []).map((s) => {
    const out: Record<string, unknown> = { ...s };
    for (const k of STAT_NAMES) if (typeof s[k] === 'string') out[k] = prefix + (s[k] as string);
    return out;
  });
}

/**
 * Merges teacher and student into one graph: both read the student's data input; outputs are
 * [pair [N, 2, C], student logits [N, C], teacher logits [N, C]]. Both networks must read the
 * same input (shape and dtype) and give logits of the same shape.
 */
export function jointGraph(teacher: Graph, student: Graph, registry: OpRegistry = standardOps()): JointGraph {
  for (const [role, g] of [['teacher', teacher], ['student', student]] as const) {
    if (g.inputs.length !== 1) throw new Error(`bdkd: the ${role} graph "${g.name}" has ${g.inputs.length} inputs (${g.inputs.map((v) => v.name).join(', ')}); it must have exactly one data input`);
    if (g.outputs.length < 1) throw new Error(`bdkd: the ${role} graph "${g.name}" has no outputs; its first output must be the logits [N, C]`);
    if ((g.outputs[0]!.shape ?? []).length !== 2) throw new Error(`bdkd: the ${role} graph "${g.name}" output '${g.outputs[0]!.name}' is ${fmt(g.outputs[0]!)}; logits must be [N, C]`);
  }
  const [ti, si] = [teacher.inputs[0]!, student.inputs[0]!];
  if (!sameShape(ti, si)) throw new Error(`bdkd: teacher input '${ti.name}' is ${fmt(ti)} but student input '${si.name}' is ${fmt(si)}; both networks must read the same input`);
  const [to, so] = [teacher.outputs[0]!, student.outputs[0]!];
  if (to.shape![1] !== so.shape![1]) throw new Error(`bdkd: teacher logits '${to.name}' are ${fmt(to)} but student logits '${so.name}' are ${fmt(so)}; both must have the same classes`);
  const tv = teacher.opsets.find((o) => o.domain === '')?.version;
  const sv = student.opsets.find((o) => o.domain === '')?.version;
  if (tv !== sv) throw new Error(`bdkd: teacher graph "${teacher.name}" uses ONNX opset ${tv} and student graph "${student.name}" opset ${sv}; build both for the same opset`);

  const g = new Graph(`bdkd(${teacher.name}, ${student.name})`);
  g.opsets = student.opsets.map((o) => ({ ...o }));
  for (const o of teacher.opsets) if (!g.opsets.some((p) => p.domain === o.domain)) g.opsets.push({ ...o });
  const x = g.addInput(si.name, { dtype: si.dtype!, shape: [...(si.shape ?? [])] });
  const zs = appendPrefixed(g, student, STUDENT_PREFIX, x);
  const zt = appendPrefixed(g, teacher, TEACHER_PREFIX, x);
  // Batch-statistics BatchNorm layers: the trainer updates their running statistics by these names.
  const stats = [...prefixedStats(student, STUDENT_PREFIX), ...prefixedStats(teacher, TEACHER_PREFIX)];
  if (stats.length) g.meta.set('batchNormStats', stats);
  // Output 0 stacks both logits to [N, 2, C]: the one forward output a training step fetches, so
  // the step's own predictions of both networks reach the per-sample diagnostics.
  const b = new GraphBuilder(g, registry);
  const pair = b.concat([b.unsqueeze(zs, [1], { name: 'bdkd.student_pair' }), b.unsqueeze(zt, [1], { name: 'bdkd.teacher_pair' })], 1, { name: 'bdkd.pair_logits' });
  g.addOutput(pair);
  g.addOutput(zs);
  g.addOutput(zt);
  return { graph: g, input: x.name, studentLogits: zs.name, teacherLogits: zt.name, pairLogits: pair.name };
}
