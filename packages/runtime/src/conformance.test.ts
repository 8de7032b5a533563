import { describe, expect, it } from 'vitest';
import { formatReport, listCases, MISSING_TESTDATA, runConformance, type CaseResult } from './conformance.js';

// ONNX's backend node tests (Debian package libonnx-testdata) through import -> reference
// interpreter, the original bytes on onnxruntime-node, and import -> export -> onnxruntime-node.
const cases = listCases();
const line = (c: CaseResult, path: 'reference' | 'ortRoundTrip') => `${c.name} (${c.op}): ${c[path].message ?? c[path].status}`;

describe('ONNX backend node tests', () => {
  if (!cases && !process.env.CI) {
    it.skip(`${MISSING_TESTDATA}`, () => {});
    return;
  }

  it('every case of a declared op passes on the reference interpreter, and the exporter loses no case onnxruntime passes', async () => {
    if (!cases) throw new Error(MISSING_TESTDATA);
    const report = await runConformance();
    console.log(formatReport(report));
    const undeclared = [...new Set(report.cases.flatMap((c) => c.undeclared))].sort();
    console.log(`undeclared (${report.totals.reference.undeclared} cases, ${undeclared.length} ops): ${undeclared.join(', ')}`);
    expect(report.cases.length).toBe(cases.length);
    // Guards against a silently broken onnxruntime path (865 of 932 pass with onnxruntime-node 1.30).
    expect(report.totals.ortOriginal.pass).toBeGreaterThanOrEqual(850);
    expect(report.referenceFailures.map((c) => line(c, 'reference'))).toEqual([]);
    expect(report.roundTripRegressions.map((c) => line(c, 'ortRoundTrip'))).toEqual([]);
  });
});
