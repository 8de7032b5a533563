import type { Value } from '@tessera/core';
import { formatOf } from '@tessera/core';

/** What cost models need to know of a number format, parsed from its id. */
export interface OperandFormat {
  id: string;
  kind: 'float' | 'int' | 'fixed' | 'posit' | 'pow2' | 'binary';
  bits: number;
  /** posit exponent size. */
  es?: number;
}

const DTYPE_BITS: Record<string, [OperandFormat['kind'], number]> = {
  float64: ['float', 64], float32: ['float', 32], float16: ['float', 16], bfloat16: ['float', 16],
  int8: ['int', 8], uint8: ['int', 8], int16: ['int', 16], uint16: ['int', 16], int32: ['int', 32], uint32: ['int', 32],
};

/**
 * Parses format ids as @tessera/numerics names them (`posit<8,2>`, `fixed<8,4>`, `pow2<4>`,
 * `pow2<4,emax=2>`, `int<8,sym>`) and dtypes (`float32`, `int8` ...). `binary` / `sign` and any
 * 1-bit format are binary. Throws naming the id when it is none of these.
 */
export function parseFormatId(id: string): OperandFormat {
  const d = DTYPE_BITS[id];
  if (d) return { id, kind: d[0], bits: d[1] };
  if (id === 'binary' || id === 'sign') return { id, kind: 'binary', bits: 1 };
  const m = /^(posit|fixed|pow2|int)<(\d+)(?:,([^>]*))?>$/.exec(id);
  if (m) {
    const bits = Number(m[2]);
    if (bits === 1) return { id, kind: 'binary', bits: 1 };
    const kind = m[1] as 'posit' | 'fixed' | 'pow2' | 'int';
    return kind === 'posit' ? { id, kind, bits, es: Number(m[3] ?? 0) } : { id, kind, bits };
  }
  throw new Error(`number format '${id}' is not known to the cost models (known: float32/16, bfloat16, intN, posit<n,es>, fixed<n,f>, pow2<b>, int<b,sym>, binary)`);
}

export function tryParseFormatId(id: string): OperandFormat | undefined {
  try {
    return parseFormatId(id);
  } catch {
    return undefined;
  }
}

/** The parsed format of a value (its number format, else its dtype). */
export function operandFormat(v: Value | null | undefined): OperandFormat | undefined {
  if (!v) return undefined;
  const id = formatOf(v);
  return id === undefined ? undefined : tryParseFormatId(id);
}

/** Storage bits of a value's elements (packed by its number format). */
export function storageBits(v: Value): number {
  return operandFormat(v)?.bits ?? (v.type?.dtype === 'int64' || v.type?.dtype === 'float64' ? 64 : 32);
}
