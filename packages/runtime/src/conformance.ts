import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { standardOps, Tensor, type Graph, type OpRegistry } from '@tessera/core';
import { decodeModelProto, exportModel, importModel, tensorFromProto, TensorProtoType, type TensorProtoLike } from '@tessera/onnx';
import { tensorMismatch } from './compare.js';
import { createExecutor, loadOrtNode, loadOrtWeb } from './create-executor.js';
import { ortErrorMessage } from './errors.js';
import { fromOrtTensor, toOrtTensor, type OrtModule } from './tensor-convert.js';

export const ONNX_NODE_TESTS = '/usr/share/libonnx-testdata/data/node';
export const MISSING_TESTDATA = 'install libonnx-testdata (apt-get install libonnx-testdata)';
/** The ONNX backend-test tolerance. */
export const CONFORMANCE_TOLERANCE = { rtol: 1e-3, atol: 1e-7 };

/**
 * Ops whose outputs are random draws: the stored outputs come from numpy's generator, which no
 * backend reproduces, so cases with them compare dtype and shape only (and say so in the message).
 */
export const RANDOM_OPS: ReadonlySet<string> = new Set(['Bernoulli', 'RandomUniform', 'RandomUniformLike', 'RandomNormal', 'RandomNormalLike', 'Multinomial']);

const LIKE_SHAPE = "the test data feeds 'like' with shape [1] while the model declares [3, 4]; feeds are checked against declared shapes (onnxruntime rejects it too)";

/**
 * Cases whose failure is understood and accepted, each with its reason. Keep this tiny: every entry
 * hides a real gap. Reference-path entries apply to declared ops only.
 */
export const KNOWN_FAILURES: { reference: Record<string, string>; roundTrip: Record<string, string> } = {
  reference: {
    test_cast_FLOAT_to_BFLOAT16: 'onnx 1.12 made the expected bfloat16 bits by truncation; the reference rounds to nearest even, as onnxruntime and later onnx releases do',
    test_castlike_BFLOAT16_to_FLOAT: LIKE_SHAPE,
    test_castlike_BFLOAT16_to_FLOAT_expanded: LIKE_SHAPE,
    test_castlike_FLOAT_to_BFLOAT16: LIKE_SHAPE,
    test_castlike_FLOAT_to_BFLOAT16_expanded: LIKE_SHAPE,
    test_maxunpool_export_with_output_shape: "onnx 1.12's stored output is shifted by one column (fixed in later onnx releases); the reference matches onnxruntime-node",
    test_training_dropout: 'training-mode Dropout draws a random mask; the stored output comes from numpy\'s RNG (onnxruntime fails it too)',
    test_training_dropout_default: 'training-mode Dropout draws a random mask; the stored output comes from numpy\'s RNG (onnxruntime fails it too)',
    test_training_dropout_default_mask: 'training-mode Dropout draws a random mask; the stored output comes from numpy\'s RNG (onnxruntime fails it too)',
    test_training_dropout_mask: 'training-mode Dropout draws a random mask; the stored output comes from numpy\'s RNG (onnxruntime fails it too)',
  },
  roundTrip: {},
};

export type Status = 'pass' | 'fail' | 'error' | 'undeclared' | 'unsupported';

export interface PathResult {
  status: Status;
  /** One line: the mismatch or the error. */
  message?: string;
}

export interface CaseResult {
  name: string;
  /** The op the case tests (the single op of the model, or the one its name starts with). */
  op: string;
  /** All op types in the model, nested graphs included. */
  ops: string[];
  /** Ops of the model the registry does not declare. */
  undeclared: string[];
  reference: PathResult;
  ortOriginal: PathResult;
  ortRoundTrip: PathResult;
  /** import -> export -> onnxruntime-web (only when asked for: paths includes 'ortWebRoundTrip'). */
  ortWebRoundTrip?: PathResult;
  ms: number;
}

export interface OpSummary {
  cases: number;
  reference: Record<Status, number>;
  ortOriginal: Record<Status, number>;
  ortRoundTrip: Record<Status, number>;
  ortWebRoundTrip: Record<Status, number>;
}

export interface ConformanceReport {
  dir: string;
  tolerance: typeof CONFORMANCE_TOLERANCE;
  totals: OpSummary;
  perOp: Record<string, OpSummary>;
  cases: CaseResult[];
  /** Declared-op cases failing on the reference interpreter (not in KNOWN_FAILURES). */
  referenceFailures: CaseResult[];
  /** Cases onnxruntime-node passes on the original model but not after import -> export. */
  roundTripRegressions: CaseResult[];
  ms: number;
}

