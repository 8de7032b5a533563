import { Rng, Tensor } from '@tessera/core';
import type { Dataset, DatasetSource } from './dataset.js';

/**
 * A tiny English-like grammar written for this project: subject-verb agreement, tense held over a
 * sentence, optional adjectives, prepositional phrases, adverbs and subordinate clauses. Word
 * choices follow Zipf-like weights. Its structure (spelling, agreement, word order) is what a
 * small language model can learn; its randomness (word choice) is what keeps perplexity above 1.
 */
const LEXICON = {
  detSg: ['the', 'a', 'every', 'this', 'one'],
  detPl: ['the', 'some', 'many', 'these', 'two', 'all'],
  nouns: [
    ['cat', 'cats'], ['dog', 'dogs'], ['bird', 'birds'], ['child', 'children'], ['farmer', 'farmers'],
    ['teacher', 'teachers'], ['king', 'kings'], ['student', 'students'], ['baker', 'bakers'], ['fox', 'foxes'],
    ['horse', 'horses'], ['sailor', 'sailors'], ['queen', 'queens'], ['mouse', 'mice'], ['doctor', 'doctors'],
  ],
  objects: [
    ['river', 'rivers'], ['garden', 'gardens'], ['ship', 'ships'], ['village', 'villages'], ['window', 'windows'],
    ['book', 'books'], ['letter', 'letters'], ['apple', 'apples'], ['tree', 'trees'], ['bridge', 'bridges'],
    ['box', 'boxes'], ['song', 'songs'], ['door', 'doors'], ['road', 'roads'],
  ],
  names: ['anna', 'boris', 'clara', 'david', 'emil', 'frida'],
  adjectives: ['big', 'small', 'old', 'young', 'red', 'green', 'quiet', 'happy', 'tired', 'clever', 'dark', 'bright'],
  // [3rd singular present, plural present, past]
  transitive: [
    ['sees', 'see', 'saw'], ['likes', 'like', 'liked'], ['finds', 'find', 'found'], ['follows', 'follow', 'followed'],
    ['watches', 'watch', 'watched'], ['carries', 'carry', 'carried'], ['reads', 'read', 'read'], ['paints', 'paint', 'painted'],
    ['opens', 'open', 'opened'], ['remembers', 'remember', 'remembered'],
  ],
  intransitive: [
    ['sleeps', 'sleep', 'slept'], ['runs', 'run', 'ran'], ['sings', 'sing', 'sang'], ['waits', 'wait', 'waited'],
    ['laughs', 'laugh', 'laughed'], ['walks', 'walk', 'walked'], ['dances', 'dance', 'danced'],
  ],
  prepositions: ['near', 'under', 'behind', 'with', 'beside', 'across', 'into'],
  adverbs: ['slowly', 'quickly', 'quietly', 'today', 'again', 'often'],
  conjunctions: ['and', 'because', 'while', 'but', 'so'],
} as const;

/** Zipf-like pick: item k has weight 1 / (k + 1.5). */
function pick<T>(rng: Rng, items: readonly T[]): T {
  let total = 0;
  for (let k = 0; k < items.length; k++) total += 1 / (k + 1.5);
  let u = rng.uniform() * total;
  for (let k = 0; k < items.length; k++) {
    u -= 1 / (k + 1.5);
    if (u <= 0) return items[k]!;
  }
  return items[items.length - 1]!;
}

interface Agreement { plural: boolean; tense: 0 | 1 }

function nounPhrase(rng: Rng, kind: 'nouns' | 'objects', plural: boolean): string[] {
  if (kind === 'nouns' && !plural && rng.uniform() < 0.15) return [pick(rng, LEXICON.names)];
  const det = pick(rng, plural ? LEXICON.detPl : LEXICON.detSg);
  const words = [det === 'a' ? 'a' : det];
  if (rng.uniform() < 0.4) words.push(pick(rng, LEXICON.adjectives));
  words.push(pick<readonly [string, string]>(rng, LEXICON[kind])[plural ? 1 : 0]);
  // 'a' before a vowel becomes 'an': a spelling rule the model can learn.
  if (words[0] === 'a' && /^[aeiou]/.test(words[1]!)) words[0] = 'an';
  return words;
}

function verbForm(forms: readonly [string, string, string], a: Agreement): string {
  return a.tense === 1 ? forms[2] : a.plural ? forms[1] : forms[0];
}

function clause(rng: Rng, tense: 0 | 1): string[] {
  const a: Agreement = { plural: rng.uniform() < 0.4, tense };
  const words = nounPhrase(rng, 'nouns', a.plural);
  if (words.length === 1) a.plural = false;
  if (rng.uniform() < 0.6) {
    words.push(verbForm(pick(rng, LEXICON.transitive), a));
    words.push(...nounPhrase(rng, rng.uniform() < 0.75 ? 'objects' : 'nouns', rng.uniform() < 0.4));
  } else {
    words.push(verbForm(pick(rng, LEXICON.intransitive), a));
  }
  if (rng.uniform() < 0.3) words.push(pick(rng, LEXICON.prepositions), ...nounPhrase(rng, 'objects', rng.uniform() < 0.4));
  if (rng.uniform() < 0.25) words.push(pick(rng, LEXICON.adverbs));
  return words;
}

