import type { Graph } from '../graph.js';
import type { OpRegistry } from '../registry.js';
import { standardOps } from '../ops/index.js';
import { verifyGraph } from '../verifier.js';
import { PassError, type Pass, type PassContext, type PassPhase, type PassResult } from './pass.js';

export interface PassRecord {
  pass: string;
  iteration: number;
  changed: boolean;
  /** Wall time of run() (checks excluded), milliseconds. */
  ms: number;
  log: string[];
}

export interface GraphDump {
  /** 0-based position of this pass run in the whole sequence (across iterations). */
  step: number;
  pass: string;
  iteration: number;
  when: 'before' | 'after';
  graph: Graph;
  text: string;
}

export interface PassManagerOptions {
  /** Op registry handed to passes (default: the standard op set). */
  registry?: OpRegistry;
  /** Repeat the whole sequence until no pass reports a change (default false: run once). */
  fixedPoint?: boolean;
  /** Upper bound on repetitions in fixed-point mode (default 10). */
  maxIterations?: number;
  /** Run verifyGraph after every pass and fail naming the pass when it reports an error (default false). */
  verify?: boolean;
  /** Dump the graph before and after every pass: to a folder (one text file each) and/or a callback. */
  dump?: { dir?: string; onDump?: (d: GraphDump) => void; format?: (g: Graph) => string };
  /** Called after every pass run, for timing or progress. */
  onPass?: (r: PassRecord) => void;
}

export interface PassManagerResult {
  graph: Graph;
  changed: boolean;
  iterations: number;
  /** False when fixed-point mode stopped at maxIterations while passes still changed the graph. */
  converged: boolean;
  records: PassRecord[];
}

type MaybePass = Pass | false | null | undefined;

/**
 * Runs a sequence of passes: precondition, pass, contract check (in-place passes return the graph
 * they got), postcondition, optional verifier; optionally repeats to a fixed point. Falsy entries are
 * skipped so that `cond && pass` works in a list.
 */
export class PassManager {
  readonly passes: Pass[];

  constructor(passes: readonly MaybePass[], readonly options: PassManagerOptions = {}) {
    this.passes = passes.filter((p): p is Pass => !!p);
  }

  run(input: Graph): PassManagerResult {
    const o = this.options;
    const registry = o.registry ?? standardOps();
    const maxIterations = o.fixedPoint ? (o.maxIterations ?? 10) : 1;
    const records: PassRecord[] = [];
    const history: string[] = [];
    let graph = input;
    let anyChange = false;
    let iteration = 0;
    let converged = !o.fixedPoint;
    let step = 0;
    for (; iteration < maxIterations; iteration++) {
      let changedThisRound = false;
      for (const pass of this.passes) {
        const label = o.fixedPoint ? `${pass.name}#${iteration}` : pass.name;
        const log: string[] = [];
        const ctx: PassContext = { registry, iteration, log: (m) => log.push(m) };
        const fail = (phase: PassPhase, reason: string, cause?: unknown): never => {
          throw new PassError(label, phase, reason, [...history], cause);
        };
        const guard = <T>(phase: PassPhase, f: () => T): T => {
          try {
            return f();
          } catch (e) {
            if (e instanceof PassError) throw e;
            return fail(phase, e instanceof Error ? e.message : String(e), e);
          }
        };
        const pre = guard('requires', () => pass.requires?.(graph, ctx));
        if (typeof pre === 'string') fail('requires', pre);
        this.dump(step, pass.name, iteration, 'before', graph);
        const t0 = performance.now();
        const result: PassResult = guard('run', () => pass.run(graph, ctx));
        const ms = performance.now() - t0;
        if (pass.inPlace && result.graph !== graph) fail('contract', 'declared inPlace but returned a different graph');
        if (!pass.inPlace && result.changed && result.graph === graph) fail('contract', 'declared not inPlace but changed and returned its input graph');
        graph = result.graph;
        const post = guard('ensures', () => pass.ensures?.(graph, ctx));
        if (typeof post === 'string') fail('ensures', post);
        if (o.verify) {
          const err = verifyGraph(graph, registry).find((d) => d.severity === 'error');
          if (err) fail('verify', err.message);
        }
        this.dump(step, pass.name, iteration, 'after', graph);
        const record: PassRecord = { pass: pass.name, iteration, changed: result.changed, ms, log };
        records.push(record);
        o.onPass?.(record);
        history.push(label);
        step++;
        changedThisRound ||= result.changed;
      }
      anyChange ||= changedThisRound;
      if (!changedThisRound) {
        converged = true;
        iteration++;
        break;
      }
    }
    return { graph, changed: anyChange, iterations: iteration, converged, records };
  }

  /** This manager as a single pass (to nest a fixed-point group inside a longer sequence). */
  asPass(name: string): Pass {
    const inPlace = this.passes.every((p) => p.inPlace);
    return {
      name,
      inPlace,
      run: (graph, ctx) => {
        const r = new PassManager(this.passes, { ...this.options, registry: ctx.registry }).run(graph);
        return { graph: r.graph, changed: r.changed };
      },
    };
  }

  private dump(step: number, pass: string, iteration: number, when: 'before' | 'after', graph: Graph): void {
    const d = this.options.dump;
    if (!d) return;
    const text = (d.format ?? ((g: Graph) => g.toString()))(graph);
    d.onDump?.({ step, pass, iteration, when, graph, text });
    if (d.dir) {
      const fs = nodeFs();
      fs.mkdirSync(d.dir, { recursive: true });
      const file = `${d.dir}/${String(step).padStart(3, '0')}-${pass}-${when}.txt`;
      fs.writeFileSync(file, text + '\n');
    }
  }
}

function nodeFs(): typeof import('node:fs') {
  const get = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule;
  if (!get) throw new Error('PassManager dump.dir needs Node.js >= 20.16 (process.getBuiltinModule); use dump.onDump elsewhere');
  return get('node:fs') as typeof import('node:fs');
}
