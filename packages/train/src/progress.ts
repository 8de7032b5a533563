/** Where progress goes: a stream with an optional isTTY flag (process.stderr by default). */
export interface ProgressStream {
  write(s: string): unknown;
  isTTY?: boolean;
}

export interface ProgressOptions {
  stream?: ProgressStream;
  /** Print nothing (default: when env CI is set). */
  quiet?: boolean;
  label?: string;
}

/**
 * A progress display for long runs: on a TTY one line rewritten in place; on other streams a line
 * every 10 %; nothing in CI (env CI set) or when quiet.
 */
export class Progress {
  private readonly stream: ProgressStream;
  private readonly quiet: boolean;
  private lastDecile = -1;
  private readonly started = Date.now();

  constructor(readonly total: number, opts: ProgressOptions = {}) {
    this.stream = opts.stream ?? process.stderr;
    this.quiet = opts.quiet ?? Boolean(process.env.CI);
    this.label = opts.label ?? 'train';
  }

  private readonly label: string;

  update(done: number, info = ''): void {
    if (this.quiet) return;
    const pct = this.total ? Math.min(100, (100 * done) / this.total) : 100;
    const secs = ((Date.now() - this.started) / 1000).toFixed(1);
    const line = `${this.label} ${done}/${this.total} (${pct.toFixed(0)}%) ${secs}s ${info}`.trimEnd();
    if (this.stream.isTTY) {
      this.stream.write(`\r\x1b[2K${line}`);
      return;
    }
    const decile = Math.floor(pct / 10);
    if (decile > this.lastDecile) {
      this.lastDecile = decile;
      this.stream.write(`${line}\n`);
    }
  }

  done(info = ''): void {
    if (this.quiet) return;
    this.update(this.total, info);
    if (this.stream.isTTY) this.stream.write('\n');
  }
}
