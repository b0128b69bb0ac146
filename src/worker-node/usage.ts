/**
 * Memory and CPU of the command's whole process tree (the shell, what it runs, their children),
 * sampled from /proc once a second while the command runs. The first sample waits
 * USAGE_FIRST_SAMPLE_MS: a scan of /proc costs several ms, and a command that ends before then has
 * its CPU counted at reaping (below) and no memory figure (it had no time to grow one).
 *
 * Max RSS is a SAMPLE: a spike shorter than the interval between samples is missed, and the sum of
 * VmRSS over a tree counts shared pages once per process. It is the figure users compare with their
 * memory request, not an accounting value; Slurm's accounting is the authority on a cluster.
 */
import { CLOCK_TICKS_PER_S, readAllStats, readRssBytes, type ProcStat } from './proc';

export const USAGE_SAMPLE_INTERVAL_MS = 1_000;
export const USAGE_FIRST_SAMPLE_MS = 100;

export interface Usage {
  /** Undefined where /proc does not exist. */
  maxrssBytes?: number;
  cpuS?: number;
}

/** Members of the tree rooted at `rootPid`: its session, its process group, and its descendants. */
export function treeMembers(rootPid: number, stats: ProcStat[]): ProcStat[] {
  // The command is started in a new session (detached spawn = setsid), so session and process
  // group catch grandchildren whose parent already exited; the ppid walk catches descendants that
  // moved to a session of their own.
  const byPid = new Map(stats.map((s) => [s.pid, s]));
  const inTree = (s: ProcStat): boolean => {
    if (s.session === rootPid || s.pgrp === rootPid) return true;
    for (let p: ProcStat | undefined = s, hops = 0; p && hops < 64; p = byPid.get(p.ppid), hops++) {
      if (p.pid === rootPid) return true;
    }
    return false;
  };
  return stats.filter(inTree);
}

export class UsageSampler {
  #maxRss: number | undefined;
  #treeCpuTicks: number | undefined;
  #timer: NodeJS.Timeout;

  constructor(readonly rootPid: number) {
    this.#timer = setTimeout(() => {
      this.sample();
      this.#timer = setInterval(() => this.sample(), USAGE_SAMPLE_INTERVAL_MS);
      this.#timer.unref();
    }, USAGE_FIRST_SAMPLE_MS);
    // Sampling must never keep the wrapper alive on its own.
    this.#timer.unref();
  }

  sample(): void {
    const stats = readAllStats();
    if (!stats) return;
    let rss = 0;
    let ticks = 0;
    for (const s of treeMembers(this.rootPid, stats)) {
      rss += readRssBytes(s.pid) ?? 0;
      // cutime/cstime hold the CPU of children this process has already waited for, so CPU of
      // short-lived helpers (a pipeline's stages) is not lost between samples.
      ticks += s.utime + s.stime + s.cutime + s.cstime;
    }
    this.#maxRss = Math.max(this.#maxRss ?? 0, rss);
    this.#treeCpuTicks = Math.max(this.#treeCpuTicks ?? 0, ticks);
  }

  /**
   * Stop sampling; call after the command has exited, with the CPU counted when it was reaped
   * (CommandOutcome.reapedTicks): it includes children the samples never saw.
   */
  finish(reaped: number | undefined): Usage {
    clearTimeout(this.#timer);
    clearInterval(this.#timer);
    const ticks = Math.max(reaped ?? 0, this.#treeCpuTicks ?? 0);
    const known = reaped !== undefined || this.#treeCpuTicks !== undefined;
    return {
      maxrssBytes: this.#maxRss,
      cpuS: known ? ticks / CLOCK_TICKS_PER_S : undefined,
    };
  }
}
