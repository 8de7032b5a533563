import { Rng, Tensor } from '@tessera/core';
import type { Dataset } from './dataset.js';

export const POINT_CLOUD_CLASSES = ['ground', 'box', 'sphere', 'cylinder'] as const;

export interface PointCloudOptions {
  n: number;
  /** Points per scene (default 2048). */
  points?: number;
  /** Objects per scene, inclusive range (default [2, 5]). */
  objects?: [number, number];
  /** Std of the Gaussian jitter added to every coordinate (default 0.01). */
  jitter?: number;
  seed: number;
}

interface SceneObject {
  cls: 1 | 2 | 3;
  cx: number;
  cy: number;
  /** Half extents for boxes; radius (and height for cylinders) otherwise. */
  a: number;
  b: number;
  h: number;
  area: number;
}

/**
 * Synthetic 3D scenes in the spirit of outdoor scans: a ground plane ([-1,1]^2 at z = 0, with a
 * slight tilt) with boxes, spheres and cylinders standing on it; points are sampled on visible
 * surfaces in proportion to their area, jittered, and listed in random order. x: float32
 * [N, P, 3]; y: int64 [N, P] (0 ground, 1 box, 2 sphere, 3 cylinder).
 */
export function pointCloudScenes(opts: PointCloudOptions): Dataset {
  const P = opts.points ?? 2048;
  const [minObj, maxObj] = opts.objects ?? [2, 5];
  const jitter = opts.jitter ?? 0.01;
  const rng = new Rng(opts.seed);
  const x = new Float32Array(opts.n * P * 3);
  const y = new BigInt64Array(opts.n * P);
  for (let s = 0; s < opts.n; s++) {
    const objs: SceneObject[] = [];
    const count = minObj + rng.int(maxObj - minObj + 1);
    for (let tries = 0; objs.length < count && tries < 100; tries++) {
      const cls = (1 + rng.int(3)) as 1 | 2 | 3;
      const a = 0.1 + 0.15 * rng.uniform();
      const b = cls === 1 ? 0.1 + 0.15 * rng.uniform() : a;
      const h = cls === 2 ? 2 * a : 0.15 + 0.35 * rng.uniform();
      const cx = -0.8 + 1.6 * rng.uniform();
      const cy = -0.8 + 1.6 * rng.uniform();
      const rad = Math.hypot(a, b);
      if (objs.some((o) => Math.hypot(o.cx - cx, o.cy - cy) < rad + Math.hypot(o.a, o.b) + 0.05)) continue;
      const area = cls === 1 ? 4 * a * b + 4 * h * (a + b) : cls === 2 ? 4 * Math.PI * a * a : 2 * Math.PI * a * h + Math.PI * a * a;
      objs.push({ cls, cx, cy, a, b, h, area });
    }
    const tiltX = 0.05 * rng.normal();
    const tiltY = 0.05 * rng.normal();
    const groundZ = (px: number, py: number) => tiltX * px + tiltY * py;
    // Ground keeps at least 35 % of the points so it is the majority class but not overwhelming.
    const objArea = objs.reduce((t, o) => t + o.area, 0);
    const groundShare = Math.max(0.35, 4 / (4 + objArea * 1.5));
    const order = rng.permutation(P);
    for (let k = 0; k < P; k++) {
      let px: number, py: number, pz: number, cls: number;
      if (rng.uniform() < groundShare || objs.length === 0) {
        px = -1 + 2 * rng.uniform();
        py = -1 + 2 * rng.uniform();
        pz = groundZ(px, py);
        cls = 0;
      } else {
        let pick = rng.uniform() * objArea;
        let o = objs[0]!;
        for (const c of objs) { o = c; pick -= c.area; if (pick <= 0) break; }
        cls = o.cls;
        const base = groundZ(o.cx, o.cy);
        if (o.cls === 2) {
          // Uniform on the sphere's surface (the part below ground is folded up).
          const z = -1 + 2 * rng.uniform();
          const t = 2 * Math.PI * rng.uniform();
          const q = Math.sqrt(1 - z * z);
          px = o.cx + o.a * q * Math.cos(t);
          py = o.cy + o.a * q * Math.sin(t);
          pz = base + o.a + o.a * z;
        } else if (o.cls === 3) {
          const t = 2 * Math.PI * rng.uniform();
          if (rng.uniform() < (Math.PI * o.a * o.a) / o.area) {
            const rr = o.a * Math.sqrt(rng.uniform());
            px = o.cx + rr * Math.cos(t); py = o.cy + rr * Math.sin(t); pz = base + o.h;
          } else {
            px = o.cx + o.a * Math.cos(t); py = o.cy + o.a * Math.sin(t); pz = base + o.h * rng.uniform();
          }
        } else {
          const top = 4 * o.a * o.b;
          const sideA = 4 * o.h * o.a;
          let f = rng.uniform() * o.area;
          const u = -1 + 2 * rng.uniform();
          const v = rng.uniform();
          if (f < top) {
            px = o.cx + o.a * u; py = o.cy + o.b * (-1 + 2 * rng.uniform()); pz = base + o.h;
          } else if ((f -= top) < sideA) {
            px = o.cx + o.a * u; py = o.cy + (f < sideA / 2 ? -o.b : o.b); pz = base + o.h * v;
          } else {
            px = o.cx + (rng.uniform() < 0.5 ? -o.a : o.a); py = o.cy + o.b * u; pz = base + o.h * v;
          }
        }
      }
      const at = s * P + order[k]!;
      x[at * 3] = px + jitter * rng.normal();
      x[at * 3 + 1] = py + jitter * rng.normal();
      x[at * 3 + 2] = pz + jitter * rng.normal();
      y[at] = BigInt(cls);
    }
  }
  return {
    name: `point-clouds/p${P}/seed${opts.seed}`,
    x: new Tensor('float32', [opts.n, P, 3], x),
    y: new Tensor('int64', [opts.n, P], y),
    classes: POINT_CLOUD_CLASSES,
    source: { description: `generated by @tessera/data pointCloudScenes (${P} points, seed ${opts.seed})`, licence: 'generated (Apache-2.0, this project)' },
  };
}