/** One sentence: a clause, optionally joined to a second one in the same tense, capitalised, with a full stop. */
export function grammarSentence(rng: Rng): string {
  const tense: 0 | 1 = rng.uniform() < 0.6 ? 0 : 1;
  const words = clause(rng, tense);
  if (rng.uniform() < 0.3) words.push(pick(rng, LEXICON.conjunctions), ...clause(rng, tense));
  const s = words.join(' ');
  return `${s[0]!.toUpperCase()}${s.slice(1)}.`;
}

/** About `chars` characters of grammar text; a newline after every 4 to 7 sentences. */
export function grammarText(chars: number, seed: number): string {
  const rng = new Rng(seed);
  const parts: string[] = [];
  let length = 0;
  let inParagraph = 0;
  let paragraph = 4 + rng.int(4);
  while (length < chars) {
    const s = grammarSentence(rng);
    const sep = ++inParagraph >= paragraph ? '\n' : ' ';
    if (sep === '\n') { inParagraph = 0; paragraph = 4 + rng.int(4); }
    parts.push(s, sep);
    length += s.length + 1;
  }
  return parts.join('').slice(0, chars);
}

export interface TextCorpus {
  name: string;
  /** Disjoint streams (independent seeds) of the same source. */
  train: string;
  search: string;
  test: string;
  source: DatasetSource;
}

export interface GrammarCorpusOptions {
  trainChars?: number;
  searchChars?: number;
  testChars?: number;
  seed: number;
}

/** The project's character-level corpus: three independent streams of grammar text. */
export function grammarCorpus(opts: GrammarCorpusOptions): TextCorpus {
  const rng = new Rng(opts.seed);
  return {
    name: `grammar-text/seed${opts.seed}`,
    train: grammarText(opts.trainChars ?? 200_000, rng.fork(1).nextU32()),
    search: grammarText(opts.searchChars ?? 20_000, rng.fork(2).nextU32()),
    test: grammarText(opts.testChars ?? 20_000, rng.fork(3).nextU32()),
    source: { description: `generated by @tessera/data grammarCorpus (a hand-written English-like grammar, seed ${opts.seed})`, licence: 'generated (Apache-2.0, this project)' },
  };
}

/** Special tokens at ids 0..4 of every tokenizer here. */
export const SPECIAL_TOKENS = ['<pad>', '<unk>', '<cls>', '<sep>', '<mask>'] as const;
export const PAD_ID = 0;
export const UNK_ID = 1;
export const CLS_ID = 2;
export const SEP_ID = 3;
export const MASK_ID = 4;

/** A vocabulary with the special tokens first; characters or words after them. */
export class Tokenizer {
  private readonly ids: Map<string, number>;

  constructor(readonly vocab: readonly string[], readonly unit: 'char' | 'word') {
    this.ids = new Map(vocab.map((t, i) => [t, i]));
  }

  /** A character tokenizer over the characters of `text` (sorted). */
  static chars(text: string): Tokenizer {
    return new Tokenizer([...SPECIAL_TOKENS, ...[...new Set(text)].sort()], 'char');
  }

  /** A word tokenizer over the words and punctuation marks of `text` (sorted). */
  static words(text: string): Tokenizer {
    return new Tokenizer([...SPECIAL_TOKENS, ...[...new Set(splitWords(text))].sort()], 'word');
  }

  get size(): number {
    return this.vocab.length;
  }

  id(token: string): number {
    return this.ids.get(token) ?? UNK_ID;
  }

  encode(text: string): Int32Array {
    const toks = this.unit === 'char' ? [...text] : splitWords(text);
    return Int32Array.from(toks, (t) => this.id(t));
  }

  decode(ids: ArrayLike<number>): string {
    const toks = Array.from(ids, (i) => this.vocab[i] ?? SPECIAL_TOKENS[UNK_ID]);
    return this.unit === 'char' ? toks.join('') : toks.join(' ').replace(/ ([.,])/g, '$1');
  }
}

function splitWords(text: string): string[] {
  return text.toLowerCase().match(/[a-z]+|[.,]/g) ?? [];
}

/**
 * Next-token prediction windows over a token stream: x [N, T] and y [N, T] int64 with
 * y[n, t] = stream[start_n + t + 1]. Windows start every `stride` tokens (default T, no overlap).
 */
export function languageModelDataset(ids: ArrayLike<number>, opts: { context: number; stride?: number; name?: string; vocab: readonly string[]; source: DatasetSource }): Dataset {
  const T = opts.context;
  const stride = opts.stride ?? T;
  const n = ids.length > T ? Math.floor((ids.length - T - 1) / stride) + 1 : 0;
  const x = new BigInt64Array(n * T);
  const y = new BigInt64Array(n * T);
  for (let i = 0; i < n; i++) {
    for (let t = 0; t < T; t++) {
      x[i * T + t] = BigInt(ids[i * stride + t]!);
      y[i * T + t] = BigInt(ids[i * stride + t + 1]!);
    }
  }
  return { name: opts.name ?? `lm/T${T}`, x: new Tensor('int64', [n, T], x), y: new Tensor('int64', [n, T], y), classes: opts.vocab, source: opts.source };
}

