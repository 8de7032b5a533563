import { Rng } from '@tessera/core';
import { describe, expect, it } from 'vitest';
import { guSchedule, logSoftmax, mixLogProbs } from './index.js';

function randomLogProbs(rng: Rng, V: number): Float64Array {
  return logSoftmax(Float64Array.from({ length: V }, () => 3 * rng.normal()));
}

describe('the probability mixture', () => {
  const rng = new Rng(1);
  const p = randomLogProbs(rng, 40);
  const q = randomLogProbs(rng, 40);

  it('λ = 0 reproduces P_LM and λ = 1 reproduces P_PEMA exactly; every mixture sums to 1', () => {
    expect(Array.from(mixLogProbs(p, q, 0))).toEqual(Array.from(p));
    expect(Array.from(mixLogProbs(p, q, 1))).toEqual(Array.from(q));
    for (const l of [0.1, 0.5, 0.9]) expect(mixLogProbs(p, q, l).reduce((s, x) => s + Math.exp(x), 0)).toBeCloseTo(1, 12);
  });

  it('follows λ: (1 − λ)·P_LM + λ·P_PEMA in probability space, not a mixture of logits', () => {
    for (const l of [0.2, 0.8]) {
      const m = mixLogProbs(p, q, l);
      for (let v = 0; v < p.length; v++) expect(Math.exp(m[v]!)).toBeCloseTo((1 - l) * Math.exp(p[v]!) + l * Math.exp(q[v]!), 12);
    }
    const a = mixLogProbs(p, q, 0.2);
    const b = mixLogProbs(p, q, 0.8);
    expect(Math.max(...a.map((x, v) => Math.abs(x - b[v]!)))).toBeGreaterThan(0.1);
    const logitMix = logSoftmax(p.map((x, v) => 0.5 * x + 0.5 * q[v]!));
    expect(Math.max(...logitMix.map((x, v) => Math.abs(x - mixLogProbs(p, q, 0.5)[v]!)))).toBeGreaterThan(0.1);
    expect(() => mixLogProbs(p, q, 1.5)).toThrow('mixLogProbs: lambda must lie in [0, 1], got 1.5');
  });
});

describe('Gradual Unrolling', () => {
  it('is λmax at the first token, then (λmax·(1 − t/L))² with floorPct 0, and rises to the floor with floorPct > 0', () => {
    const s = guSchedule(0.9, 32);
    expect(s(0)).toBe(0.9);
    for (const t of [1, 2, 8, 16, 31]) expect(s(t)).toBeCloseTo((0.9 * (1 - t / 32)) ** 2, 12);
    // λ̃ never goes below zero: past the budget λ stays at its last (near-zero) value.
    for (const t of [32, 40, 100]) { expect(s(t)).toBeGreaterThanOrEqual(0); expect(s(t)).toBeLessThanOrEqual(s(31)); }
    const floored = guSchedule(0.9, 32, 50);
    for (const t of [1, 10, 31]) expect(floored(t)).toBeCloseTo(s(t) / 2 + 0.5, 12);
    for (let t = 1; t < 31; t++) expect(s(t + 1)).toBeLessThan(s(t));
  });

  it('depends only on λmax, the length budget and the floor: it has no reference input', () => {
    expect(guSchedule.length).toBe(2);
    const a = guSchedule(0.9, 10);
    const b = guSchedule(0.9, 20);
    expect(a(5)).not.toBeCloseTo(b(5), 3);
    expect(() => guSchedule(0.9, 0)).toThrow('guSchedule: lengthBudget must be a positive integer, got 0');
    expect(() => guSchedule(1.2, 8)).toThrow('guSchedule: lambdaMax must lie in [0, 1], got 1.2');
  });
});
