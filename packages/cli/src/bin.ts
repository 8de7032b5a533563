#!/usr/bin/env -S npx tsx
/** The `tessera` executable: wires process I/O, Ctrl-C and the exit code to main(). */
import { main } from './main.js';

const ac = new AbortController();
let interrupts = 0;
process.on('SIGINT', () => {
  if (++interrupts > 1) process.exit(130);
  process.stderr.write('\ntessera: stopping after the running step (finished steps stay cached); Ctrl-C again to quit now\n');
  ac.abort();
});

const code = await main(
  process.argv.slice(2),
  { out: (s) => void process.stdout.write(s), err: (s) => void process.stderr.write(s), isTTY: Boolean(process.stdout.isTTY), columns: process.stdout.columns },
  ac.signal,
);
// Exit explicitly: onnxruntime may keep handles open after the run is done.
process.stdout.write('', () => process.exit(code));
