/**
 * The command-line fallback (connection_parameters.mode = "cli"): sbatch to submit as the workflow
 * owner's account (`runuser -u <account> --` when the worker is root, `sudo -n -u <account> --`
 * with a sudoers rule otherwise), `scontrol show job -o` for status (one call per array, finished
 * tasks included until MinJobAge), scancel (as root directly, else as the jobs' owner), `scontrol
 * update` for the throttle.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { OUTPUT_PATTERN, UNKNOWN_JOB, type ArraySubmission, type PartitionInfo, type SlurmBackend } from './backend';
import { CommandError, run } from './commands';
import { expandTaskString, parseSlurmTimestamp, type SlurmJobRecord } from './job-record';
import type { SlurmSettings } from './settings';

export interface SlurmBins {
  sbatch: string;
  scontrol: string;
  scancel: string;
  sacct: string;
  runuser: string;
  sudo: string;
}

const INVALID_JOB = /Invalid job id specified/i;

export class SlurmCliBackend implements SlurmBackend {
  readonly mode = 'cli' as const;

  constructor(
    private readonly settings: SlurmSettings,
    private readonly bins: SlurmBins,
    private readonly currentUser: string,
  ) {}

  async submitArray(s: ArraySubmission): Promise<string> {
    mkdirSync(s.workDir, { recursive: true });
    const scriptPath = path.join(s.workDir, `${s.name}.sh`);
    writeFileSync(scriptPath, s.script, { mode: 0o755 });
    const args = [
      '--parsable',
      `--job-name=${s.name}`,
      `--partition=${s.partition}`,
      `--chdir=${s.workDir}`,
      `--output=${s.outputPath ?? OUTPUT_PATTERN}`,
      `--error=${s.errorPath ?? s.outputPath ?? OUTPUT_PATTERN}`,
      `--array=1-${s.size}${s.throttle ? `%${s.throttle}` : ''}`,
      '--no-requeue',
      '--export=ALL',
    ];
    if (s.memoryMb !== undefined) args.push(`--mem=${s.memoryMb}M`);
    if (s.timeLimitMin !== undefined) args.push(`--time=${s.timeLimitMin}`);
    if (s.cpusPerTask !== undefined) args.push(`--cpus-per-task=${s.cpusPerTask}`);
    if (s.account) args.push(`--account=${s.account}`);
    if (s.qos) args.push(`--qos=${s.qos}`);
    if (s.constraints) args.push(`--constraint=${s.constraints}`);
    args.push(scriptPath);
    // runuser keeps the environment and sets HOME/USER/LOGNAME; sbatch hands it on (--export=ALL).
    const [cmd, argv] = this.#as(s.user, this.bins.sbatch, args);
    const out = await run(cmd, argv, { env: s.env, timeoutMs: 60_000 });
    const id = out.trim().split(';')[0];
    if (!/^\d+$/.test(id)) throw new Error(`sbatch printed no job id: ${out.slice(0, 200)}`);
    return id;
  }

  /** `bin args` run as `user`: directly when that is the worker itself, else through runuser or sudo. */
  #as(user: string, bin: string, args: string[]): [string, string[]] {
    if (user === this.currentUser) return [bin, args];
    return this.settings.switchUser === 'runuser'
      ? [this.bins.runuser, ['-u', user, '--', bin, ...args]]
      : // --preserve-env: the job's environment is sbatch's to hand on (sudoers must allow SETENV).
        [this.bins.sudo, ['-n', '--preserve-env', '-u', user, '--', bin, ...args]];
  }

  async arrayJobs(arrayJobId: string): Promise<SlurmJobRecord[] | typeof UNKNOWN_JOB> {
    let out: string;
    try {
      out = await run(this.bins.scontrol, ['show', 'job', '-o', arrayJobId], { timeoutMs: 30_000 });
    } catch (err) {
      if (err instanceof CommandError && INVALID_JOB.test(err.stderr)) return UNKNOWN_JOB;
      throw err;
    }
    return out
      .split('\n')
      .filter((l) => l.startsWith('JobId='))
      .flatMap((l) => recordsOfLine(l));
  }

  async cancel(ids: string[], asUser?: string): Promise<void> {
    if (ids.length === 0) return;
    // Root may cancel any job; any other worker cancels as the jobs' owner.
    const [cmd, argv] =
      this.currentUser === 'root' || asUser === undefined
        ? [this.bins.scancel, ids]
        : this.#as(asUser, this.bins.scancel, ids);
    try {
      await run(cmd, argv, { timeoutMs: 30_000 });
    } catch (err) {
      // scancel cancels the valid ids and complains about the others.
      if (!(err instanceof CommandError && INVALID_JOB.test(err.stderr))) throw err;
    }
  }

  async setThrottle(arrayJobId: string, limit: number): Promise<void> {
    await run(this.bins.scontrol, ['update', `JobId=${arrayJobId}`, `ArrayTaskThrottle=${limit}`], {
      timeoutMs: 15_000,
    });
  }

  async partition(name: string): Promise<PartitionInfo | undefined> {
    let out: string;
    try {
      out = await run(this.bins.scontrol, ['show', 'partition', '-o', name], { timeoutMs: 15_000 });
    } catch (err) {
      if (err instanceof CommandError && /not found|Invalid partition/i.test(err.stderr)) return undefined;
      throw err;
    }
    const kv = keyValues(out);
    if (!kv.PartitionName) return undefined;
    const n = (v: string | undefined): number | undefined =>
      v && /^\d+$/.test(v) && Number(v) > 0 ? Number(v) : undefined;
    return {
      name,
      maxTimeMin: parseSlurmMinutes(kv.MaxTime),
      maxMemoryMb: n(kv.MaxMemPerNode),
      totalCpus: n(kv.TotalCPUs),
      maxCpusPerNode: n(kv.MaxCPUsPerNode),
    };
  }

  /**
   * slurmdbd's record through sacct (the job line, MaxRSS from its steps); undefined when sacct says
   * accounting is disabled, knows nothing, or is not installed.
   */
  async accountingRecord(id: string): Promise<SlurmJobRecord | undefined> {
    const ask = (fields: readonly string[]) =>
      run(this.bins.sacct, ['-j', id, '-P', '-n', `--format=${fields.join(',')}`], { timeoutMs: 30_000 });
    try {
      if (this.#sacctKnowsOutput) return parseSacct(await ask(SACCT_FIELDS_WITH_OUTPUT), id, SACCT_FIELDS_WITH_OUTPUT);
    } catch (err) {
      // 22.05's sacct has no StdOut/StdErr fields: ask without them from now on.
      if (!(err instanceof CommandError && /invalid field/i.test(err.stderr))) return undefined;
      this.#sacctKnowsOutput = false;
    }
    try {
      return parseSacct(await ask(SACCT_FIELDS), id);
    } catch {
      return undefined;
    }
  }

  /** Until sacct refuses them once: whether it has the StdOut/StdErr fields (23.02 and later). */
  #sacctKnowsOutput = true;

  async slurmdStartTime(node: string): Promise<number | undefined> {
    const out = await run(this.bins.scontrol, ['show', 'node', '-o', node], { timeoutMs: 15_000 });
    return parseSlurmTimestamp(keyValues(out).SlurmdStartTime);
  }
}

