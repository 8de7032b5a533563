/**
 * The offsite split of PEMA. The PLM owner keeps the transformer; it hands out only the output
 * head (final norm + LM head) and a representation service. The data owner builds its external
 * memory from those representations and its own target tokens, and from then on works only with
 * `ExternalMemory` and `OutputHead` values, which hold no transformer weight.
 */
import { Tensor, type Graph } from '@tessera/core';
import { generate } from '@tessera/models';
import { createExecutor, type Executor, type Session } from '@tessera/runtime';

/** The PLM's frozen output head, as the PLM owner shares it: final LayerNorm and LM head. */
export class OutputHead {
  readonly #kind = 'pema-output-head';
  /** d: hidden size; V: vocabulary. `lmHead` is [d, V] (row-vector convention: logits = N(h)·W). */
  constructor(
    readonly d: number,
    readonly vocab: number,
    readonly normWeight: Float32Array,
    readonly normBias: Float32Array,
    readonly normEpsilon: number,
    readonly lmHead: Float32Array,
  ) {
    if (normWeight.length !== d || normBias.length !== d) throw new Error(`OutputHead: the final norm needs ${d} weights and biases, got ${normWeight.length} and ${normBias.length}`);
    if (lmHead.length !== d * vocab) throw new Error(`OutputHead: lmHead needs d·V = ${d * vocab} values, got ${lmHead.length}`);
  }

  /** True for values made by this class (the data owner's functions check it at run time too). */
  static is(x: unknown): x is OutputHead {
    return typeof x === 'object' && x !== null && #kind in x;
  }
}

/** The data owner's memory: keys = PLM context representations [n, d], values = its own target token ids [n]. */
export class ExternalMemory {
  readonly #kind = 'pema-external-memory';
  private constructor(
    readonly d: number,
    readonly keys: Float32Array,
    readonly values: Int32Array,
  ) {}

  get n(): number {
    return this.values.length;
  }

  /** A memory from stored arrays (a saved memory); checks the sizes. */
  static fromArrays(d: number, keys: Float32Array, values: Int32Array): ExternalMemory {
    if (!Number.isInteger(d) || d < 1) throw new Error(`ExternalMemory: d must be a positive integer, got ${d}`);
    if (keys.length !== values.length * d) throw new Error(`ExternalMemory: keys hold ${keys.length} floats, expected n·d = ${values.length}·${d}`);
    return new ExternalMemory(d, keys, values);
  }

  static is(x: unknown): x is ExternalMemory {
    return typeof x === 'object' && x !== null && #kind in x;
  }

  /** The entries at the given indices (e.g. a dev split). */
  select(indices: ArrayLike<number>): ExternalMemory {
    const keys = new Float32Array(indices.length * this.d);
    const values = new Int32Array(indices.length);
    for (let i = 0; i < indices.length; i++) {
      const k = indices[i]!;
      keys.set(this.keys.subarray(k * this.d, (k + 1) * this.d), i * this.d);
      values[i] = this.values[k]!;
    }
    return new ExternalMemory(this.d, keys, values);
  }

  get bytes(): number {
    return this.keys.byteLength + this.values.byteLength;
  }
}

/**
 * What the data owner asks the PLM owner for. `generated` (official code): only the prompt is
 * sent; the PLM decodes greedily and returns the representation at every generated step.
 * `teacherForced` (kNN-LM style, an option): prompt + target are sent and the representation at
 * every target position is returned.
 */
export type RepresentationRequest =
  | { mode: 'generated'; prompt: ArrayLike<number>; maxSteps: number }
  | { mode: 'teacherForced'; prompt: ArrayLike<number>; target: ArrayLike<number> };

/** reps [steps, d]: step i's representation predicts the i-th output token; `tokens` are the PLM's own greedy tokens (generated mode). */
export interface Representations {
  steps: number;
  reps: Float32Array;
  tokens: Int32Array;
}

/** The service the PLM owner offers; the data owner's memory builder accepts only this. */
export interface RepresentationService {
  readonly d: number;
  contextRepresentations(requests: readonly RepresentationRequest[]): Promise<Representations[]>;
}

