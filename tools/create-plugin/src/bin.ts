#!/usr/bin/env -S npx tsx
/** `create-tessera-plugin <name> [--description <text>]`, also reached as `tessera new plugin <name>`. */
import { parseArgs } from 'node:util';
import { createPlugin } from './index.js';

const { values, positionals } = parseArgs({ options: { description: { type: 'string' }, root: { type: 'string' } }, allowPositionals: true });
if (positionals.length !== 1) {
  process.stderr.write('usage: create-tessera-plugin <name> [--description <text>] [--root <workspace>]\n');
  process.exit(2);
}
try {
  const r = await createPlugin({ name: positionals[0]!, root: values.root ?? process.cwd(), description: values.description });
  process.stdout.write(`created ${r.packageName}:\n${r.files.map((f) => `  ${f}\n`).join('')}`);
} catch (e) {
  process.stderr.write(`create-tessera-plugin: ${(e as Error).message}\n`);
  process.exit(2);
}