export interface ConformanceOptions {
  dir?: string;
  registry?: OpRegistry;
  /** Only run cases whose directory name matches. */
  filter?: RegExp;
  /** Paths to run (default all three). */
  paths?: ('reference' | 'ortOriginal' | 'ortRoundTrip' | 'ortWebRoundTrip')[];
  onCase?: (r: CaseResult) => void;
}

interface DecodedModel {
  inputs: string[];
  outputs: string[];
  /** Declared element type codes of the inputs and outputs (0 when not a tensor). */
  inputTypes: number[];
  outputTypes: number[];
  ops: string[];
  /** The model has sequence, optional or map values, which Tessera graphs do not hold. */
  nonTensor: boolean;
  /** The model draws random numbers (RANDOM_OPS). */
  random: boolean;
}

interface TypeLike { tensorType?: { elemType?: number }; sequenceType?: unknown; optionalType?: unknown; mapType?: unknown }
interface InfoLike { name: string; type?: TypeLike }
interface GraphLike { input: InfoLike[]; output: InfoLike[]; valueInfo: InfoLike[]; initializer: { name: string }[]; node: NodeLike[] }

function modelFacts(bytes: Uint8Array, source: string): DecodedModel {
  const m = decodeModelProto(bytes, source) as unknown as { graph: GraphLike };
  const inits = new Set(m.graph.initializer.map((t) => t.name));
  const ops = new Set<string>();
  collectOps(m.graph.node, ops);
  const inputs = m.graph.input.filter((v) => !inits.has(v.name));
  const code = (v: InfoLike) => v.type?.tensorType?.elemType ?? 0;
  return {
    inputs: inputs.map((v) => v.name),
    outputs: m.graph.output.map((v) => v.name),
    inputTypes: inputs.map(code),
    outputTypes: m.graph.output.map(code),
    ops: [...ops].sort(),
    nonTensor: hasNonTensor(m.graph),
    random: [...ops].some((op) => RANDOM_OPS.has(op)),
  };
}

interface NodeLike { opType: string; domain?: string; attribute: { g?: GraphLike; graphs?: GraphLike[] }[] }

function hasNonTensor(g: GraphLike): boolean {
  for (const v of [...g.input, ...g.output, ...g.valueInfo]) {
    if (v.type && (v.type.sequenceType || v.type.optionalType || v.type.mapType)) return true;
  }
  return g.node.some((n) => n.attribute.some((a) => (a.g && hasNonTensor(a.g)) || (a.graphs ?? []).some(hasNonTensor)));
}

const BFLOAT16 = 16;

/**
 * ONNX's test generator stores bfloat16 data as uint16 bit patterns (numpy has no bfloat16);
 * where the model declares bfloat16, read those bits as bfloat16.
 */
function asDeclared(t: Tensor, code: number | undefined): Tensor {
  return code === BFLOAT16 && t.dtype === 'uint16' ? new Tensor('bfloat16', t.shape, t.data) : t;
}

function collectOps(nodes: NodeLike[], out: Set<string>): void {
  for (const n of nodes) {
    out.add(n.domain && n.domain !== 'ai.onnx' ? `${n.domain}::${n.opType}` : n.opType);
    for (const a of n.attribute) {
      if (a.g) collectOps(a.g.node, out);
      for (const g of a.graphs ?? []) collectOps(g.node, out);
    }
  }
}

/** Abbreviations in ONNX test names, and function ops whose expanded tests hold only their body. */
const CASE_ALIASES: Record<string, string> = { mvn: 'MeanVarianceNormalization', nllloss: 'NegativeLogLikelihoodLoss', sce: 'SoftmaxCrossEntropyLoss' };
const FUNCTION_OPS = ['BlackmanWindow', 'HammingWindow', 'HannWindow', 'Bernoulli', 'SequenceMap', 'MeanVarianceNormalization', 'NegativeLogLikelihoodLoss', 'SoftmaxCrossEntropyLoss'];

/**
 * The op a case tests: its model's only op, else the longest known op name the case name starts
 * with (ignoring case and underscores: test_layer_normalization_2d_expanded -> LayerNormalization).
 */
