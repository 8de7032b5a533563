#!/usr/bin/env -S npx tsx
/** `check-plugins [root]`: prints one line per convention problem; exit 1 when there are any. */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkAllPlugins } from './index.js';

const root = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '../../..'));
const results = checkAllPlugins(root);
const problems = results.flatMap((r) => r.problems);
for (const p of problems) process.stderr.write(`${p}\n`);
process.stdout.write(
  problems.length
    ? `check-plugins: ${problems.length} problem(s) in ${results.filter((r) => r.problems.length).length} of ${results.length} plugin(s)\n`
    : `check-plugins: ${results.length} plugin(s) follow the conventions${results.length ? ` (${results.map((r) => r.plugin).join(', ')})` : ''}\n`,
);
process.exitCode = problems.length ? 1 : 0;
