/**
 * The run report: `report.json` (everything a script needs: config, plugin versions, per-step
 * options, cache keys, artefacts) and `report.html` (the same, readable, with SVG plots inlined).
 * The HTML is rendered from the JSON alone, so `tessera report <run-dir>` can redraw it.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PipelineConfig } from './config.js';
import { barChart, scatterChart, type Row } from './plots.js';

export interface GraphSummary {
  nodes: number;
  /** Elements in floating-point initializers. */
  params: number;
  /** Storage of the parameters at their number formats' widths. */
  sizeBytes: number;
  ops: Record<string, number>;
}

export interface StepReport {
  id: string;
  use: string;
  kind: 'pass' | 'procedure';
  /** `name@version` of the plugin that contributed the step. */
  plugin: string;
  options: Record<string, unknown>;
  cacheKey: string;
  cached: boolean;
  /** Wall time of this run (loading, when cached). */
  seconds: number;
  /** Wall time when the step actually ran. */
  ranSeconds: number;
  graphHash: string | null;
  /** Summary of the graph after the step, when it produced one. */
  graph: GraphSummary | null;
  artefacts: Record<string, unknown>;
  /** Plot files relative to the run directory. */
  plots: string[];
}

export interface RunReport {
  tessera: { coreApi: string };
  name: string;
  description: string;
  status: 'complete' | 'cancelled' | 'failed';
  error?: string;
  seed: number;
  config: PipelineConfig;
  plugins: { name: string; version: string }[];
  model: { source: string; summary: GraphSummary | null };
  steps: StepReport[];
  outputs: { onnx?: string; report?: string; html?: string };
}

async function writeAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}

export async function writeReport(outDir: string, report: RunReport): Promise<{ json: string; html: string }> {
  const json = join(outDir, 'report.json');
  const html = join(outDir, 'report.html');
  report.outputs.report = 'report.json';
  report.outputs.html = 'report.html';
  await writeAtomic(json, `${JSON.stringify(report, null, 2)}\n`);
  await writeAtomic(html, await renderReportHtml(report, outDir));
  return { json: 'report.json', html: 'report.html' };
}

export async function readReport(runDir: string): Promise<RunReport> {
  const path = join(runDir, 'report.json');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new Error(`${path}: no report here (is ${runDir} a run directory? run a pipeline first)`);
  }
  const r = JSON.parse(text) as RunReport;
  if (!Array.isArray(r.steps) || typeof r.name !== 'string') throw new Error(`${path}: not a Tessera run report`);
  return r;
}

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

function fmt(v: unknown): string {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : Math.abs(v) >= 1e5 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(3) : v.toPrecision(4);
  if (typeof v === 'string') return esc(v);
  if (typeof v === 'boolean' || v === null) return String(v);
  return `<code>${esc(JSON.stringify(v).slice(0, 300))}</code>`;
}

/** Scalar artefacts as a table; nested ones as compact JSON. */
function artefactTable(a: Record<string, unknown>): string {
  const rows = Object.entries(a).map(([k, v]) => `<tr><th>${esc(k)}</th><td>${fmt(v)}</td></tr>`);
  return rows.length ? `<table>${rows.join('')}</table>` : '<p class="muted">no artefacts</p>';
}

/** The numbers compared across steps: every step's scalar accuracy next to the model's size. */
export function accuracyRows(report: RunReport): Row[] {
  const rows: Row[] = [];
  let size = report.model.summary?.sizeBytes ?? null;
  for (const s of report.steps) {
    if (s.graph) size = s.graph.sizeBytes;
    const acc = s.artefacts.accuracy;
    if (typeof acc === 'number') rows.push({ step: s.id, accuracy: acc, sizeKiB: size === null ? null : size / 1024 });
  }
  return rows;
}

export async function renderReportHtml(report: RunReport, runDir: string): Promise<string> {
  const summaryPlots: string[] = [];
  const acc = accuracyRows(report);
  if (acc.length) {
    summaryPlots.push(await barChart(acc, { x: 'step', y: 'accuracy', title: 'Accuracy by step', yTitle: 'accuracy' }));
    if (acc.some((r) => r.sizeKiB !== null)) {
      summaryPlots.push(await scatterChart(acc.filter((r) => r.sizeKiB !== null), { x: 'sizeKiB', y: 'accuracy', label: 'step', title: 'Accuracy vs model size', xTitle: 'parameters (KiB)' }));
    }
  }
  const sections: string[] = [];
  for (const s of report.steps) {
    const svgs: string[] = [];
    for (const p of s.plots) {
      try {
        svgs.push(await readFile(join(runDir, p), 'utf8'));
      } catch {
        svgs.push(`<p class="muted">missing plot ${esc(p)}</p>`);
      }
    }
    const g = s.graph ? `<p class="muted">graph after: ${s.graph.nodes} nodes, ${s.graph.params} parameters, ${(s.graph.sizeBytes / 1024).toFixed(1)} KiB</p>` : '';
    sections.push(`<section><h2>${esc(s.id)} <small>${esc(s.use)} · ${esc(s.plugin)} · ${s.cached ? 'cached' : `${s.ranSeconds.toFixed(1)} s`}</small></h2>
<details><summary>options</summary><pre>${esc(JSON.stringify(s.options, null, 2))}</pre></details>${g}
${artefactTable(s.artefacts)}
<div class="plots">${svgs.join('\n')}</div></section>`);
  }
  const m = report.model.summary;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(report.name)} · Tessera run report</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1 small,h2 small{color:#777;font-weight:normal;font-size:60%}
table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f6f6f6;font-weight:600}code,pre{font-size:12px}.muted{color:#777}.plots svg{margin:6px 12px 6px 0;max-width:100%;height:auto}
section{border-top:1px solid #eee;margin-top:1.5em}.status-failed{color:#b00}.status-cancelled{color:#a60}
</style></head><body>
<h1>${esc(report.name)} <small class="status-${report.status}">${report.status}</small></h1>
${report.description ? `<p>${esc(report.description)}</p>` : ''}
${report.error ? `<p class="status-failed">${esc(report.error)}</p>` : ''}
<table><tr><th>seed</th><td>${report.seed}</td></tr>
<tr><th>model</th><td>${esc(report.model.source)}${m ? ` · ${m.nodes} nodes, ${m.params} parameters, ${(m.sizeBytes / 1024).toFixed(1)} KiB` : ''}</td></tr>
<tr><th>plugins</th><td>${report.plugins.map((p) => `${esc(p.name)}@${esc(p.version)}`).join(', ')}</td></tr>
<tr><th>targets</th><td>${report.config.targets.map(esc).join(', ') || '—'}</td></tr>
<tr><th>outputs</th><td>${report.outputs.onnx ? `<a href="${esc(report.outputs.onnx)}">${esc(report.outputs.onnx)}</a>` : '—'}</td></tr></table>
<div class="plots">${summaryPlots.join('\n')}</div>
${sections.join('\n')}
<p class="muted">Tessera core API ${esc(report.tessera.coreApi)} · regenerate with <code>tessera report &lt;run-dir&gt;</code></p>
</body></html>
`;
}