function opOfCase(name: string, ops: string[], known: ReadonlySet<string>): string {
  if (ops.length === 1) return ops[0]!;
  let key = name.replace(/^test_/, '').replace(/_/g, '').toLowerCase();
  for (const [short, op] of Object.entries(CASE_ALIASES)) if (key.startsWith(short)) key = op.toLowerCase() + key.slice(short.length);
  let best = '';
  for (const op of new Set([...ops, ...known, ...FUNCTION_OPS])) {
    const o = op.replace(/^.*::/, '').toLowerCase();
    if (key.startsWith(o) && o.length > best.replace(/^.*::/, '').length) best = op;
  }
  return best || `(${name.replace(/^test_/, '').replace(/_expanded.*$/, '').split('_')[0]})`;
}

function readTensors(dir: string, prefix: 'input' | 'output'): Tensor[] {
  const files = readdirSync(dir).filter((f) => f.startsWith(`${prefix}_`) && f.endsWith('.pb'))
    .sort((a, b) => Number(a.slice(prefix.length + 1, -3)) - Number(b.slice(prefix.length + 1, -3)));
  return files.map((f) => tensorFromProto(TensorProtoType.decode(readFileSync(join(dir, f))) as unknown as TensorProtoLike, `${dir}/${f}`));
}

function compareAll(results: Record<string, Tensor>, names: string[], expected: Tensor[], random = false): PathResult {
  for (let i = 0; i < expected.length; i++) {
    const got = results[names[i]!];
    const want = expected[i]!;
    if (!got) return { status: 'fail', message: `output '${names[i]}' missing` };
    if (random) {
      if (got.dtype !== want.dtype || got.shape.join() !== want.shape.join()) {
        return { status: 'fail', message: `output '${names[i]}': ${got.dtype}[${got.shape.join(', ')}], expected ${want.dtype}[${want.shape.join(', ')}]` };
      }
      continue;
    }
    const mm = tensorMismatch(got, want, CONFORMANCE_TOLERANCE);
    if (mm) return { status: 'fail', message: `output '${names[i]}': ${mm}` };
  }
  return random ? { status: 'pass', message: 'random op: dtype and shape checked, values are draws' } : { status: 'pass' };
}

const oneLine = (e: unknown) => (e as Error).message.split('\n')[0]!.slice(0, 400);

