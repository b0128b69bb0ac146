/**
 * On-disk records of the wrappers a local distributor spawned: pid, start time, log file, and exit
 * once seen. Wrappers outlive the worker process that spawned them, so a restarted worker reads
 * these to answer "is this job still alive?" and "why did it end?" for jobs it never saw start.
 * One small file per job holding JSON snapshots, appended to (not replaced: see state-file.ts).
 */
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { appendSnapshot, readSnapshot } from '../worker-node/state-file';

export interface LocalJobRecord {
  distributorId: string;
  taskInstanceId: number;
  host: string;
  /** The wrapper's pid; it leads its own process group. */
  pid?: number;
  /** /proc start time of that pid (clock ticks after boot), to tell it from a reused pid. */
  startTime?: number | null;
  logPath: string;
  /** Run by the local executor (pid/startTime are the executor's); its state file says more. */
  executor?: boolean;
  statePath?: string;
  spawnedAt: string;
  spawnError?: string;
  exit?: { code: number | null; signal: string | null; at: string };
}

/** Records (and wrapper logs) older than this whose process is gone are deleted on startup. */
export const RECORD_RETENTION_MS = 7 * 24 * 3600 * 1000;

export class LocalJobRecords {
  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  /** File-name stem for an id (ids contain ':' and a hostname). */
  stem(distributorId: string): string {
    return distributorId.replace(/[^A-Za-z0-9._-]/g, '_');
  }

  logPath(distributorId: string): string {
    return path.join(this.dir, `${this.stem(distributorId)}.log`);
  }

  /** The local executor's state file of a task it runs (src/worker-node/executor.ts). */
  statePath(distributorId: string): string {
    return path.join(this.dir, `${this.stem(distributorId)}.exec.json`);
  }

  write(record: LocalJobRecord): void {
    appendSnapshot(path.join(this.dir, `${this.stem(record.distributorId)}.json`), record, 0o666);
  }

  read(distributorId: string): LocalJobRecord | undefined {
    return readSnapshot<LocalJobRecord>(path.join(this.dir, `${this.stem(distributorId)}.json`));
  }

  update(distributorId: string, patch: Partial<LocalJobRecord>): void {
    const current = this.read(distributorId);
    if (current) this.write({ ...current, ...patch });
  }

  /** Last non-empty lines of the wrapper's own log: why it ended, when it could not tell the API. */
  logTail(distributorId: string, lines = 3, maxBytes = 4096): string {
    try {
      const text = readFileSync(this.logPath(distributorId), 'utf8');
      return text
        .slice(-maxBytes)
        .split('\n')
        .filter((l) => l.trim())
        .slice(-lines)
        .join('\n');
    } catch {
      return '';
    }
  }

  /** Delete records and logs not touched for `retentionMs` whose wrapper `isLive` says is gone. */
  prune(isLive: (record: LocalJobRecord) => boolean, retentionMs = RECORD_RETENTION_MS, now = Date.now()): number {
    let removed = 0;
    for (const name of readdirSync(this.dir)) {
      if (!name.endsWith('.json') || name.endsWith('.exec.json') || name.startsWith('executor')) continue;
      const file = path.join(this.dir, name);
      try {
        if (now - statSync(file).mtimeMs < retentionMs) continue;
        const record = readSnapshot<LocalJobRecord>(file);
        if (!record || isLive(record)) continue;
        rmSync(file, { force: true });
        rmSync(this.logPath(record.distributorId), { force: true });
        rmSync(this.statePath(record.distributorId), { force: true });
        removed++;
      } catch {
        // Unreadable or vanished meanwhile (another worker pruning): not ours to worry about.
      }
    }
    return removed;
  }
}
