/**
 * CPU of processes honestly counted, for the per-task benchmark: BSD process accounting (the
 * kernel writes one record per process at its exit: pid, ppid, command, user and system ticks) for
 * the short-lived per-task processes, and /proc/<pid>/stat for the long-lived ones (services,
 * Temporal, Postgres backends), sampled before, during and after a run.
 *
 * Accounting is machine-wide; records are attributed by parent pid (a wrapper's parent is the
 * services process, a command's parent is its wrapper), so other users' processes on a shared
 * machine do not count. Needs root and the `acct` package (accton, sa).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';

/** One exited process, from an acct v3 record (linux/acct.h, struct acct_v3: 64 bytes). */
export interface AcctRecord {
  pid: number;
  ppid: number;
  comm: string;
  /** User + system CPU seconds (resolution 1/100 s). */
  cpuS: number;
  /** Elapsed seconds. */
  elapsedS: number;
  exitCode: number;
}

/** Ticks per second of acct v3's comp_t times (AHZ). */
const AHZ = 100;

/** comp_t: 13-bit mantissa, 3-bit base-8 exponent. */
function decodeComp(v: number): number {
  return (v & 0x1fff) * 8 ** ((v >> 13) & 7);
}

export function parseAcct(buf: Buffer): AcctRecord[] {
  const out: AcctRecord[] = [];
  for (let o = 0; o + 64 <= buf.length; o += 64) {
    if (buf.readUInt8(o + 1) !== 3) continue; // not a v3 record
    const comm = buf.subarray(o + 48, o + 64).toString('latin1');
    out.push({
      exitCode: buf.readUInt32LE(o + 4),
      pid: buf.readUInt32LE(o + 16),
      ppid: buf.readUInt32LE(o + 20),
      elapsedS: buf.readFloatLE(o + 28) / AHZ,
      cpuS: (decodeComp(buf.readUInt16LE(o + 32)) + decodeComp(buf.readUInt16LE(o + 34))) / AHZ,
      comm: comm.slice(0, comm.indexOf('\0') >= 0 ? comm.indexOf('\0') : 16),
    });
  }
  return out;
}

/** `accton FILE` … `accton off`; only one accounting file is active machine-wide at a time. */
export class ProcessAccounting {
  private constructor(readonly file: string) {}

  /** Undefined (with the reason) where accounting cannot be switched on: not root, no acct package. */
  static start(file: string): ProcessAccounting | string {
    try {
      writeFileSync(file, '');
      execFileSync('accton', [file], { stdio: 'ignore' });
      return new ProcessAccounting(file);
    } catch (err) {
      return `process accounting unavailable (${(err as Error).message.split('\n')[0]}): apt-get install acct, run as root`;
    }
  }

  /** Switch accounting off and return every record written meanwhile, plus `sa -a -i -j`'s summary. */
  stop(): { records: AcctRecord[]; sa: string } {
    execFileSync('accton', ['off'], { stdio: 'ignore' });
    let sa = '';
    try {
      sa = execFileSync('sa', ['-a', '-i', '-j', this.file], { encoding: 'utf8' });
    } catch (err) {
      sa = `sa failed: ${(err as Error).message}`;
    }
    return { records: parseAcct(readFileSync(this.file)), sa };
  }
}

const CLOCK_TICKS_PER_S = 100;

/** utime + stime of a live process in seconds; undefined once it is gone. */
export function procCpuS(pid: number): number | undefined {
  try {
    const line = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = line.slice(line.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLOCK_TICKS_PER_S;
  } catch {
    return undefined;
  }
}

/**
 * CPU used by a changing set of long-lived processes over a window: each pid's CPU at its first
 * sighting is the baseline (0 for a pid first seen after the window opened, which started inside
 * it), the last reading before it vanished is its end. Sample often enough that a process which
 * lives only part of the window is read close to its exit.
 */
export class CpuWindow {
  readonly #first = new Map<number, number>();
  readonly #last = new Map<number, number>();
  #opened = false;

  sample(pids: Iterable<number>): void {
    for (const pid of pids) {
      const cpu = procCpuS(pid);
      if (cpu === undefined) continue;
      if (!this.#first.has(pid)) this.#first.set(pid, this.#opened ? 0 : cpu);
      this.#last.set(pid, cpu);
    }
  }

  /** Called after the first sample: pids first seen from now on started inside the window. */
  open(): void {
    this.#opened = true;
  }

  get cpuS(): number {
    let sum = 0;
    for (const [pid, last] of this.#last) sum += last - (this.#first.get(pid) ?? 0);
    return sum;
  }

  get pids(): number {
    return this.#last.size;
  }

  /** CPU of the pids not in `skip`, and how many there were (e.g. those accounting did not see exit). */
  except(skip: Set<number>): { cpuS: number; pids: number[] } {
    let cpuS = 0;
    const pids: number[] = [];
    for (const [pid, last] of this.#last) {
      if (skip.has(pid)) continue;
      cpuS += last - (this.#first.get(pid) ?? 0);
      pids.push(pid);
    }
    return { cpuS, pids };
  }
}

/** Live processes whose parent is `ppid`, from /proc. */
export function childPids(ppid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const line = readFileSync(`/proc/${name}/stat`, 'utf8');
      const f = line.slice(line.lastIndexOf(')') + 2).split(' ');
      if (Number(f[1]) === ppid) out.push(Number(name));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** Peak (VmHWM) and private (RssAnon) memory of a live process in KiB. */
export function memoryKiB(pid: number): { hwm: number; anon: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { hwm: kib('VmHWM'), anon: kib('RssAnon') };
  } catch {
    return undefined;
  }
}
