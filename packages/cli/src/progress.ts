/**
 * Prints a run's events. On a TTY the running step gets a bar redrawn in place; elsewhere (CI,
 * pipes, tests) progress is printed as plain lines at most every 25 %, so logs stay short.
 */
import type { RunEvent } from '@tessera/pipeline';

export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** Whether stdout is an interactive terminal (enables the redrawn bar). */
  isTTY: boolean;
  columns?: number;
}

function fmtValue(v: unknown): string | undefined {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toPrecision(4);
  if (typeof v === 'string' && v.length <= 24) return v;
  if (typeof v === 'boolean') return String(v);
  return undefined;
}

/** The scalar artefacts of a step as `key=value` pairs, shortened to fit a line. */
export function artefactSummary(a: Record<string, unknown>, max = 6): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(a)) {
    const s = fmtValue(v);
    if (s !== undefined) parts.push(`${k}=${s}`);
    if (parts.length >= max) break;
  }
  return parts.join('  ');
}

export function progressPrinter(io: Io, opts: { quiet?: boolean } = {}): (e: RunEvent) => void {
  let barShown = false;
  let lastPct = new Map<string, number>();
  // Without a TTY, progress is printed every 25 % so that CI logs stay short.
  let total = 0;
  const clearBar = () => {
    if (barShown) {
      io.out('\r\x1b[2K');
      barShown = false;
    }
  };
  const line = (s: string) => {
    clearBar();
    io.out(`${s}\n`);
  };
  return (e) => {
    switch (e.type) {
      case 'run-start':
        total = e.steps.length;
        lastPct = new Map();
        if (!opts.quiet) line(`tessera: running '${e.name}' (${total} steps) -> ${e.outDir}`);
        break;
      case 'model':
        if (!opts.quiet) line(`  model   ${e.source}: ${e.summary.nodes} nodes, ${e.summary.params} parameters (${e.seconds.toFixed(1)} s)`);
        break;
      case 'step-start':
        if (!opts.quiet && io.isTTY) {
          io.out(`\r\x1b[2K  [${e.index + 1}/${e.total}] ${e.stepId} ...`);
          barShown = true;
        }
        break;
      case 'step-progress': {
        if (opts.quiet) break;
        const frac = e.total > 0 ? Math.min(1, e.done / e.total) : 0;
        const pct = Math.floor(frac * 100);
        if (io.isTTY) {
          const width = Math.max(10, Math.min(30, (io.columns ?? 80) - 50));
          const filled = Math.round(frac * width);
          io.out(`\r\x1b[2K  ${e.stepId} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(pct).padStart(3)}% ${e.label ?? ''} ${e.done}/${e.total}`);
          barShown = true;
        } else {
          const prev = lastPct.get(e.stepId) ?? -25;
          if (pct >= prev + 25 || (e.done === e.total && prev < 100)) {
            lastPct.set(e.stepId, pct);
            line(`    ${e.stepId}: ${pct}% (${e.done}/${e.total}${e.label ? ` ${e.label}` : ''})`);
          }
        }
        break;
      }
      case 'step-done':
        if (!opts.quiet) line(`  ${e.cached ? 'cached' : 'done  '}  ${e.stepId.padEnd(18)} ${e.cached ? '' : `${e.seconds.toFixed(1)} s  `}${artefactSummary(e.artefacts)}`);
        break;
      case 'log':
        if (e.level === 'warn') {
          clearBar();
          io.err(`  warning${e.stepId ? ` (${e.stepId})` : ''}: ${e.message}\n`);
        } else if (e.level === 'info' && !opts.quiet) line(`    ${e.stepId ? `${e.stepId}: ` : ''}${e.message}`);
        break;
      case 'run-done':
        line(`tessera: ${e.status} in ${e.seconds.toFixed(1)} s; report: ${e.outDir}/report.html`);
        break;
    }
  };
}
