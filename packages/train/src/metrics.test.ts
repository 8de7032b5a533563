import { Tensor } from '@tessera/core';
import { describe, expect, it } from 'vitest';
import { accuracy, denseArgmax, ece, matthews, meanIoU, nll, perplexity } from './metrics.js';
import { Progress } from './progress.js';

const logits = new Tensor('float32', [4, 3], Float32Array.from([2, 0, 0, 0, 1, 0, 0, 0, 3, 1, 2, 0]));
const labels = Tensor.from([0, 1, 2, 0], [4], 'int64');

describe('metrics', () => {
  it('accuracy, NLL and perplexity against hand computation', () => {
    expect(accuracy(logits, labels)).toBe(0.75);
    const lse = (r: number[]) => Math.log(r.reduce((a, v) => a + Math.exp(v), 0));
    const rows: [number[], number][] = [[[2, 0, 0], 0], [[0, 1, 0], 1], [[0, 0, 3], 2], [[1, 2, 0], 0]];
    const expected = rows.reduce((a, [r, y]) => a + lse(r) - r[y]!, 0) / 4;
    expect(nll(logits, labels)).toBeCloseTo(expected, 6);
    expect(perplexity(logits, labels)).toBeCloseTo(Math.exp(expected), 5);
  });

  it('ECE with 15 equal-width bins', () => {
    // Two confident correct predictions (p = 0.9) and one wrong (p = 0.6): bins 13 and 9.
    const l = new Tensor('float32', [3, 2], Float32Array.from([Math.log(9), 0, Math.log(9), 0, Math.log(1.5), 0]));
    const y = Tensor.from([0, 0, 1], [3], 'int64');
    expect(ece(l, y)).toBeCloseTo((2 / 3) * Math.abs(1 - 0.9) + (1 / 3) * Math.abs(0 - 0.6), 6);
  });

  it('Matthews correlation: binary closed form, perfect and inverted', () => {
    const pred = [1, 1, 0, 0, 1, 0, 1, 0];
    const y = [1, 0, 0, 0, 1, 1, 1, 0];
    // tp 3, tn 3, fp 1, fn 1
    expect(matthews(pred, y)).toBeCloseTo((3 * 3 - 1 * 1) / Math.sqrt(4 * 4 * 4 * 4), 12);
    expect(matthews(y, y)).toBe(1);
    expect(matthews(y.map((v) => 1 - v), y)).toBe(-1);
  });

  it('mIoU over classes present, ignoring an index', () => {
    expect(meanIoU([0, 0, 1, 1], [0, 1, 1, 255], 2, 255)).toBeCloseTo((1 / 2 + 1 / 2) / 2, 12);
    const dense = new Tensor('float32', [1, 2, 2], Float32Array.from([1, 0, 0, 1]));
    expect(Array.from(denseArgmax(dense))).toEqual([0, 1]);
  });
});

describe('Progress', () => {
  it('rewrites one line on a TTY, prints every 10 % elsewhere, and is quiet in CI', () => {
    const tty: string[] = [];
    const p = new Progress(20, { stream: { isTTY: true, write: (s) => tty.push(s) }, quiet: false });
    for (let i = 1; i <= 20; i++) p.update(i);
    p.done();
    expect(tty.slice(0, -1).every((s) => s.startsWith('\r'))).toBe(true);
    const log: string[] = [];
    const q = new Progress(100, { stream: { write: (s) => log.push(s) }, quiet: false });
    for (let i = 1; i <= 100; i++) q.update(i);
    expect(log).toHaveLength(11); // the first update, then 10 %, 20 % ... 100 %
    const ci: string[] = [];
    const prev = process.env.CI;
    process.env.CI = '1';
    new Progress(5, { stream: { isTTY: true, write: (s) => ci.push(s) } }).update(3);
    if (prev === undefined) delete process.env.CI; else process.env.CI = prev;
    expect(ci).toEqual([]);
  });
});
