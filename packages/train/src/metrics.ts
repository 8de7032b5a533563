import type { Tensor } from '@tessera/core';

// Metrics over logits [N, C] (or [N, C, ...] for dense tasks) and integer labels [N] ([N, ...]).

function rows(logits: Tensor): { n: number; c: number; get: (i: number, k: number) => number } {
  if (logits.rank !== 2) throw new Error(`metrics: logits must be [N, C], got [${logits.shape.join(', ')}]`);
  const [n, c] = logits.shape as [number, number];
  const d = logits.data as Float32Array;
  return { n, c, get: (i, k) => d[i * c + k]! };
}

function label(labels: Tensor, i: number): number {
  return labels.getFlat(i);
}

function logSoftmaxRow(get: (k: number) => number, c: number): Float64Array {
  let m = -Infinity;
  for (let k = 0; k < c; k++) m = Math.max(m, get(k));
  let s = 0;
  for (let k = 0; k < c; k++) s += Math.exp(get(k) - m);
  const ls = Math.log(s) + m;
  const out = new Float64Array(c);
  for (let k = 0; k < c; k++) out[k] = get(k) - ls;
  return out;
}

export function argmax(logits: Tensor): Int32Array {
  const { n, c, get } = rows(logits);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let k = 1; k < c; k++) if (get(i, k) > get(i, best)) best = k;
    out[i] = best;
  }
  return out;
}

/** Fraction of rows whose argmax equals the label. */
export function accuracy(logits: Tensor, labels: Tensor): number {
  const p = argmax(logits);
  let ok = 0;
  for (let i = 0; i < p.length; i++) if (p[i] === label(labels, i)) ok++;
  return ok / p.length;
}

/** Mean negative log-likelihood (natural log) of the labels under softmax(logits). */
export function nll(logits: Tensor, labels: Tensor): number {
  const { n, c, get } = rows(logits);
  let s = 0;
  for (let i = 0; i < n; i++) s -= logSoftmaxRow((k) => get(i, k), c)[label(labels, i)]!;
  return s / n;
}

/** exp(mean NLL): perplexity of next-token logits flattened to [N·T, V]. */
export function perplexity(logits: Tensor, labels: Tensor): number {
  return Math.exp(nll(logits, labels));
}

/** Expected calibration error with equal-width confidence bins (15 by default). */
export function ece(logits: Tensor, labels: Tensor, bins = 15): number {
  const { n, c, get } = rows(logits);
  const conf = new Float64Array(bins);
  const acc = new Float64Array(bins);
  const cnt = new Float64Array(bins);
  for (let i = 0; i < n; i++) {
    const lp = logSoftmaxRow((k) => get(i, k), c);
    let best = 0;
    for (let k = 1; k < c; k++) if (lp[k]! > lp[best]!) best = k;
    const p = Math.exp(lp[best]!);
    const bin = Math.min(bins - 1, Math.floor(p * bins));
    conf[bin]! += p;
    acc[bin]! += best === label(labels, i) ? 1 : 0;
    cnt[bin]! += 1;
  }
  let e = 0;
  for (let k = 0; k < bins; k++) if (cnt[k]) e += (cnt[k]! / n) * Math.abs(acc[k]! / cnt[k]! - conf[k]! / cnt[k]!);
  return e;
}

/** Matthews correlation coefficient; multi-class (Gorodkin's R_K) when more than two classes. */
export function matthews(pred: ArrayLike<number>, labels: ArrayLike<number>, classes?: number): number {
  const k = classes ?? Math.max(...Array.from(pred), ...Array.from(labels)) + 1;
  const cm = Array.from({ length: k }, () => new Float64Array(k));
  for (let i = 0; i < pred.length; i++) cm[labels[i]!]![pred[i]!]! += 1;
  const t = new Float64Array(k);
  const p = new Float64Array(k);
  let correct = 0;
  let s = 0;
  for (let a = 0; a < k; a++) for (let b2 = 0; b2 < k; b2++) {
    t[a]! += cm[a]![b2]!;
    p[b2]! += cm[a]![b2]!;
    s += cm[a]![b2]!;
  }
  for (let a = 0; a < k; a++) correct += cm[a]![a]!;
  let tp = 0;
  let tt = 0;
  let pp = 0;
  for (let a = 0; a < k; a++) {
    tp += t[a]! * p[a]!;
    tt += t[a]! * t[a]!;
    pp += p[a]! * p[a]!;
  }
  const den = Math.sqrt((s * s - pp) * (s * s - tt));
  return den === 0 ? 0 : (correct * s - tp) / den;
}

/** Mean intersection-over-union over classes present in labels or predictions. */
export function meanIoU(pred: ArrayLike<number>, labels: ArrayLike<number>, classes: number, ignoreIndex = -1): number {
  const inter = new Float64Array(classes);
  const uni = new Float64Array(classes);
  for (let i = 0; i < pred.length; i++) {
    const l = labels[i]!;
    if (l === ignoreIndex) continue;
    const q = pred[i]!;
    if (q === l) { inter[l]! += 1; uni[l]! += 1; } else { uni[l]! += 1; uni[q]! += 1; }
  }
  let s = 0;
  let m = 0;
  for (let k = 0; k < classes; k++) if (uni[k]) { s += inter[k]! / uni[k]!; m++; }
  return m ? s / m : 0;
}

/** Argmax over axis 1 of [N, C, ...] logits, flattened to N·(...) predictions (for mIoU). */
export function denseArgmax(logits: Tensor): Int32Array {
  const [n, c] = logits.shape as [number, number];
  const inner = logits.size / (n * c);
  const d = logits.data as Float32Array;
  const out = new Int32Array(n * inner);
  for (let i = 0; i < n; i++) for (let j = 0; j < inner; j++) {
    let best = 0;
    for (let k = 1; k < c; k++) if (d[(i * c + k) * inner + j]! > d[(i * c + best) * inner + j]!) best = k;
    out[i * inner + j] = best;
  }
  return out;
}
