/**
 * The non-offsite reference arm: LoRA on every block linear of the PLM, trained through the whole
 * transformer (needs all weights). y = x·W + s·x·A·B with W frozen, A Kaiming-uniform, B zero.
 */
import { GraphBuilder, Rng, Tensor, type Graph } from '@tessera/core';

/** Adds LoRA branches to every MatMul whose weight name matches `targets`; returns the new graph and the adapter parameter names. */
export function addLora(plm: Graph, opts: { rank: number; alpha: number; seed: number; targets?: RegExp }): { graph: Graph; params: string[] } {
  const g = plm.clone();
  const targets = opts.targets ?? /^blocks\.\d+\.(attn\.[qkvo]|mlp\.fc[12])\.weight$/;
  const b = new GraphBuilder(g);
  const rng = new Rng(opts.seed);
  const params: string[] = [];
  const scale = opts.alpha / opts.rank;
  for (const n of g.nodes) {
    const w = n.inputs[1];
    if (n.op !== 'MatMul' || !w?.initializer || !targets.test(w.name)) continue;
    const [inF, outF] = w.initializer.shape as [number, number];
    const base = w.name.replace(/\.weight$/, '');
    const bound = 1 / Math.sqrt(inF);
    const A = b.param(`${base}.lora_A`, new Tensor('float32', [inF, opts.rank], Float32Array.from({ length: inF * opts.rank }, () => (2 * rng.uniform() - 1) * bound)));
    const B = b.param(`${base}.lora_B`, Tensor.zeros('float32', [opts.rank, outF]));
    params.push(A.name, B.name);
    const out = n.output(0);
    const next = g.nodes[g.nodes.indexOf(n) + 1];
    b.insertionPoint = next;
    const delta = b.op('Mul', [b.op('MatMul', [b.op('MatMul', [n.inputs[0]!, A]), B]), b.constant(scale, 'float32', `${base}.lora_scale`)], {}, { name: `${base}.lora` });
    const sum = b.op('Add', [out, delta], {}, { name: `${base}.lora_add` });
    b.insertionPoint = undefined;
    for (const use of [...out.uses]) if (use.node !== sum.producer) use.node.setInput(use.index, sum);
    if (g.outputs.includes(out)) throw new Error(`addLora: '${out.name}' is a graph output; LoRA targets inner linears`);
  }
  if (params.length === 0) throw new Error(`addLora: no MatMul weight of graph '${plm.name}' matches ${targets}`);
  return { graph: g, params };
}
