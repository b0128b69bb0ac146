/**
 * CPU seconds and summed resident memory of one system's processes, read from /proc. A system is a
 * set of root pids (its servers and its client) plus everything they spawn, plus extra pids found
 * while sampling (our Postgres backends). Used by bench/peer.ts for both systems alike.
 *
 * CPU: for every live process of the tree, utime + stime + cutime + cstime (cutime/cstime hold the
 * CPU of children the process has already reaped, so a distributor subprocess that exited is still
 * counted, through its parent). The figure for a run is the difference of two such totals; a
 * process that exits between samples without a live parent to reap it loses only its last interval.
 * Memory: the largest sum of VmRSS over all live processes of the system seen by any sample.
 * Shared processes (a database server other work uses too, e.g. mariadbd): their CPU counts by the
 * same difference, their memory only as its growth above what they held at start().
 */
import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

interface ProcStat {
  pid: number;
  ppid: number;
  cpuTicks: number;
  rssKiB: number;
}

function readStat(pid: number): ProcStat | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: split after its last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ppid = Number(fields[1]);
    const ticks = Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = /VmRSS:\s+(\d+) kB/.exec(status);
    return { pid, ppid, cpuTicks: ticks, rssKiB: rss ? Number(rss[1]) : 0 };
  } catch {
    return undefined; // exited meanwhile
  }
}

function allProcesses(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = readStat(Number(name));
    if (s) out.push(s);
  }
  return out;
}

/** The live processes of the trees under `roots` (roots included). */
function treeOf(roots: Iterable<number>, all: ProcStat[]): ProcStat[] {
  const children = new Map<number, ProcStat[]>();
  for (const p of all) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  const byPid = new Map(all.map((p) => [p.pid, p]));
  const seen = new Set<number>();
  const stack = [...roots].map((pid) => byPid.get(pid)).filter((p): p is ProcStat => p !== undefined);
  const out: ProcStat[] = [];
  while (stack.length > 0) {
    const p = stack.pop() as ProcStat;
    if (seen.has(p.pid)) continue;
    seen.add(p.pid);
    out.push(p);
    stack.push(...(children.get(p.pid) ?? []));
  }
  return out;
}

export interface SystemUsage {
  cpuSeconds: number;
  peakRssMiB: number;
  processes: number;
}

/** Samples one system every `everyMs` from start() to stop(). */
export class SystemSampler {
  readonly #roots = new Set<number>();
  #extraPids: () => Promise<number[]> | number[] = () => [];
  #timer: NodeJS.Timeout | undefined;
  #startTicks = 0;
  #maxTicks = 0;
  #peakRssKiB = 0;
  #pidsSeen = new Set<number>();
  #extras: number[] = [];
  #shared: number[] = [];
  #sharedBaseKiB = new Map<number, number>();

  constructor(private readonly everyMs = 500) {}

  addRoot(pid: number | undefined): void {
    if (pid) this.#roots.add(pid);
  }

  /** Pids outside the trees that belong to the system (e.g. Postgres backends of its database). */
  setExtraPids(find: () => Promise<number[]> | number[]): void {
    this.#extraPids = find;
  }

  /** Processes that serve this system but not only it (see the file comment). */
  setSharedPids(pids: number[]): void {
    this.#shared = pids;
  }

  async #sample(): Promise<number> {
    try {
      this.#extras = await this.#extraPids();
    } catch {
      /* keep the last known set */
    }
    const procs = treeOf([...this.#roots, ...this.#extras], allProcesses());
    let ticks = 0;
    let rss = 0;
    for (const p of procs) {
      ticks += p.cpuTicks;
      rss += p.rssKiB;
      this.#pidsSeen.add(p.pid);
    }
    for (const p of this.#shared.map(readStat)) {
      if (!p) continue;
      ticks += p.cpuTicks;
      if (!this.#sharedBaseKiB.has(p.pid)) this.#sharedBaseKiB.set(p.pid, p.rssKiB);
      rss += Math.max(0, p.rssKiB - (this.#sharedBaseKiB.get(p.pid) ?? 0));
      this.#pidsSeen.add(p.pid);
    }
    this.#peakRssKiB = Math.max(this.#peakRssKiB, rss);
    this.#maxTicks = Math.max(this.#maxTicks, ticks);
    return ticks;
  }

  /** Baseline now (servers are up, nothing bound yet), then sample periodically. */
  async start(): Promise<void> {
    this.#startTicks = await this.#sample();
    this.#maxTicks = this.#startTicks;
    this.#peakRssKiB = 0;
    this.#pidsSeen.clear();
    const tick = () => {
      this.#timer = setTimeout(() => void this.#sample().finally(() => this.#timer && tick()), this.everyMs);
    };
    tick();
  }

  /** Final sample; call while the client is still alive (it has reaped its own children). */
  async stop(): Promise<SystemUsage> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#sample();
    return {
      // The system's CPU total only grows while its processes live; it drops only when one exits
      // unreaped (e.g. a killed client), so the largest total seen is the best end figure.
      cpuSeconds: Math.round(((this.#maxTicks - this.#startTicks) / TICKS_PER_SECOND) * 100) / 100,
      peakRssMiB: Math.round(this.#peakRssKiB / 1024),
      processes: this.#pidsSeen.size,
    };
  }
}
