import { Rng, Tensor } from '@tessera/core';

/** FNV-1a hash of a parameter name: each parameter draws from its own stream. */
function nameSalt(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/**
 * The random stream of one parameter: derived from (seed, parameter name), so a parameter's
 * initial value does not depend on which other layers exist or in which order they were built
 * (a width or depth change leaves the other layers' initial weights as they were).
 */
export function paramRng(seed: number, name: string): Rng {
  return new Rng(seed).fork(nameSalt(name));
}

export type Init =
  | { kind: 'kaiming'; fanIn: number; gain?: number }
  | { kind: 'xavier'; fanIn: number; fanOut: number }
  | { kind: 'normal'; std: number }
  | { kind: 'constant'; value: number };

/**
 * Kaiming normal (std = gain / sqrt(fanIn), gain sqrt(2) for ReLU), Xavier uniform
 * (limit sqrt(6 / (fanIn + fanOut))), plain normal, or a constant.
 */
export function initTensor(shape: number[], init: Init, rng: Rng): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  switch (init.kind) {
    case 'kaiming': {
      const std = (init.gain ?? Math.SQRT2) / Math.sqrt(init.fanIn);
      for (let i = 0; i < n; i++) data[i] = std * rng.normal();
      break;
    }
    case 'xavier': {
      const limit = Math.sqrt(6 / (init.fanIn + init.fanOut));
      for (let i = 0; i < n; i++) data[i] = limit * (2 * rng.uniform() - 1);
      break;
    }
    case 'normal':
      for (let i = 0; i < n; i++) data[i] = init.std * rng.normal();
      break;
    case 'constant':
      data.fill(init.value);
      break;
  }
  return new Tensor('float32', shape, data);
}
