/**
 * A minimal WebAssembly binary emitter: just enough of the format (binary spec, "Modules" chapter)
 * to build small compute kernels in TypeScript without a wasm toolchain.
 *
 * A module is: the magic `\0asm`, version 1, then sections in id order, each `id, size (u32 LEB128),
 * payload`. We emit the type (1), function (3), memory (5), export (7) and code (10) sections.
 * Functions are written with `FuncBody`, which appends instructions as raw opcodes; SIMD instructions
 * are the 0xFD prefix followed by their opcode as a u32 LEB128 (proposal "simd", standard since
 * wasm 2.0 and on by default since Node 16.4 / V8 9.1).
 */

/** Value types. */
export const I32 = 0x7f;
export const F32 = 0x7d;
export const V128 = 0x7b;
export type ValType = typeof I32 | typeof F32 | typeof V128;

/** Unsigned LEB128. */
export function uleb(n: number): number[] {
  if (!Number.isInteger(n) || n < 0) throw new Error(`uleb: ${n} is not a non-negative integer`);
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n = Math.floor(n / 128);
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 (32-bit range). */
export function sleb(n: number): number[] {
  if (!Number.isInteger(n) || n < -(2 ** 31) || n >= 2 ** 31) throw new Error(`sleb: ${n} is not an i32`);
  const out: number[] = [];
  let more = true;
  while (more) {
    let byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) more = false;
    else byte |= 0x80;
    out.push(byte);
  }
  return out;
}

function utf8(s: string): number[] {
  const b = [...new TextEncoder().encode(s)];
  return [...uleb(b.length), ...b];
}

/** A vector: count then items. */
function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

function section(id: number, payload: number[]): number[] {
  return [id, ...uleb(payload.length), ...payload];
}

/** Instruction opcodes used by the kernels (core and SIMD). */
export const Op = {
  block: 0x02, loop: 0x03, if: 0x04, else: 0x05, end: 0x0b, br: 0x0c, brIf: 0x0d, return: 0x0f,
  localGet: 0x20, localSet: 0x21, localTee: 0x22,
  i32Load: 0x28, f32Load: 0x2a, i32Store: 0x36, f32Store: 0x38,
  i32Const: 0x41,
  i32Eqz: 0x45, i32Eq: 0x46, i32Ne: 0x47, i32LtS: 0x48, i32LtU: 0x49, i32GtS: 0x4a, i32GeU: 0x4f,
  i32Add: 0x6a, i32Sub: 0x6b, i32Mul: 0x6c, i32Shl: 0x74,
  f32Add: 0x92, f32Mul: 0x94,
  /** Block type of a block / loop / if that leaves nothing on the stack. */
  void: 0x40,
  simd: 0xfd,
} as const;

/** SIMD opcodes (after the 0xFD prefix). */
export const Simd = {
  v128Load: 0x00, v128Load32Splat: 0x09, v128Store: 0x0b, v128Const: 0x0c,
  f32x4Splat: 0x13,
  f32x4Add: 0xe4, f32x4Sub: 0xe5, f32x4Mul: 0xe6, f32x4Max: 0xe9,
} as const;

/** The body of one function: declared locals plus an instruction stream. */
export class FuncBody {
  readonly code: number[] = [];
  private readonly locals: ValType[] = [];

  /** `params` are the function's parameter types: locals are numbered after them. */
  constructor(private readonly params: readonly ValType[]) {}

  /** Declares a local of `type` and returns its index. */
  local(type: ValType): number {
    this.locals.push(type);
    return this.params.length + this.locals.length - 1;
  }

  op(...bytes: number[]): this {
    this.code.push(...bytes);
    return this;
  }

  get(i: number): this { return this.op(Op.localGet, ...uleb(i)); }
  set(i: number): this { return this.op(Op.localSet, ...uleb(i)); }
  tee(i: number): this { return this.op(Op.localTee, ...uleb(i)); }
  i32(v: number): this { return this.op(Op.i32Const, ...sleb(v)); }

  /** A core memory instruction (load / store) with its memarg: `align` (log2 bytes) and byte `offset`. */
  mem(opcode: number, align: number, offset = 0): this {
    return this.op(opcode, ...uleb(align), ...uleb(offset));
  }

  /** A SIMD instruction; memory instructions take `align` (log2 bytes) and a byte `offset`. */
  simd(opcode: number, mem?: { align: number; offset: number }): this {
    this.op(Op.simd, ...uleb(opcode));
    if (mem) this.op(...uleb(mem.align), ...uleb(mem.offset));
    return this;
  }

  /** v128.const of four equal f32 lanes (used for zeroing accumulators). */
  f32x4Const(v: number): this {
    const lane = new Uint8Array(new Float32Array([v]).buffer);
    this.simd(Simd.v128Const);
    for (let i = 0; i < 4; i++) this.op(...lane);
    return this;
  }

  /** Encoded body: locals grouped in runs of one type, the code, then `end`. */
  encode(): number[] {
    const runs: number[][] = [];
    for (let i = 0; i < this.locals.length;) {
      let j = i;
      while (j < this.locals.length && this.locals[j] === this.locals[i]) j++;
      runs.push([...uleb(j - i), this.locals[i]!]);
      i = j;
    }
    const body = [...vec(runs), ...this.code, Op.end];
    return [...uleb(body.length), ...body];
  }
}

export interface FuncDef {
  name: string;
  params: ValType[];
  results: ValType[];
  body: FuncBody;
}

/**
 * Assembles a module that defines and exports one linear memory (`memory`, `minPages` 64 KiB pages,
 * growable from JS with `memory.grow`) and exports each function under its name.
 */
export function assembleModule(funcs: FuncDef[], minPages = 1): Uint8Array<ArrayBuffer> {
  const types = funcs.map((f) => [0x60, ...vec(f.params.map((p) => [p])), ...vec(f.results.map((r) => [r]))]);
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(types)),
    ...section(3, vec(funcs.map((_, i) => uleb(i)))),
    ...section(5, vec([[0x00, ...uleb(minPages)]])),
    ...section(7, vec([
      [...utf8('memory'), 0x02, 0x00],
      ...funcs.map((f, i) => [...utf8(f.name), 0x00, ...uleb(i)]),
    ])),
    ...section(10, vec(funcs.map((f) => f.body.encode()))),
  ];
  return new Uint8Array(bytes) as Uint8Array<ArrayBuffer>;
}
