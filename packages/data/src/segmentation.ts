import { Rng, Tensor } from '@tessera/core';
import type { Dataset } from './dataset.js';

export const SEGMENTATION_CLASSES = ['background', 'rectangle', 'disk', 'triangle', 'ring', 'cross'] as const;

export interface SegmentationSceneOptions {
  n: number;
  /** Image side in pixels (default 32). */
  size?: number;
  /** Number of classes including background, 2..6 (default 5). */
  classes?: number;
  /** Shapes per image, inclusive range (default [3, 5]). */
  shapes?: [number, number];
  /** Std of the per-shape colour jitter around the class colour (default 0.18): colour alone is ambiguous. */
  colourJitter?: number;
  /** Std of per-pixel noise (default 0.08). */
  pixelNoise?: number;
  seed: number;
}

// Class colours (RGB in [0,1]); the jitter makes neighbouring classes overlap so shape matters too.
const CLASS_COLOUR: ReadonlyArray<readonly [number, number, number]> = [
  [0.45, 0.45, 0.45], [0.85, 0.3, 0.25], [0.3, 0.75, 0.35], [0.3, 0.4, 0.85], [0.8, 0.7, 0.25], [0.7, 0.35, 0.75],
];

// Radius factors that give every shape about the area of a disk of the same radius (pi r^2).
const AREA_FACTOR = [1, Math.sqrt(Math.PI / 2.4), 1, Math.sqrt(Math.PI / 1.3), Math.sqrt(1 / 0.64), Math.sqrt(Math.PI / 2.04)];

type Inside = (px: number, py: number) => boolean;

function shapeMask(cls: number, cx: number, cy: number, r: number, angle: number): Inside {
  const ca = Math.cos(angle);
  const sa = Math.sin(angle);
  // Coordinates in the shape's rotated frame, scaled by its radius.
  const local = (px: number, py: number): [number, number] => {
    const dx = px - cx;
    const dy = py - cy;
    return [(dx * ca + dy * sa) / r, (-dx * sa + dy * ca) / r];
  };
  switch (cls) {
    case 1: return (px, py) => { const [u, v] = local(px, py); return Math.abs(u) <= 1 && Math.abs(v) <= 0.6; };
    case 2: return (px, py) => { const [u, v] = local(px, py); return u * u + v * v <= 1; };
    case 3: return (px, py) => { const [u, v] = local(px, py); return v <= 0.5 && v >= -1 + 1.5 * Math.abs(u) * 1.15; };
    case 4: return (px, py) => { const [u, v] = local(px, py); const d = u * u + v * v; return d <= 1 && d >= 0.36; };
    case 5: return (px, py) => { const [u, v] = local(px, py); return (Math.abs(u) <= 1 && Math.abs(v) <= 0.3) || (Math.abs(v) <= 1 && Math.abs(u) <= 0.3); };
    default: throw new Error(`segmentation class ${cls} has no shape`);
  }
}

/**
 * Synthetic semantic-segmentation scenes: shapes (rectangle, disk, triangle, ring, cross) of
 * class-typical but jittered colours over a textured background, later shapes occluding earlier
 * ones. x: float32 [N, 3, S, S]; y: int64 [N, S, S] with 0 = background (the majority class,
 * about half to two thirds of the pixels).
 */
export function segmentationScenes(opts: SegmentationSceneOptions): Dataset {
  const S = opts.size ?? 32;
  const C = opts.classes ?? 5;
  const [minShapes, maxShapes] = opts.shapes ?? [3, 5];
  const jitter = opts.colourJitter ?? 0.18;
  const noise = opts.pixelNoise ?? 0.08;
  if (!(C >= 2 && C <= SEGMENTATION_CLASSES.length)) throw new Error(`segmentationScenes: classes = ${C}, expected 2..${SEGMENTATION_CLASSES.length}`);
  if (!(minShapes >= 1 && maxShapes >= minShapes)) throw new Error(`segmentationScenes: shapes = [${minShapes}, ${maxShapes}], expected 1 <= min <= max`);
  const rng = new Rng(opts.seed);
  const x = new Float32Array(opts.n * 3 * S * S);
  const y = new BigInt64Array(opts.n * S * S);
  const label = new Uint8Array(S * S);
  const colour = new Float32Array(3 * S * S);
  for (let i = 0; i < opts.n; i++) {
    // Background: a random-orientation stripe texture around a jittered grey.
    const fx = (rng.uniform() - 0.5) * 0.8;
    const fy = (rng.uniform() - 0.5) * 0.8;
    const phase = rng.uniform() * 2 * Math.PI;
    const amp = 0.05 + 0.1 * rng.uniform();
    const base = CLASS_COLOUR[0]!.map((c) => c + jitter * 0.5 * rng.normal());
    label.fill(0);
    for (let p = 0; p < S * S; p++) {
      const t = amp * Math.sin(fx * (p % S) + fy * Math.floor(p / S) + phase);
      for (let ch = 0; ch < 3; ch++) colour[ch * S * S + p] = base[ch]! + t;
    }
    const count = minShapes + rng.int(maxShapes - minShapes + 1);
    for (let s = 0; s < count; s++) {
      const cls = 1 + rng.int(C - 1);
      const r = S * (0.13 + 0.13 * rng.uniform()) * AREA_FACTOR[cls]!;
      const cx = r * 0.5 + rng.uniform() * (S - r);
      const cy = r * 0.5 + rng.uniform() * (S - r);
      const inside = shapeMask(cls, cx, cy, r, rng.uniform() * Math.PI);
      const col = CLASS_COLOUR[cls]!.map((c) => c + jitter * rng.normal());
      for (let py = 0; py < S; py++) {
        for (let px = 0; px < S; px++) {
          if (!inside(px + 0.5, py + 0.5)) continue;
          const p = py * S + px;
          label[p] = cls;
          for (let ch = 0; ch < 3; ch++) colour[ch * S * S + p] = col[ch]!;
        }
      }
    }
    const xo = i * 3 * S * S;
    for (let k = 0; k < 3 * S * S; k++) x[xo + k] = Math.min(1, Math.max(0, colour[k]! + noise * rng.normal()));
    for (let p = 0; p < S * S; p++) y[i * S * S + p] = BigInt(label[p]!);
  }
  return {
    name: `segmentation-scenes/${S}x${S}/c${C}/seed${opts.seed}`,
    x: new Tensor('float32', [opts.n, 3, S, S], x),
    y: new Tensor('int64', [opts.n, S, S], y),
    classes: SEGMENTATION_CLASSES.slice(0, C),
    source: { description: `generated by @tessera/data segmentationScenes (size ${S}, ${C} classes, seed ${opts.seed})`, licence: 'generated (Apache-2.0, this project)' },
  };
}
