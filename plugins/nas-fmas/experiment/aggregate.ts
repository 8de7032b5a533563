/**
 * Mean ± std across seeds of the FMAS experiment: reads results/<objective>/seed<k>/fmas.json
 * (written by `pnpm experiment --seed k`), writes results/summary.json and prints a Markdown table.
 * std is the sample standard deviation (n − 1); a metric that is null in some seed (e.g. "no
 * finalist within 3 points") is averaged over the seeds where it exists and says so (k/n).
 *
 *   cd plugins/nas-fmas && pnpm experiment:aggregate
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '../results');

interface Final { costReduction: number; flopsReduction: number; paramsReduction: number; mIoUDropPoints: number; testMIoU: number; subsetMIoU: number; nonDominated: boolean }
interface Summary {
  costObjective: { name: string; unit: string; estimated: boolean };
  supernet: { parameters: number; flops: number; gap8LatencyUs: number | null; pretrainMs: number; testMIoU: number; subsetMIoU: number; finetunedTestMIoU: number };
  evaluated: number; searchFront: number; finetuned: number; nonDominatedAfterFinetune: number;
  hypervolume: { search: number; final: number };
  kendallTau: number;
  time: { searchMs: number; meanEvalMs: number; meanFinetuneMs: number; savedFraction: number };
  cheapestWithin3Points: Final | null;
  finals: Final[];
  armWallMs: number;
}

const stats = (xs: (number | null | undefined)[]) => {
  const v = xs.filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  const n = v.length;
  const mean = n ? v.reduce((a, b) => a + b, 0) / n : null;
  const std = n > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - mean!) ** 2, 0) / (n - 1)) : null;
  return { mean, std, n, of: xs.length, values: xs.map((x) => (typeof x === 'number' && Number.isFinite(x) ? x : null)) };
};

const out: Record<string, unknown> = {};
const lines: string[] = [];
for (const objective of readdirSync(root).filter((d) => existsSync(join(root, d)) && readdirSync(join(root, d)).some((s) => /^seed\d+$/.test(s))).sort()) {
  const seeds = readdirSync(join(root, objective)).filter((s) => /^seed\d+$/.test(s) && existsSync(join(root, objective, s, 'fmas.json'))).sort();
  const runs = seeds.map((s) => (JSON.parse(readFileSync(join(root, objective, s, 'fmas.json'), 'utf8')) as { summary: Summary }).summary);
  const byCost = (r: Summary) => [...r.finals].sort((a, b) => b.costReduction - a.costReduction);
  const metrics = {
    'supernet test mIoU, pretrained': stats(runs.map((r) => r.supernet.testMIoU)),
    'supernet test mIoU, fine-tuned (reference)': stats(runs.map((r) => r.supernet.finetunedTestMIoU)),
    ...(objective === 'gap8-latency' ? { 'supernet gap8-like latency, us (estimate)': stats(runs.map((r) => r.supernet.gap8LatencyUs)) } : {}),
    'search front size (of evaluated)': stats(runs.map((r) => r.searchFront)),
    'fine-tuned finalists non-dominated on test': stats(runs.map((r) => r.nonDominatedAfterFinetune / r.finetuned)),
    'hypervolume, search (subset, no FT)': stats(runs.map((r) => r.hypervolume.search)),
    'hypervolume, final (test, fine-tuned)': stats(runs.map((r) => r.hypervolume.final)),
    'Kendall tau (subset no-FT vs test fine-tuned)': stats(runs.map((r) => r.kendallTau)),
    'within 3 points: cost reduction of the cheapest': stats(runs.map((r) => r.cheapestWithin3Points?.costReduction ?? null)),
    'within 3 points: FLOPs reduction': stats(runs.map((r) => r.cheapestWithin3Points?.flopsReduction ?? null)),
    'within 3 points: params reduction': stats(runs.map((r) => r.cheapestWithin3Points?.paramsReduction ?? null)),
    'within 3 points: mIoU drop, points': stats(runs.map((r) => r.cheapestWithin3Points?.mIoUDropPoints ?? null)),
    'most expensive finalist: cost reduction': stats(runs.map((r) => byCost(r).at(-1)?.costReduction)),
    'most expensive finalist: mIoU drop, points': stats(runs.map((r) => byCost(r).at(-1)?.mIoUDropPoints)),
    'cheapest finalist: cost reduction': stats(runs.map((r) => byCost(r)[0]?.costReduction)),
    'cheapest finalist: mIoU drop, points': stats(runs.map((r) => byCost(r)[0]?.mIoUDropPoints)),
    'search time, s': stats(runs.map((r) => r.time.searchMs / 1000)),
    'mean evaluation per candidate on a worker, ms': stats(runs.map((r) => r.time.meanEvalMs)),
    'fine-tune time per candidate, s': stats(runs.map((r) => r.time.meanFinetuneMs / 1000)),
    'time saved vs fine-tuning every candidate (estimate)': stats(runs.map((r) => r.time.savedFraction)),
    'arm wall time, s': stats(runs.map((r) => r.armWallMs / 1000)),
  };
  out[objective] = { seeds, costObjective: runs[0]?.costObjective, metrics };
  lines.push(`\n### ${objective} (${runs[0]?.costObjective.name}; seeds ${seeds.map((s) => s.slice(4)).join(', ')})\n`, '| metric | mean ± std | per seed |', '|---|---:|---|');
  const f = (x: number | null) => (x === null ? '—' : Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(3));
  for (const [name, s] of Object.entries(metrics)) {
    lines.push(`| ${name} | ${f(s.mean)} ± ${f(s.std)}${s.n < s.of ? ` (${s.n}/${s.of} seeds)` : ''} | ${s.values.map(f).join(', ')} |`);
  }
}
writeFileSync(join(root, 'summary.json'), `${JSON.stringify({ note: 'mean and sample std (n − 1) across seeds; values: per seed in seed order, null where the metric does not exist', ...out }, null, 1)}\n`);
process.stdout.write(`${lines.join('\n')}\n`);
