/**
 * Small per-task state files that are only ever appended to: each write adds one complete JSON
 * line (a whole snapshot, never a patch) and a reader takes the last line that parses.
 *
 * Why not write a temp file and rename it over the old one: every rename frees the old file's
 * inode, and ext4 skips recently freed inodes when it allocates the next one. With a few state
 * writes per task, that scan made each new file cost ~0.9 ms of CPU (measured: 0.86 ms per
 * temp+rename after 60,000 deletes, 0.03–0.06 ms without them) — the largest file-system share of
 * the services' per-task CPU on the local path (docs/benchmarks.md, "Where the central CPU goes").
 * An append frees nothing and costs ~2 µs.
 *
 * Readers never see a torn snapshot: a line still being written has no newline yet and is skipped,
 * and a line cut short by a crash fails to parse and is skipped too (its writer is gone, so nothing
 * follows it). A file written whole by an earlier version (one JSON value, no newline) still reads.
 * Node built-ins only: bundled into the worker-node wrapper and the local executor.
 */
import { appendFileSync, readFileSync } from 'node:fs';

/** Append one snapshot; creates the file (with `mode`) on the first write. */
export function appendSnapshot(file: string, value: unknown, mode = 0o600): void {
  appendFileSync(file, `${JSON.stringify(value)}\n`, { mode });
}

/** The last complete snapshot in `file`, or undefined (no file, nothing complete yet). */
export function readSnapshot<T>(file: string): T | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const lines = text.split('\n');
  // Without a newline anywhere, the file is an earlier version's single JSON value (or a first
  // snapshot still being written, which then fails to parse).
  const complete = lines.length === 1 ? lines : lines.slice(0, -1);
  for (let i = complete.length - 1; i >= 0; i--) {
    if (!complete[i]) continue;
    try {
      return JSON.parse(complete[i]) as T;
    } catch {
      // Cut short by a crash: an earlier snapshot is the last one that was whole.
    }
  }
  return undefined;
}