const SACCT_FIELDS = [
  'JobID',
  'JobIDRaw',
  'State',
  'ExitCode',
  'NodeList',
  'ElapsedRaw',
  'MaxRSS',
  'WorkDir',
  'User',
  'Partition',
  'Start',
  'Reason',
] as const;
/** Slurm's own output paths, expanded, where sacct has them (not 22.05). */
export const SACCT_FIELDS_WITH_OUTPUT = [...SACCT_FIELDS, 'StdOut', 'StdErr'] as const;
type SacctField = (typeof SACCT_FIELDS_WITH_OUTPUT)[number];

/** sacct's `K`/`M`/`G` sizes → MB. */
const sizeMb = (v: string | undefined): number | undefined => {
  const m = /^([\d.]+)([KMGT]?)$/.exec(v ?? '');
  if (!m) return undefined;
  const scale = { '': 1 / 1024 / 1024, K: 1 / 1024, M: 1, G: 1024, T: 1024 * 1024 }[m[2] as '' | 'K' | 'M' | 'G' | 'T'];
  return Math.round(Number(m[1]) * scale * 10) / 10;
};

/** `sacct -P -n` lines of one job (`5_3`, then `5_3.batch`, ...) → one record, MaxRSS the steps' largest. */
export function parseSacct(
  out: string,
  id: string,
  fields: readonly SacctField[] = SACCT_FIELDS,
): SlurmJobRecord | undefined {
  let record: SlurmJobRecord | undefined;
  let maxRss: number | undefined;
  for (const line of out.split('\n')) {
    const f = Object.fromEntries(line.split('|').map((v, i) => [fields[i], v])) as Partial<Record<SacctField, string>>;
    if (!f.JobID) continue;
    const rss = sizeMb(f.MaxRSS);
    if (rss !== undefined) maxRss = Math.max(maxRss ?? 0, rss);
    if (f.JobID !== id) continue;
    const [code, signal] = (f.ExitCode ?? '').split(':').map(Number);
    const m = /^(\d+)_(\d+)$/.exec(id);
    const node = f.NodeList && f.NodeList !== 'None assigned' ? f.NodeList : undefined;
    record = {
      key: id,
      jobId: f.JobIDRaw ?? id,
      arrayJobId: m?.[1],
      arrayTaskId: m ? Number(m[2]) : undefined,
      state: (f.State ?? 'UNKNOWN').split(/[ +]/)[0],
      reason: f.Reason && f.Reason !== 'None' ? f.Reason : 'from slurmdbd',
      exitCode: Number.isFinite(code) ? code : undefined,
      signal: Number.isFinite(signal) ? signal : undefined,
      workDir: f.WorkDir || undefined,
      user: f.User || undefined,
      partition: f.Partition || undefined,
      nodes: node,
      batchHost: node?.split(',')[0],
      startTime: parseSlurmTimestamp(f.Start),
      elapsedS: f.ElapsedRaw && /^\d+$/.test(f.ElapsedRaw) ? Number(f.ElapsedRaw) : undefined,
      ...sacctOutput(f, id),
      fromAccounting: true,
    };
  }
  return record && { ...record, maxRssMb: maxRss };
}

