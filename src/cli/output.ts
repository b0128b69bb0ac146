/**
 * Output of the CLI: plain aligned tables for people, `--json` for scripts, tests and the GUI.
 * No table package: a few lines of padding are easier to keep stable than a dependency's styling.
 */
import { TASK_INSTANCE_STATUSES, TASK_STATUSES, WORKFLOW_RUN_STATUSES, WORKFLOW_STATUSES } from '../domain/statuses';

export interface TextSink {
  write(text: string): unknown;
}

export interface CliIo {
  stdout: TextSink;
  stderr: TextSink;
}

export type Cell = string | number | null | undefined;

/** Columns separated by two spaces; numeric columns right-aligned; empty cells shown as `-`. */
export function renderTable(headers: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const text = rows.map((row) => headers.map((_, i) => cellText(row[i])));
  const numeric = headers.map(
    (_, i) => rows.length > 0 && rows.every((row) => row[i] == null || typeof row[i] === 'number'),
  );
  const widths = headers.map((h, i) => Math.max(h.length, ...text.map((r) => r[i].length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (numeric[i] ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(headers), ...text.map(line)].join('\n') + '\n';
}

function cellText(cell: Cell): string {
  if (cell === null || cell === undefined || cell === '') return '-';
  // A cell is one line: a multi-line error message would break the columns.
  return String(cell).replace(/\s*\n\s*/g, ' ');
}

export function writeJson(io: CliIo, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function writeLine(io: CliIo, line = ''): void {
  io.stdout.write(`${line}\n`);
}

/** `D DONE`: the letter Jobmon users know plus the label that explains it. */
export function taskStatusText(letter: string): string {
  return withLabel(letter, TASK_STATUSES);
}
export function taskInstanceStatusText(letter: string): string {
  return withLabel(letter, TASK_INSTANCE_STATUSES);
}
export function workflowStatusLabel(letter: string): string {
  return (WORKFLOW_STATUSES as Record<string, string>)[letter] ?? letter;
}
export function runStatusText(letter: string): string {
  return withLabel(letter, WORKFLOW_RUN_STATUSES);
}

function withLabel(letter: string, labels: Record<string, string>): string {
  const label = labels[letter];
  return label ? `${letter} ${label}` : letter;
}

/** Bytes as a short human size (`512M`, `1.5G`); Jobmon users read memory in those units. */
export function formatBytes(bytes: number | null | undefined): string | undefined {
  if (bytes === null || bytes === undefined) return undefined;
  const units = ['B', 'K', 'M', 'G', 'T'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value >= 10 || unit === 0 ? Math.round(value) : value.toFixed(1)}${units[unit]}`;
}

/** A duration in the largest unit that reads well: `45s`, `12m`, `3h05m`. */
export function formatDuration(seconds: number | null | undefined): string | undefined {
  if (seconds === null || seconds === undefined) return undefined;
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m}m`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export function formatSeconds(seconds: number | null | undefined): number | undefined {
  if (seconds === null || seconds === undefined) return undefined;
  return Math.round(seconds * 10) / 10;
}

/** First line of a message, cut to `max` characters, for table cells. */
export function firstLine(text: string | undefined, max = 80): string | undefined {
  if (!text) return undefined;
  const line = text.trim().split('\n', 1)[0];
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** Jobmon's "no limit" (MySQL INT max) reads better as a word. */
export function formatLimit(limit: number): string | number {
  return limit >= 2_147_483_647 ? 'unlimited' : limit;
}
