/**
 * Reading Linux `/proc`: just enough to find a process tree and its usage, and to tell a live
 * process from a reused pid. Everything returns undefined where `/proc` is absent (macOS laptops),
 * so callers degrade to "unknown" instead of failing.
 *
 * Node built-ins only: the worker-node wrapper imports this and must stay shippable as one file.
 */
import { readFileSync, readdirSync } from 'node:fs';

/**
 * USER_HZ, the unit of the times in /proc/<pid>/stat. It is part of the kernel's userspace ABI and
 * is 100 on every architecture we run on, whatever CONFIG_HZ is; Node cannot call sysconf().
 */
export const CLOCK_TICKS_PER_S = 100;

export interface ProcStat {
  pid: number;
  /** Single letter: R running, S sleeping, Z zombie, ... */
  state: string;
  ppid: number;
  pgrp: number;
  session: number;
  /** Own user+system CPU time and that of reaped children, in clock ticks. */
  utime: number;
  stime: number;
  cutime: number;
  cstime: number;
  /** Start time after boot in clock ticks: (pid, starttime) identifies a process across pid reuse. */
  startTime: number;
}

/** Parse one `/proc/<pid>/stat` line; undefined when it does not look like one. */
export function parseStat(line: string): ProcStat | undefined {
  // The command name (field 2) is in parentheses and may itself contain spaces and ')': split after
  // the LAST ')'.
  const open = line.indexOf('(');
  const close = line.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  const pid = Number(line.slice(0, open).trim());
  const f = line
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  // f[0] is field 3 (state); field n is f[n - 3].
  if (f.length < 20) return undefined;
  const n = (field: number): number => Number(f[field - 3]);
  return {
    pid,
    state: f[0],
    ppid: n(4),
    pgrp: n(5),
    session: n(6),
    utime: n(14),
    stime: n(15),
    cutime: n(16),
    cstime: n(17),
    startTime: n(22),
  };
}

export function readStat(pid: number | 'self'): ProcStat | undefined {
  try {
    return parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Resident set size in bytes (VmRSS), undefined for zombies, kernel threads and vanished pids. */
export function readRssBytes(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Every process's stat, or undefined when there is no /proc. Processes may vanish mid-scan. */
export function readAllStats(): ProcStat[] | undefined {
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return undefined;
  }
  const out: ProcStat[] = [];
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readStat(Number(name));
    if (stat) out.push(stat);
  }
  return out;
}

/**
 * Is `pid` alive and (when `startTime` is given and /proc exists) still the same process that
 * was started then? Zombies count as gone: they have exited and only wait to be reaped.
 */
export function isProcessAlive(pid: number, startTime?: number | null): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: it exists but belongs to someone else, which a reused pid would.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
    if (startTime == null) return true;
  }
  const stat = readStat(pid);
  if (!stat) return startTime == null; // no /proc: kill(0) is all we can know
  if (stat.state === 'Z' || stat.state === 'X') return false;
  return startTime == null || stat.startTime === startTime;
}