/** Slurm's own paths when sacct gave them, else the default `<WorkDir>/<id>.out` (a guess). */
function sacctOutput(
  f: Partial<Record<SacctField, string>>,
  id: string,
): Pick<SlurmJobRecord, 'stdoutPath' | 'stderrPath' | 'outputFromWorkDir'> {
  if (f.StdOut) return { stdoutPath: f.StdOut, stderrPath: f.StdErr && f.StdErr !== f.StdOut ? f.StdErr : undefined };
  return { stdoutPath: f.WorkDir ? path.join(f.WorkDir, `${id}.out`) : undefined, outputFromWorkDir: true };
}

/** `Key=Value` pairs of one `scontrol -o` line (values without spaces, which is all we read). */
export function keyValues(line: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of line.matchAll(/(?:^|\s)([A-Za-z:/]+)=(\S*)/g)) out[m[1]] ??= m[2];
  return out;
}

/** Slurm time (`UNLIMITED`, `MM`, `HH:MM:SS`, `D-HH:MM:SS`, `MM:SS`) → minutes, rounded up. */
export function parseSlurmMinutes(value: string | undefined): number | undefined {
  if (!value || /^(UNLIMITED|INFINITE|NONE|n\/a)$/i.test(value)) return undefined;
  const m = /^(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?$/.exec(value);
  if (!m) return undefined;
  const [days, a, b, c] = [Number(m[1] ?? 0), Number(m[2]), m[3], m[4]];
  let seconds: number;
  if (c !== undefined) seconds = a * 3600 + Number(b) * 60 + Number(c);
  else if (b !== undefined) seconds = m[1] !== undefined ? a * 3600 + Number(b) * 60 : a * 60 + Number(b);
  else seconds = m[1] !== undefined ? a * 3600 : a * 60;
  return Math.ceil((days * 86400 + seconds) / 60);
}

function recordsOfLine(line: string): SlurmJobRecord[] {
  const kv = keyValues(line);
  const [code, signal] = (kv.ExitCode ?? '')
    .split(':')
    .map((v) => (v === undefined || v === '' ? undefined : Number(v)));
  const arrayJobId = kv.ArrayJobId;
  const base = {
    jobId: kv.JobId,
    arrayJobId,
    state: (kv.JobState ?? 'UNKNOWN').split(/[ +]/)[0],
    reason: kv.Reason ?? '',
    exitCode: code,
    signal,
    workDir: kv.WorkDir,
    user: kv.UserId?.replace(/\(.*$/, ''),
    throttle: kv.ArrayTaskThrottle === undefined ? undefined : Number(kv.ArrayTaskThrottle),
    partition: kv.Partition,
    timeLimitMin: parseSlurmMinutes(kv.TimeLimit),
    memoryMb: kv.MinMemoryNode ? Number.parseInt(kv.MinMemoryNode, 10) : undefined,
    batchHost: kv.BatchHost && kv.BatchHost !== '(null)' ? kv.BatchHost : undefined,
    startTime: parseSlurmTimestamp(kv.StartTime),
  };
  const task = kv.ArrayTaskId;
  if (arrayJobId && task && !/^\d+$/.test(task)) {
    // Pending remainder of the array (`ArrayTaskId=3-10%2`): one record per task id.
    return expandTaskString(task).map((t) => ({
      ...base,
      key: `${arrayJobId}_${t}`,
      arrayTaskId: t,
      stdoutPath: base.workDir ? path.join(base.workDir, `${arrayJobId}_${t}.out`) : undefined,
    }));
  }
  const taskId = task && /^\d+$/.test(task) ? Number(task) : undefined;
  return [
    {
      ...base,
      key: arrayJobId && taskId !== undefined ? `${arrayJobId}_${taskId}` : base.jobId,
      arrayTaskId: taskId,
      stdoutPath: kv.StdOut || undefined,
      stderrPath: kv.StdErr && kv.StdErr !== kv.StdOut ? kv.StdErr : undefined,
    },
  ];
}
