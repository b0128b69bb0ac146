#!/usr/bin/env node
// The fault-injection suite's table: one row per test-results/faults/*.json, written by each test
// of test/faults (see test/faults/support/fault-report.ts for what the columns mean).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = process.argv[2] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'test-results', 'faults');
let files = [];
try {
  files = fs.readdirSync(dir).filter((f) => f.endsWith('.json'));
} catch {
  // no directory: no rows
}
const rows = files
  .map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')))
  .sort((a, b) => a.fault.localeCompare(b.fault));
const s = (v) => (v === null || v === undefined ? '-' : String(v));
const header = [
  'fault',
  'tasks',
  'detected (s)',
  'recovered (s)',
  'tasks lost',
  'run twice',
  'retried',
  'run (s)',
  'ok',
];
const body = rows.map((r) => [
  r.fault,
  s(r.tasks),
  s(r.detectedAfterS),
  s(r.recoveredAfterS),
  s(r.tasksLost),
  s(r.tasksRunTwice),
  s(r.instancesRetried),
  s(r.runS),
  r.passed ? 'yes' : 'NO',
]);
const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
const line = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
console.log(line(header));
console.log(widths.map((w) => '-'.repeat(w)).join('  '));
for (const row of body) console.log(line(row));
if (!rows.length) console.log('(no fault rows were written)');
for (const r of rows) if (r.note) console.log(`${r.fault}: ${r.note}`);