async function runOrtBytes(ort: OrtModule, bytes: Uint8Array, graphForErrors: Graph | undefined, facts: DecodedModel, sets: DataSet[], backend = 'ort-node'): Promise<PathResult> {
  let session: Awaited<ReturnType<OrtModule['InferenceSession']['create']>>;
  const msg = (e: unknown) => (graphForErrors ? ortErrorMessage(backend, oneLine(e), graphForErrors) : `${backend}: ${oneLine(e)}`);
  try {
    session = await ort.InferenceSession.create(bytes, backend === 'ort-node'
      ? { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', logSeverityLevel: 3 }
      : { executionProviders: ['wasm'], logSeverityLevel: 3 });
  } catch (e) {
    return { status: 'error', message: msg(e) };
  }
  try {
    for (const set of sets) {
      const feeds: Record<string, ReturnType<typeof toOrtTensor>> = {};
      facts.inputs.forEach((n, i) => { if (set.inputs[i]) feeds[n] = toOrtTensor(ort, set.inputs[i]!, backend, n); });
      const out = await session.run(feeds);
      const res: Record<string, Tensor> = {};
      for (const n of facts.outputs) if (out[n]) res[n] = fromOrtTensor(out[n]! as never, backend, n);
      const r = compareAll(res, facts.outputs, set.outputs, facts.random);
      if (r.status !== 'pass') return r;
    }
    return { status: 'pass' };
  } catch (e) {
    return { status: 'error', message: msg(e) };
  } finally {
    await session.release();
  }
}

interface DataSet { inputs: Tensor[]; outputs: Tensor[] }

const emptyCounts = (): Record<Status, number> => ({ pass: 0, fail: 0, error: 0, undeclared: 0, unsupported: 0 });
const emptySummary = (): OpSummary => ({ cases: 0, reference: emptyCounts(), ortOriginal: emptyCounts(), ortRoundTrip: emptyCounts(), ortWebRoundTrip: emptyCounts() });

/** The ONNX node test cases present on this machine (directory names), or undefined when the package is missing. */
export function listCases(dir = ONNX_NODE_TESTS): string[] | undefined {
  if (!existsSync(dir)) return undefined;
  return readdirSync(dir).filter((d) => existsSync(join(dir, d, 'model.onnx'))).sort();
}

/**
 * Runs ONNX's backend node tests through (a) import -> reference interpreter, (b) the original
 * bytes on onnxruntime-node and (c) import -> export -> onnxruntime-node.
 */
export async function runConformance(opts: ConformanceOptions = {}): Promise<ConformanceReport> {
  const dir = opts.dir ?? ONNX_NODE_TESTS;
  const cases = listCases(dir);
  if (!cases) throw new Error(MISSING_TESTDATA);
  const registry = opts.registry ?? standardOps();
  const paths = new Set(opts.paths ?? ['reference', 'ortOriginal', 'ortRoundTrip']);
  const knownOps = new Set(registry.list().map((s) => (s.domain ? `${s.domain}::${s.op}` : s.op)));
  const reference = createExecutor('reference', { registry, maxSessions: 1 });
  const ort = await loadOrtNode();
  const ortWeb = paths.has('ortWebRoundTrip') ? await loadOrtWeb() : undefined;
  const t0 = performance.now();
  const results: CaseResult[] = [];
  for (const name of cases) {
    if (opts.filter && !opts.filter.test(name)) continue;
    const c0 = performance.now();
    const caseDir = join(dir, name);
    const source = `${name}/model.onnx`;
    const bytes = readFileSync(join(caseDir, 'model.onnx'));
    const skipped: PathResult = { status: 'unsupported', message: 'path not run' };
    let facts: DecodedModel;
    try {
      facts = modelFacts(bytes, source);
    } catch (e) {
      const r: PathResult = { status: 'error', message: oneLine(e) };
      results.push({ name, op: '(unreadable)', ops: [], undeclared: [], reference: r, ortOriginal: r, ortRoundTrip: r, ms: 0 });
      continue;
    }
    const undeclared = facts.ops.filter((op) => {
      const [domain, o] = op.includes('::') ? op.split('::') as [string, string] : ['', op];
      return !registry.has(o, domain);
    });
    const res: CaseResult = {
      name, op: opOfCase(name, facts.ops, knownOps), ops: facts.ops, undeclared,
      reference: skipped, ortOriginal: skipped, ortRoundTrip: skipped, ms: 0,
    };
    const nonTensor: PathResult = { status: 'unsupported', message: 'the model has sequence/optional values, which Tessera graphs do not hold' };
    let sets: DataSet[];
    try {
      sets = readdirSync(caseDir).filter((d) => d.startsWith('test_data_set_')).sort()
        .map((d) => ({
          inputs: readTensors(join(caseDir, d), 'input').map((t, i) => asDeclared(t, facts.inputTypes[i])),
          outputs: readTensors(join(caseDir, d), 'output').map((t, i) => asDeclared(t, facts.outputTypes[i])),
        }));
    } catch (e) {
      // Sequence / optional test data (SequenceProto, OptionalProto) is not a tensor.
      const r: PathResult = { status: 'unsupported', message: `test data: ${oneLine(e)}` };
      res.reference = undeclared.length ? { status: 'undeclared', message: `undeclared: ${undeclared.join(', ')}` } : facts.nonTensor ? nonTensor : r;
      res.ortOriginal = r;
      res.ortRoundTrip = r;
      res.ms = performance.now() - c0;
      results.push(res);
      opts.onCase?.(res);
      continue;
    }

    if (paths.has('reference')) {
      if (undeclared.length) res.reference = { status: 'undeclared', message: `undeclared: ${undeclared.join(', ')}` };
      else if (facts.nonTensor) res.reference = nonTensor;
      else {
        try {
          const g = importModel(bytes, { registry, source });
          const session = await reference.session(g);
          res.reference = { status: 'pass' };
          for (const set of sets) {
            const feeds: Record<string, Tensor> = {};
            facts.inputs.forEach((n, i) => { if (set.inputs[i]) feeds[n] = set.inputs[i]!; });
            const r = compareAll(await session.run(feeds, facts.outputs), facts.outputs, set.outputs, facts.random);
            if (r.status !== 'pass') { res.reference = r; break; }
          }
        } catch (e) {
          res.reference = { status: 'error', message: oneLine(e) };
        }
      }
    }
    if (paths.has('ortOriginal')) res.ortOriginal = await runOrtBytes(ort, bytes, undefined, facts, sets);
    if (paths.has('ortRoundTrip')) {
      let g: Graph | undefined;
      let exported: Uint8Array | undefined;
      try {
        g = importModel(bytes, { registry, unknownOps: 'keep', inferShapes: false, source });
        exported = exportModel(g);
      } catch (e) {
        res.ortRoundTrip = { status: /not supported/.test((e as Error).message) ? 'unsupported' : 'error', message: oneLine(e) };
      }
      if (exported) res.ortRoundTrip = await runOrtBytes(ort, exported, g, facts, sets);
    }
    if (ortWeb) {
      try {
        const g = importModel(bytes, { registry, unknownOps: 'keep', inferShapes: false, source });
        res.ortWebRoundTrip = await runOrtBytes(ortWeb, exportModel(g), g, facts, sets, 'ort-web');
      } catch (e) {
        res.ortWebRoundTrip = { status: /not supported/.test((e as Error).message) ? 'unsupported' : 'error', message: oneLine(e) };
      }
    }
    res.ms = performance.now() - c0;
    results.push(res);
    opts.onCase?.(res);
  }
  await reference.dispose();
  return summarize(dir, results, performance.now() - t0);
}

function summarize(dir: string, cases: CaseResult[], ms: number): ConformanceReport {
  const totals = emptySummary();
  const perOp: Record<string, OpSummary> = {};
  for (const c of cases) {
    const s = (perOp[c.op] ??= emptySummary());
    for (const t of [s, totals]) {
      t.cases++;
      t.reference[c.reference.status]++;
      t.ortOriginal[c.ortOriginal.status]++;
      t.ortRoundTrip[c.ortRoundTrip.status]++;
      if (c.ortWebRoundTrip) t.ortWebRoundTrip[c.ortWebRoundTrip.status]++;
    }
  }
  const referenceFailures = cases.filter((c) => (c.reference.status === 'fail' || c.reference.status === 'error')
    && !(c.name in KNOWN_FAILURES.reference));
  const roundTripRegressions = cases.filter((c) => c.ortOriginal.status === 'pass' && c.ortRoundTrip.status !== 'pass'
    && !(c.name in KNOWN_FAILURES.roundTrip));
  return { dir, tolerance: CONFORMANCE_TOLERANCE, totals, perOp, cases, referenceFailures, roundTripRegressions, ms };
}

/** A plain-text table: per op, passes per path, then totals. */
export function formatReport(r: ConformanceReport): string {
  const cell = (c: Record<Status, number>, n: number) => `${c.pass}/${n}`.padStart(9);
  const web = r.cases.some((c) => c.ortWebRoundTrip);
  const webCell = (s: OpSummary) => (web ? ` ${cell(s.ortWebRoundTrip, s.cases)}` : '');
  const lines = [`${'op'.padEnd(34)}${'cases'.padStart(6)}${'reference'.padStart(10)}${'undecl'.padStart(7)}${'ort-orig'.padStart(10)}${'ort-rt'.padStart(10)}${web ? 'web-rt'.padStart(10) : ''}`];
  for (const [op, s] of Object.entries(r.perOp).sort(([a], [b]) => a.localeCompare(b))) {
    lines.push(`${op.padEnd(34)}${String(s.cases).padStart(6)} ${cell(s.reference, s.cases)}${String(s.reference.undeclared).padStart(7)} ${cell(s.ortOriginal, s.cases)} ${cell(s.ortRoundTrip, s.cases)}${webCell(s)}`);
  }
  const t = r.totals;
  lines.push(`${'TOTAL'.padEnd(34)}${String(t.cases).padStart(6)} ${cell(t.reference, t.cases)}${String(t.reference.undeclared).padStart(7)} ${cell(t.ortOriginal, t.cases)} ${cell(t.ortRoundTrip, t.cases)}${webCell(t)}`);
  lines.push(`reference: ${t.reference.pass} pass, ${t.reference.fail} fail, ${t.reference.error} error, ${t.reference.undeclared} undeclared, ${t.reference.unsupported} unsupported`);
  lines.push(`ort-node original: ${t.ortOriginal.pass} pass; import->export->ort-node: ${t.ortRoundTrip.pass} pass; round-trip regressions: ${r.roundTripRegressions.length}`);
  if (web) lines.push(`import->export->ort-web: ${t.ortWebRoundTrip.pass} pass (${r.cases.filter((c) => c.ortRoundTrip.status === 'pass' && c.ortWebRoundTrip?.status !== 'pass').length} of the ort-node round-trip passes fail on ort-web)`);
  lines.push(`declared-op reference failures: ${r.referenceFailures.length}; ${(r.ms / 1000).toFixed(1)} s`);
  return lines.join('\n');
}
