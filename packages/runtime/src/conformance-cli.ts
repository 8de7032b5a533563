import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatReport, MISSING_TESTDATA, ONNX_NODE_TESTS, listCases, runConformance } from './conformance.js';

// Usage: pnpm conformance [--ort-web] [regex]   (writes results/conformance.json next to this package's src/)
// --ort-web adds a fourth path: import -> export -> onnxruntime-web.
const args = process.argv.slice(2);
const web = args.includes('--ort-web');
const pattern = args.find((a) => !a.startsWith('--'));
const filter = pattern ? new RegExp(pattern) : undefined;
if (!listCases(ONNX_NODE_TESTS)) {
  console.error(MISSING_TESTDATA);
  process.exit(1);
}
const report = await runConformance({ filter, paths: ['reference', 'ortOriginal', 'ortRoundTrip', ...(web ? ['ortWebRoundTrip' as const] : [])] });
console.log(formatReport(report));
for (const c of report.referenceFailures) console.log(`reference FAIL ${c.name} (${c.op}): ${c.reference.message}`);
for (const c of report.roundTripRegressions) console.log(`round-trip FAIL ${c.name} (${c.op}): ${c.ortRoundTrip.message}`);
const undeclared = [...new Set(report.cases.flatMap((c) => c.undeclared))].sort();
console.log(`undeclared ops (${undeclared.length}): ${undeclared.join(', ')}`);
const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'results', 'conformance.json');
mkdirSync(dirname(out), { recursive: true });
const { cases, referenceFailures, roundTripRegressions, ...rest } = report;
writeFileSync(out, `${JSON.stringify({
  command: `pnpm --filter @tessera/runtime conformance${web ? ' --ort-web' : ''}${pattern ? ` ${pattern}` : ''}`,
  ...rest,
  referenceFailures: referenceFailures.map((c) => ({ name: c.name, op: c.op, message: c.reference.message })),
  roundTripRegressions: roundTripRegressions.map((c) => ({ name: c.name, op: c.op, message: c.ortRoundTrip.message })),
  cases: cases.map((c) => ({ name: c.name, op: c.op, reference: c.reference.status, ortOriginal: c.ortOriginal.status, ortRoundTrip: c.ortRoundTrip.status, ...(c.ortWebRoundTrip ? { ortWebRoundTrip: c.ortWebRoundTrip.status } : {}), ...(c.undeclared.length ? { undeclared: c.undeclared } : {}) })),
}, null, 1)}\n`);
console.log(`wrote ${out}`);
