import { describe, expect, it } from 'vitest';
import { artefactSummary, progressPrinter } from './progress.js';

function capture(isTTY: boolean) {
  let out = '';
  let err = '';
  const print = progressPrinter({ out: (s) => void (out += s), err: (s) => void (err += s), isTTY, columns: 100 });
  return { print, get out() { return out; }, get err() { return err; } };
}

describe('progress printer', () => {
  it('on a TTY redraws one bar in place, then replaces it by the step line', () => {
    const c = capture(true);
    c.print({ type: 'step-start', stepId: 'train', use: 'train', index: 0, total: 2 });
    c.print({ type: 'step-progress', stepId: 'train', done: 5, total: 10, label: 'loss 0.5' });
    c.print({ type: 'step-done', stepId: 'train', use: 'train', cached: false, seconds: 1.25, artefacts: { accuracy: 0.875, note: { big: 1 } } });
    expect(c.out).toContain('\r\x1b[2K  train [###############...............]  50% loss 0.5 5/10');
    expect(c.out.endsWith('\r\x1b[2K  done    train              1.3 s  accuracy=0.8750\n')).toBe(true);
  });

  it('without a TTY prints plain lines every 25 %, and warnings on stderr', () => {
    const c = capture(false);
    for (let i = 1; i <= 20; i++) c.print({ type: 'step-progress', stepId: 'evaluate', done: i, total: 20 });
    c.print({ type: 'log', level: 'warn', message: 'Fashion-MNIST is not installed', stepId: 'train' });
    expect(c.out.split('\n').filter(Boolean)).toEqual([
      '    evaluate: 5% (1/20)',
      '    evaluate: 30% (6/20)',
      '    evaluate: 55% (11/20)',
      '    evaluate: 80% (16/20)',
      '    evaluate: 100% (20/20)',
    ]);
    expect(c.out).not.toContain('\r');
    expect(c.err).toBe('  warning (train): Fashion-MNIST is not installed\n');
  });

  it('summarises scalar artefacts only', () => {
    expect(artefactSummary({ a: 1, b: 0.123456, c: 'short', d: 'x'.repeat(40), e: [1], f: true })).toBe('a=1  b=0.1235  c=short  f=true');
  });
});
