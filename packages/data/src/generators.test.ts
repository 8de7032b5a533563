import { describe, expect, it } from 'vitest';
import { classCounts } from './dataset.js';
import { pointCloudScenes } from './point-clouds.js';
import { segmentationScenes } from './segmentation.js';
import { IGNORE_INDEX, sequenceTask } from './sequences.js';
import { acceptabilityTask, CLS_ID, grammarCorpus, languageModelDataset, ngramPerplexity, Tokenizer } from './text.js';

/** Byte equality of two typed arrays (toEqual on large typed arrays is slow). */
const same = (a: ArrayBufferView, b: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
const shares = (counts: number[]) => { const t = counts.reduce((a, b) => a + b, 0); return counts.map((c) => c / t); };

describe('segmentationScenes', () => {
  const ds = segmentationScenes({ n: 120, size: 32, classes: 5, seed: 11 });

  it('labels every pixel; background is the majority but not overwhelming; shape classes are balanced', () => {
    expect(ds.x.shape).toEqual([120, 3, 32, 32]);
    expect(ds.y.shape).toEqual([120, 32, 32]);
    const s = shares(classCounts(ds));
    expect(s[0]).toBeGreaterThan(0.5);
    expect(s[0]).toBeLessThan(0.75);
    for (const c of s.slice(1)) {
      expect(c).toBeGreaterThan(0.05);
      expect(c).toBeLessThan(0.15);
    }
    const x = ds.x.data as Float32Array;
    expect(x.every((v) => v >= 0 && v <= 1)).toBe(true);
  });

  it('reproduces from its seed and differs across seeds', () => {
    const again = segmentationScenes({ n: 120, size: 32, classes: 5, seed: 11 });
    expect(same(again.x.data as Float32Array, ds.x.data as Float32Array)).toBe(true);
    expect(same(again.y.data as BigInt64Array, ds.y.data as BigInt64Array)).toBe(true);
    expect(same(segmentationScenes({ n: 5, seed: 12 }).y.data as BigInt64Array, segmentationScenes({ n: 5, seed: 11 }).y.data as BigInt64Array)).toBe(false);
  });

  it('names the field on a bad class count', () => {
    expect(() => segmentationScenes({ n: 1, classes: 9, seed: 0 })).toThrow('segmentationScenes: classes = 9, expected 2..6');
  });
});

describe('pointCloudScenes', () => {
  it('makes scenes with per-point labels: ground majority, every object class present, seeded', () => {
    const ds = pointCloudScenes({ n: 30, points: 1024, seed: 4 });
    expect(ds.x.shape).toEqual([30, 1024, 3]);
    expect(ds.y.shape).toEqual([30, 1024]);
    const s = shares(classCounts(ds));
    expect(s[0]).toBeGreaterThan(0.4);
    expect(s[0]).toBeLessThan(0.8);
    for (const c of s.slice(1)) expect(c).toBeGreaterThan(0.05);
    // Object points stand above the ground, ground points near z = tilt (small).
    const x = ds.x.data as Float32Array;
    const y = ds.y.data as BigInt64Array;
    let groundZ = 0, objZ = 0, ng = 0, no = 0;
    for (let i = 0; i < y.length; i++) if (y[i] === 0n) { groundZ += Math.abs(x[3 * i + 2]!); ng++; } else { objZ += x[3 * i + 2]!; no++; }
    expect(groundZ / ng).toBeLessThan(0.1);
    expect(objZ / no).toBeGreaterThan(0.15);
    expect(same(pointCloudScenes({ n: 30, points: 1024, seed: 4 }).x.data as Float32Array, x)).toBe(true);
  });
});

describe('sequenceTask', () => {
  it('aligned copy / reverse / sort targets are what the task says', () => {
    for (const task of ['copy', 'reverse', 'sort'] as const) {
      const ds = sequenceTask({ task, n: 50, length: 6, vocab: 7, seed: 2 });
      for (let i = 0; i < 50; i++) {
        const inp = [...ds.x.data.slice(i * 6, i * 6 + 6)].map(Number);
        const out = [...ds.y.data.slice(i * 6, i * 6 + 6)].map(Number);
        const want = task === 'copy' ? inp : task === 'reverse' ? [...inp].reverse() : [...inp].sort((a, b) => a - b);
        expect(out).toEqual(want);
      }
      // Symbols are used evenly (class balance within 30 % of uniform).
      for (const c of classCounts(ds)) expect(Math.abs(c - 300 / 7)).toBeLessThan(0.3 * (300 / 7));
    }
  });

  it('causal layout: input, SEP, shifted target; loss only where the target is predicted', () => {
    const ds = sequenceTask({ task: 'reverse', n: 3, length: 4, vocab: 5, layout: 'causal', seed: 9 });
    const x = [...ds.x.data.slice(0, 8)].map(Number);
    const y = [...ds.y.data.slice(0, 8)].map(Number);
    const rev = x.slice(0, 4).reverse();
    expect(x[4]).toBe(5);
    expect(x.slice(5)).toEqual(rev.slice(0, 3));
    expect(y).toEqual([IGNORE_INDEX, IGNORE_INDEX, IGNORE_INDEX, IGNORE_INDEX, ...rev]);
  });
});

describe('grammar text corpus and tokenizers', () => {
  const corpus = grammarCorpus({ trainChars: 60_000, searchChars: 5_000, testChars: 10_000, seed: 1 });
  const tok = Tokenizer.chars(corpus.train);

  it('is reproducible, with independent streams per split', () => {
    expect(grammarCorpus({ trainChars: 60_000, searchChars: 5_000, testChars: 10_000, seed: 1 }).test).toBe(corpus.test);
    expect(corpus.test.slice(0, 200)).not.toBe(corpus.train.slice(0, 200));
    expect(corpus.train).toHaveLength(60_000);
  });

  it('has learnable structure: a trigram model is far below the unigram perplexity', () => {
    const tr = tok.encode(corpus.train);
    const te = tok.encode(corpus.test);
    const uni = ngramPerplexity(tr, te, { order: 1, vocabSize: tok.size });
    const tri = ngramPerplexity(tr, te, { order: 3, vocabSize: tok.size, alpha: 0.01 });
    expect(uni).toBeGreaterThan(15);
    expect(tri).toBeLessThan(uni / 5);
  });

  it('tokenizers round-trip, and LM windows shift by one', () => {
    const text = corpus.test.slice(0, 300);
    expect(tok.decode(tok.encode(text))).toBe(text);
    const words = Tokenizer.words(corpus.train);
    expect(words.decode(words.encode('The cat sleeps.'))).toBe('the cat sleeps.');
    const lm = languageModelDataset(tok.encode(text), { context: 32, vocab: tok.vocab, source: corpus.source });
    expect(lm.x.shape).toEqual([9, 32]);
    expect(lm.x.getFlat(33)).toBe(lm.y.getFlat(32));
  });

  it('acceptability task is balanced and starts every row with <cls>', () => {
    const { dataset } = acceptabilityTask({ n: 200, seed: 5 });
    expect(classCounts(dataset)).toEqual([100, 100]);
    for (let i = 0; i < 200; i++) expect(dataset.x.getFlat(i * 24)).toBe(CLS_ID);
  });
});
