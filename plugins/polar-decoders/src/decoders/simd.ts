/**
 * WebAssembly SIMD (128-bit) kernels for the single-path SC engine: f, g, g with β = 0, and the
 * partial-sum XOR, four LLRs (sixteen partial sums) per instruction. They compute exactly what the
 * scalar loops compute: f on the IEEE bit patterns (sign XOR, i32x4.min_s of the magnitudes), g as
 * one float32 add of b and a with its sign bit flipped by u (f32x4.add rounds once, as the scalar
 * code's float64 add of two float32 values does on its float32 store). The module (377 bytes) is
 * assembled by bench/simd-kernels.py; the tests compare it with the scalar path bit for bit.
 *
 * Exports take byte addresses in the imported memory: f(dst, a, b, bytes), g(dst, a, b, u, bytes)
 * (u: one byte per LLR), g0(dst, a, b, bytes), xor(dst, src, bytes) (dst ^= src). Lengths are
 * multiples of 16 bytes.
 */
const MODULE_BASE64 =
  'AGFzbQEAAAABFgNgBH9/f38AYAV/f39/fwBgA39/fwACCgEBbQNtZW0CAAEDBQQAAQACBxQEAWYAAAFnAAECZzAAAgN4b3IAAwqtAgRoAgF/AnsCQANAIAQgA08NASAAIARqIAEgBGr9AAAAIQUgAiAEav0AAAAhBiAFIAb9UUGAgICAeP0R/U4gBUH/////B/0R/U4gBkH/////B/0R/U79tgH9UP0LAAAgBEEQaiEEDAALCwtRAQF/AkADQCAFIARPDQEgACAFaiACIAVq/QAAACABIAVq/QAAACADIAVBAnZq/VwAAP2JAf2pAUEf/asB/VH95AH9CwAAIAVBEGohBQwACwsLOAEBfwJAA0AgBCADTw0BIAAgBGogAiAEav0AAAAgASAEav0AAAD95AH9CwAAIARBEGohBAwACwsLNwEBfwJAA0AgAyACTw0BIAAgA2ogACADav0AAAAgASADav0AAAD9Uf0LAAAgA0EQaiEDDAALCws=';

export interface SimdKernels {
  readonly memory: WebAssembly.Memory;
  readonly f: (dst: number, a: number, b: number, bytes: number) => void;
  readonly g: (dst: number, a: number, b: number, u: number, bytes: number) => void;
  readonly g0: (dst: number, a: number, b: number, bytes: number) => void;
  readonly xor: (dst: number, src: number, bytes: number) => void;
}

let compiled: WebAssembly.Module | null | undefined;

function moduleOrNull(): WebAssembly.Module | null {
  if (compiled !== undefined) return compiled;
  compiled = null;
  try {
    if (typeof WebAssembly === 'object') {
      const bytes = Uint8Array.from(atob(MODULE_BASE64), (c) => c.charCodeAt(0));
      if (WebAssembly.validate(bytes)) compiled = new WebAssembly.Module(bytes);
    }
  } catch {
    compiled = null;
  }
  return compiled;
}

/** Kernels over a fresh memory of at least `bytes` bytes, or null where WebAssembly SIMD is unavailable. */
export function createSimdKernels(bytes: number): SimdKernels | null {
  const mod = moduleOrNull();
  if (!mod) return null;
  const memory = new WebAssembly.Memory({ initial: Math.max(1, Math.ceil(bytes / 65536)) });
  const e = new WebAssembly.Instance(mod, { m: { mem: memory } }).exports as unknown as Omit<SimdKernels, 'memory'>;
  return { memory, f: e.f, g: e.g, g0: e.g0, xor: e.xor };
}