/**
 * Perplexity of an add-alpha smoothed n-gram model fitted on `train`, measured on `test` — the
 * baselines a trained language model must beat (order 1 = unigram).
 */
export function ngramPerplexity(train: ArrayLike<number>, test: ArrayLike<number>, opts: { order: number; vocabSize: number; alpha?: number }): number {
  const { order, vocabSize } = opts;
  const alpha = opts.alpha ?? 0.1;
  const ctx = new Map<string, number>();
  const full = new Map<string, number>();
  const key = (s: ArrayLike<number>, end: number, len: number) => {
    let k = '';
    for (let j = end - len; j < end; j++) k += `${s[j]},`;
    return k;
  };
  for (let i = order - 1; i < train.length; i++) {
    const c = key(train, i, order - 1);
    ctx.set(c, (ctx.get(c) ?? 0) + 1);
    const f = c + String(train[i]);
    full.set(f, (full.get(f) ?? 0) + 1);
  }
  let nll = 0;
  let count = 0;
  for (let i = order - 1; i < test.length; i++) {
    const c = key(test, i, order - 1);
    const p = ((full.get(c + String(test[i])) ?? 0) + alpha) / ((ctx.get(c) ?? 0) + alpha * vocabSize);
    nll -= Math.log(p);
    count++;
  }
  return Math.exp(nll / count);
}

export interface AcceptabilityOptions {
  n: number;
  /** Sequence length including the leading <cls> (default 24); longer sentences are regenerated. */
  maxLen?: number;
  seed: number;
}

/**
 * A CoLA-like binary task from the same grammar: label 1 for a grammatical single-clause
 * sentence, 0 for one corrupted by an agreement error, two swapped neighbouring words or a
 * dropped determiner. Balanced. x: int64 [N, maxLen] word ids ([<cls>, words..., <pad>...]).
 */
export function acceptabilityTask(opts: AcceptabilityOptions): { dataset: Dataset; tokenizer: Tokenizer } {
  const maxLen = opts.maxLen ?? 24;
  const rng = new Rng(opts.seed);
  const tokenizer = Tokenizer.words(lexiconText());
  const x = new BigInt64Array(opts.n * maxLen);
  const y = new BigInt64Array(opts.n);
  const verbs = new Map<string, readonly [string, string, string]>();
  for (const f of [...LEXICON.transitive, ...LEXICON.intransitive]) for (const w of f.slice(0, 2)) verbs.set(w, f);
  for (let i = 0; i < opts.n; i++) {
    const good = i % 2 === 0;
    let words: string[];
    for (;;) {
      words = clause(rng, 0);
      if (!good) words = corrupt(rng, words, verbs);
      if (words.length + 2 <= maxLen) break;
    }
    const ids = [CLS_ID, ...words.map((w) => tokenizer.id(w)), tokenizer.id('.')];
    ids.forEach((id, t) => { x[i * maxLen + t] = BigInt(id); });
    y[i] = good ? 1n : 0n;
  }
  const order = rng.permutation(opts.n);
  const xs = new BigInt64Array(x.length);
  const ys = new BigInt64Array(y.length);
  order.forEach((src, dst) => { xs.set(x.subarray(src * maxLen, (src + 1) * maxLen), dst * maxLen); ys[dst] = y[src]!; });
  return {
    dataset: {
      name: `acceptability/seed${opts.seed}`,
      x: new Tensor('int64', [opts.n, maxLen], xs),
      y: new Tensor('int64', [opts.n], ys),
      classes: ['unacceptable', 'acceptable'],
      source: { description: `generated by @tessera/data acceptabilityTask (grammar sentences and corruptions, seed ${opts.seed})`, licence: 'generated (Apache-2.0, this project)' },
    },
    tokenizer,
  };
}

function corrupt(rng: Rng, words: string[], verbs: Map<string, readonly [string, string, string]>): string[] {
  const out = [...words];
  for (;;) {
    const kind = rng.int(3);
    if (kind === 0) {
      const at = out.findIndex((w) => verbs.has(w));
      const forms = verbs.get(out[at]!)!;
      out[at] = out[at] === forms[0] ? forms[1] : forms[0];
      return out;
    }
    if (kind === 1) {
      const at = rng.int(out.length - 1);
      if (out[at] === out[at + 1]) continue;
      [out[at], out[at + 1]] = [out[at + 1]!, out[at]!];
      return out;
    }
    const at = out.findIndex((w, k) => k > 0 && (LEXICON.detSg as readonly string[]).concat(LEXICON.detPl, ['an']).includes(w));
    if (at < 0) continue;
    out.splice(at, 1);
    return out;
  }
}

function lexiconText(): string {
  const all: string[] = ['an'];
  for (const v of Object.values(LEXICON)) for (const e of v) all.push(...(Array.isArray(e) ? e : [e as string]));
  return `${all.join(' ')} .`;
}
