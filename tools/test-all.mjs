#!/usr/bin/env node
// `pnpm test`: every project's `test` target through nx, one at a time (2-core machines), with
// nx's output streamed, then one summary line per outcome and nx's exit code.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';

const nxBin = createRequire(import.meta.url).resolve('nx/bin/nx.js');
const args = ['run-many', '-t', 'test', '--parallel=1', '--outputStyle=stream', ...process.argv.slice(2)];
const started = Date.now();
const child = spawn(process.execPath, [nxBin, ...args], { stdio: ['inherit', 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: process.env.FORCE_COLOR ?? '0' } });

const ran = new Set();
const failed = new Set();
let inFailedList = false;
// vitest's per-project "Tests  3 failed | 40 passed (43)" lines, summed for one closing count.
let testsPassed = 0;
let testsFailed = 0;
// nx writes its task summary to stderr and vitest's counts to stdout: read both, line by line.
const onOutput = (sink) => {
  let buffered = '';
  return (chunk) => {
    sink.write(chunk);
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const raw of lines) scan(raw);
  };
};

function scan(raw) {
  const line = raw.replace(/\x1b\[[0-9;]*m/g, '');
  const counts = /^(?:\S+:)?\s*Tests\s+(.*)\(\d+\)\s*$/.exec(line);
  if (counts) {
    testsPassed += Number(/(\d+) passed/.exec(counts[1])?.[1] ?? 0);
    testsFailed += Number(/(\d+) failed/.exec(counts[1])?.[1] ?? 0);
  }
  const run = /^> nx run (\S+):test/.exec(line);
  if (run) ran.add(run[1]);
  if (/^Failed tasks:/.test(line.trim())) inFailedList = true;
  else if (inFailedList) {
    const f = /^- (\S+):test/.exec(line.trim());
    if (f) failed.add(f[1]);
    else if (line.trim() !== '') inFailedList = false;
  }
}
child.stdout.on('data', onOutput(process.stdout));
child.stderr.on('data', onOutput(process.stderr));

child.on('close', (code) => {
  const secs = Math.round((Date.now() - started) / 1000);
  const passed = [...ran].filter((p) => !failed.has(p));
  const bar = '='.repeat(72);
  process.stdout.write(`\n${bar}\n`);
  if (code === 0) {
    process.stdout.write(`PASS: all ${ran.size} projects passed their tests (${secs} s)\n`);
  } else {
    process.stdout.write(`FAIL: ${failed.size || 'some'} of ${ran.size} projects failed their tests (${secs} s)\n`);
    for (const f of failed) process.stdout.write(`  ✖ ${f}\n`);
    process.stdout.write(`  ✔ ${passed.length} passed${passed.length ? `: ${passed.join(', ')}` : ''}\n`);
  }
  process.stdout.write(`tests: ${testsPassed} passed, ${testsFailed} failed\n`);
  process.stdout.write(`${bar}\n`);
  process.exit(code ?? 1);
});
