/** Small probes of local processes and of the wrappers' log files. */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Parent pid from /proc (Linux), undefined when the process is gone. */
export function parentPid(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 4, after the parenthesised command name (which may itself contain spaces).
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

export function killQuietly(pid: number, signal: NodeJS.Signals = 'SIGKILL'): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/**
 * Time (ms since the epoch) of the first line at or after `sinceMs` in any wrapper log under
 * `logDir` that matches `pattern` (wrapper lines start with an ISO timestamp), or undefined.
 */
export function firstWrapperLine(logDir: string, pattern: RegExp, sinceMs: number): number | undefined {
  const dir = path.join(logDir, 'local-distributor');
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.log'));
  } catch {
    return undefined;
  }
  let first: number | undefined;
  for (const name of names) {
    let text: string;
    try {
      text = readFileSync(path.join(dir, name), 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      if (!pattern.test(line)) continue;
      const t = Date.parse(line.slice(0, 24));
      if (Number.isFinite(t) && t >= sinceMs && (first === undefined || t < first)) first = t;
    }
  }
  return first;
}

/** A wrapper's complaint that the API did not answer (a failed attempt or heartbeat). */
export const WRAPPER_API_TROUBLE = /attempt \d+ failed|heartbeat failed/;