/** One decoding step as the PLM owner shows it to a mixing hook: the representation and the PLM's logits at the step. */
export interface DecodeStep {
  step: number;
  representation: Float32Array;
  logits: Float64Array;
}

/**
 * The PLM owner. Holds the causal LM privately (a GPT graph with outputs 'logits' and
 * 'block_output', as `buildGpt({ exposeBlockOutput: true })` makes) and exposes exactly: the
 * representation service, a step-wise decoder with a mixing hook (the plug-in point at
 * inference), and the output head. `runs` counts graph executions (a test asserts adapter
 * training never runs the PLM).
 */
export class ModelOwner implements RepresentationService {
  readonly #graph: Graph;
  readonly #session: Session;
  readonly #context: number;
  readonly #executor: Executor;
  readonly #ownsExecutor: boolean;
  #runs = 0;
  readonly d: number;

  private constructor(graph: Graph, session: Session, executor: Executor, owns: boolean) {
    this.#graph = graph;
    this.#session = session;
    this.#executor = executor;
    this.#ownsExecutor = owns;
    this.#context = graph.inputs.find((v) => v.name === 'x')!.shape![1] as number;
    this.d = graph.outputs.find((v) => v.name === 'block_output')!.shape![2] as number;
  }

  /** Wraps a causal LM graph; the graph is cloned so later edits by the caller change nothing here. */
  static async create(plm: Graph, opts: { executor?: Executor } = {}): Promise<ModelOwner> {
    const x = plm.inputs.find((v) => v.name === 'x');
    if (!x || typeof x.shape?.[1] !== 'number') throw new Error(`ModelOwner: graph '${plm.name}' needs an input 'x' [N, T] with a fixed T`);
    for (const out of ['logits', 'block_output']) {
      if (!plm.outputs.some((v) => v.name === out)) throw new Error(`ModelOwner: graph '${plm.name}' has no output '${out}' (build it with buildGpt({ exposeBlockOutput: true }))`);
    }
    for (const p of ['norm.weight', 'norm.bias', 'lm_head.weight']) {
      if (!plm.initializers.get(p)?.initializer) throw new Error(`ModelOwner: graph '${plm.name}' has no initializer '${p}' (the final norm and LM head the output head is made of)`);
    }
    const graph = plm.clone();
    const executor = opts.executor ?? createExecutor('ort-node');
    return new ModelOwner(graph, await executor.session(graph), executor, !opts.executor);
  }

  get runs(): number {
    return this.#runs;
  }

  get context(): number {
    return this.#context;
  }

  /** Copies of the final norm and the LM head: all the data owner may train against. */
  outputHead(): OutputHead {
    const g = this.#graph;
    const f32 = (name: string) => Float32Array.from(g.initializers.get(name)!.initializer!.toFloat64());
    const norm = g.nodes.find((n) => n.op === 'LayerNormalization' && n.inputs[1]?.name === 'norm.weight');
    if (!norm) throw new Error(`ModelOwner: graph '${g.name}' has no LayerNormalization reading 'norm.weight'`);
    const lm = g.initializers.get('lm_head.weight')!.initializer!;
    return new OutputHead(lm.shape[0]!, lm.shape[1]!, f32('norm.weight'), f32('norm.bias'), norm.float('epsilon', 1e-5), f32('lm_head.weight'));
  }

  async contextRepresentations(requests: readonly RepresentationRequest[]): Promise<Representations[]> {
    const out: (Representations | undefined)[] = new Array(requests.length);
    const forced: number[] = [];
    for (let i = 0; i < requests.length; i++) {
      const r = requests[i]!;
      if (r.mode === 'generated') out[i] = await this.generated(r.prompt, r.maxSteps);
      else forced.push(i);
    }
    const batch = 64;
    for (let s = 0; s < forced.length; s += batch) {
      const part = forced.slice(s, s + batch);
      const reps = await this.teacherForced(part.map((i) => requests[i] as Extract<RepresentationRequest, { mode: 'teacherForced' }>));
      part.forEach((i, k) => (out[i] = reps[k]));
    }
    return out as Representations[];
  }

