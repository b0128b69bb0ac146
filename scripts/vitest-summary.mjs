#!/usr/bin/env node
// Prints "N passed, N failed" (", N skipped" when some were skipped) from a vitest JSON report and
// exits 1 when anything failed. Shared by scripts/test.sh and scripts/test-faults.sh.
// A file that failed before running any test (import error, failing hook) has status "failed" and
// no failed assertions: it counts as one failure so it cannot vanish. No report at all (vitest
// crashed or was killed) also counts as one failure.
import fs from 'node:fs';

let report;
try {
  report = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
} catch {
  report = null;
}
if (!report) {
  console.log('0 passed, 1 failed');
  process.exit(1);
}
let passed = 0;
let failed = 0;
let skipped = 0;
for (const file of report.testResults ?? []) {
  const tests = file.assertionResults ?? [];
  for (const t of tests) {
    if (t.status === 'passed') passed++;
    else if (t.status === 'failed') failed++;
    else skipped++;
  }
  if (file.status === 'failed' && !tests.some((t) => t.status === 'failed')) failed++;
}
console.log(`${passed} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : ''));
process.exit(failed ? 1 : 0);
