import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PointResult } from '../src/lib.js';

export const resultsDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'results');

export function writeJson(name: string, data: unknown): string {
  mkdirSync(resultsDir, { recursive: true });
  const path = join(resultsDir, name);
  writeFileSync(path, JSON.stringify(data, null, 2) + '\n');
  return path;
}

export function writeText(name: string, text: string): string {
  mkdirSync(resultsDir, { recursive: true });
  const path = join(resultsDir, name);
  writeFileSync(path, text);
  return path;
}

/** Eb/N0 (dB) at which log10(FER) crosses log10(target), by linear interpolation; null if not bracketed. */
export function snrAtFer(points: readonly PointResult[], target: number): number | null {
  const ps = points.filter((p) => p.frameErrors > 0).sort((a, b) => a.ebn0Db - b.ebn0Db);
  for (let i = 0; i + 1 < ps.length; i++) {
    const a = ps[i]!;
    const b = ps[i + 1]!;
    if (a.fer >= target && b.fer <= target) {
      const la = Math.log10(a.fer);
      const lb = Math.log10(b.fer);
      if (la === lb) return a.ebn0Db;
      return a.ebn0Db + ((Math.log10(target) - la) / (lb - la)) * (b.ebn0Db - a.ebn0Db);
    }
  }
  return null;
}

/** 95% interval of a FER estimate from fe errors (normal approximation of the reference README). */
export function ferInterval(fer: number, fe: number, frames: number): [number, number] {
  if (fe === 0) return [0, 3 / frames];
  const w = 2 / Math.sqrt(fe);
  return [fer * Math.max(0, 1 - w), fer * (1 + w)];
}

export const pct = (x: number): number => Math.round(x * 1000) / 10;