  /**
   * Step-wise greedy decoding with a mixing hook: at each step the hook sees the step's
   * representation and the PLM's logits and returns the scores to take the argmax of (e.g. a
   * PEMA mixture's log-probabilities). The weights never leave this object.
   */
  async decode(prompt: ArrayLike<number>, steps: number, mix?: (s: DecodeStep) => Float64Array): Promise<number[]> {
    return generate({
      graph: this.#graph, prompt, steps,
      run: async (_g, feeds) => { this.#runs++; return this.#session.run(feeds); },
      transformLogits: mix && ((logits, step, outputs, at) => {
        const f = outputs.block_output!.data as Float32Array;
        const representation = f.slice(at * this.d, (at + 1) * this.d);
        return mix({ step, representation, logits });
      }),
    });
  }

  private async generated(prompt: ArrayLike<number>, maxSteps: number): Promise<Representations> {
    const reps = new Float32Array(maxSteps * this.d);
    const tokens = await this.decode(prompt, maxSteps, ({ step, representation, logits }) => {
      reps.set(representation, step * this.d);
      return logits;
    });
    return { steps: maxSteps, reps, tokens: Int32Array.from(tokens) };
  }

  private async teacherForced(reqs: Extract<RepresentationRequest, { mode: 'teacherForced' }>[]): Promise<Representations[]> {
    const T = this.#context;
    const d = this.d;
    const ids = new BigInt64Array(reqs.length * T);
    reqs.forEach((r, i) => {
      const seq = [...Array.from(r.prompt), ...Array.from(r.target)].slice(0, -1);
      if (r.prompt.length < 1) throw new Error('ModelOwner: a teacher-forced request needs a prompt of at least one token');
      if (seq.length > T) throw new Error(`ModelOwner: prompt + target minus one is ${seq.length} tokens, more than the context ${T}`);
      seq.forEach((t, k) => (ids[i * T + k] = BigInt(t)));
    });
    this.#runs++;
    const res = await this.#session.run({ x: new Tensor('int64', [reqs.length, T], ids) }, ['block_output']);
    const f = res.block_output!.data as Float32Array;
    return reqs.map((r, i) => {
      const first = r.prompt.length - 1;
      const steps = r.target.length;
      return { steps, reps: f.slice((i * T + first) * d, (i * T + first + steps) * d), tokens: new Int32Array(0) };
    });
  }

  /** Releases the executor when this object created it. */
  async dispose(): Promise<void> {
    if (this.#ownsExecutor) await this.#executor.dispose();
  }
}

/** A training pair of the data owner: the prompt it may send, and the target it keeps. */
export interface MemoryExample {
  prompt: ArrayLike<number>;
  target: ArrayLike<number>;
}

/**
 * Builds the external memory on the data owner's side. In `generated` mode only prompts leave
 * the data owner; step i's representation is paired with the owner's own gold token y_i for
 * i < min(|generated|, |y|). In `teacherForced` mode prompt and target are sent.
 */
export async function buildExternalMemory(service: RepresentationService, examples: readonly MemoryExample[],
  opts: { mode: 'generated' | 'teacherForced'; maxSteps?: number }): Promise<ExternalMemory> {
  const d = service.d;
  const requests: RepresentationRequest[] = examples.map((e) => opts.mode === 'generated'
    ? { mode: 'generated', prompt: e.prompt, maxSteps: opts.maxSteps ?? e.target.length }
    : { mode: 'teacherForced', prompt: e.prompt, target: e.target });
  const reps = await service.contextRepresentations(requests);
  let n = 0;
  const counts = reps.map((r, i) => Math.min(r.steps, examples[i]!.target.length));
  for (const c of counts) n += c;
  const keys = new Float32Array(n * d);
  const values = new Int32Array(n);
  let at = 0;
  reps.forEach((r, i) => {
    keys.set(r.reps.subarray(0, counts[i]! * d), at * d);
    for (let k = 0; k < counts[i]!; k++) values[at + k] = examples[i]!.target[k]!;
    at += counts[i]!;
  });
  return ExternalMemory.fromArrays(d, keys, values);
}
