/**
 * The decoding tree of a polar code compiled into a flat program of [op, size, offset] triples.
 * 'plain' descends to every leaf (SC as written); 'fast' stops at Rate-0, Rate-1, REP and SPC
 * nodes, which the decoders then handle without descending (Fast-SSC / Fast-SCL).
 */
export const OP_F = 0; // α of the left child (size s/2) from the node's α (size s): f(a, b)
export const OP_G = 1; // α of the right child: g(a, b, β_left)
export const OP_G0 = 2; // g with β_left known to be zero (left child is Rate-0)
export const OP_COMBINE = 3; // β of the node from its children's β
export const OP_RATE0 = 4;
export const OP_RATE1 = 5;
export const OP_REP = 6;
export const OP_SPC = 7;
export const OP_LEAF_FROZEN = 8;
export const OP_LEAF_INFO = 9;

/**
 * The decoders' hot switches use these codes as literals (an imported binding read in a `case` is
 * a getter call under the CommonJS transform of tsx/vitest); this guard keeps them in step.
 */
export function assertOpCodes(): void {
  const codes = [OP_F, OP_G, OP_G0, OP_COMBINE, OP_RATE0, OP_RATE1, OP_REP, OP_SPC, OP_LEAF_FROZEN, OP_LEAF_INFO];
  for (let i = 0; i < codes.length; i++) if (codes[i] !== i) throw new Error('internal: op codes renumbered; update the decoders\' case labels');
}

export const NODE_NAMES = ['f', 'g', 'g0', 'combine', 'rate0', 'rate1', 'rep', 'spc', 'frozen', 'info'] as const;

export interface TreeOptions {
  mode: 'plain' | 'fast';
  /** Whether Rate-0 nodes need their LLRs (list decoders add a metric penalty; SC does not). */
  rate0NeedsLlr: boolean;
  /** Node types allowed in 'fast' mode (default: all). */
  nodeTypes?: ReadonlyArray<'rate0' | 'rate1' | 'rep' | 'spc'>;
  /** Largest node size handled without descending (default N). */
  maxNodeSize?: number;
}

export interface DecodingProgram {
  readonly ops: Int32Array;
  readonly length: number;
  /** How many ops of each kind (index = op code). */
  readonly counts: Int32Array;
}

export function classifyNode(frozen: Uint8Array, o: number, s: number): number {
  let info = 0;
  for (let i = o; i < o + s; i++) info += frozen[i] ? 0 : 1;
  if (s === 1) return info ? OP_LEAF_INFO : OP_LEAF_FROZEN;
  if (info === 0) return OP_RATE0;
  if (info === s) return OP_RATE1;
  if (info === 1 && !frozen[o + s - 1]) return OP_REP;
  if (info === s - 1 && frozen[o]) return OP_SPC;
  return -1;
}

export function compileTree(frozen: Uint8Array, options: TreeOptions): DecodingProgram {
  const n = frozen.length;
  const out: number[] = [];
  const allowed = new Set<number>(
    (options.nodeTypes ?? ['rate0', 'rate1', 'rep', 'spc']).map((t) =>
      t === 'rate0' ? OP_RATE0 : t === 'rate1' ? OP_RATE1 : t === 'rep' ? OP_REP : OP_SPC,
    ),
  );
  const maxSize = options.maxNodeSize ?? n;
  const kindOf = (o: number, s: number): number => {
    const k = classifyNode(frozen, o, s);
    if (s === 1) return k;
    if (options.mode === 'plain') return -1;
    return allowed.has(k) && s <= maxSize ? k : -1;
  };
  const visit = (s: number, o: number): void => {
    const kind = kindOf(o, s);
    if (kind >= 0) {
      out.push(kind, s, o);
      return;
    }
    const h = s / 2;
    const leftKind = kindOf(o, h);
    const leftZero = options.mode === 'fast' && leftKind === OP_RATE0;
    if (leftZero && !options.rate0NeedsLlr) out.push(OP_RATE0, h, o);
    else {
      out.push(OP_F, s, o);
      visit(h, o);
    }
    out.push(leftZero ? OP_G0 : OP_G, s, o);
    visit(h, o + h);
    out.push(OP_COMBINE, s, o);
  };
  visit(n, 0);
  const ops = Int32Array.from(out);
  const counts = new Int32Array(NODE_NAMES.length);
  for (let i = 0; i < ops.length; i += 3) counts[ops[i]!]!++;
  return { ops, length: ops.length / 3, counts };
}
