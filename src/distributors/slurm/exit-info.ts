/**
 * Why a Slurm job ended, for an instance whose wrapper went silent (Jobmon's get_remote_exit_info).
 * The wrapper reports every ending it survives itself, so what is left here is what killed it too:
 *
 * | Slurm says                                                  | status | meaning                    |
 * |-------------------------------------------------------------|--------|----------------------------|
 * | OUT_OF_MEMORY, or signal 9 + "Exceeded job memory limit"     | Z      | resource error: memory     |
 * | TIMEOUT                                                     | Z      | resource error: runtime    |
 * | CANCELLED                                                   | F      | cancelled outside: no retry|
 * | NODE_FAIL, PREEMPTED, BOOT_FAIL, DEADLINE                   | U      | lost: retried              |
 * | killed by SIGKILL (no memory notice)                        | U      | lost: retried              |
 * | COMPLETED without a report from the wrapper                 | U      | lost report: retried       |
 * | FAILED with another exit code (wrapper failure, bad entry)  | E      | error: retried             |
 * | unknown to slurmctld and to the jobcomp log                 | U      | unknown: retried           |
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import type { RemoteExitInfo } from '../distributor';
import type { SlurmJobRecord } from './job-record';

const MEMORY_NOTICE = /Exceeded (job|step) memory limit|exceeded memory limit|oom-kill|Out Of Memory/i;
const TAIL_BYTES = 16 * 1024;
const JOBCOMP_SCAN_BYTES = 64 * 1024 * 1024;

/** Last bytes of a file, or '' when it cannot be read. */
export function readTail(file: string | undefined, bytes = TAIL_BYTES): string {
  if (!file) return '';
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const size = statSync(file).size;
    const length = Math.min(size, bytes);
    const buf = Buffer.alloc(length);
    readSync(fd, buf, 0, length, size - length);
    return buf.toString('utf8');
  } catch {
    return '';
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

const lastLines = (text: string, n = 8): string => text.trimEnd().split('\n').slice(-n).join('\n');

/** The ends of Slurm's own output and error files of a job (stderr '' when it went to the output file). */
export interface SlurmOutput {
  stdout: string;
  stderr: string;
}

/** Read both of a job's Slurm files: with `stderr` set separately, slurmstepd's notices are in the .err. */
export const readSlurmOutput = (record: SlurmJobRecord): SlurmOutput => ({
  stdout: readTail(record.stdoutPath),
  stderr: record.stderrPath && record.stderrPath !== record.stdoutPath ? readTail(record.stderrPath) : '',
});

export function classifyEnd(record: SlurmJobRecord, output: string | SlurmOutput): RemoteExitInfo {
  const id = record.key;
  const how = `Slurm job ${id}: ${record.state}${record.reason && record.reason !== 'None' ? ` (${record.reason})` : ''}, exit code ${record.exitCode ?? '?'}:${record.signal ?? '?'}`;
  const out = typeof output === 'string' ? { stdout: output, stderr: '' } : output;
  const withOutput = (m: string): string => {
    const parts = [
      out.stdout.trim() ? `Slurm output (${record.stdoutPath}) ends:\n${lastLines(out.stdout)}` : '',
      out.stderr.trim() ? `Slurm error output (${record.stderrPath}) ends:\n${lastLines(out.stderr)}` : '',
    ].filter(Boolean);
    return parts.length > 0 ? `${m}; ${parts.join('\n')}` : m;
  };
  if (record.state === 'OUT_OF_MEMORY' || (record.signal === 9 && MEMORY_NOTICE.test(`${out.stdout}\n${out.stderr}`))) {
    return { status: 'Z', message: withOutput(`${how}: over its memory limit (resource error: memory)`) };
  }
  switch (record.state) {
    case 'TIMEOUT':
      return { status: 'Z', message: withOutput(`${how}: reached its time limit (resource error: runtime)`) };
    case 'CANCELLED':
      return {
        status: 'F',
        message: withOutput(
          `${how}: cancelled outside the workflow (scancel or REST DELETE); not retried — resume the workflow to run it again`,
        ),
      };
    case 'NODE_FAIL':
    case 'PREEMPTED':
    case 'BOOT_FAIL':
    case 'DEADLINE':
      return { status: 'U', message: withOutput(`${how}: lost with its node or preempted; retried`) };
    case 'COMPLETED':
      return {
        status: 'U',
        exitCode: 0,
        message: withOutput(`${how}: the job ended but the wrapper's final report never arrived`),
      };
    default:
      break;
  }
  if (record.signal === 9 || record.exitCode === 137) {
    return {
      status: 'U',
      message: withOutput(`${how}: killed by SIGKILL from outside Slurm's limits (kill -9, OOM killer); retried`),
    };
  }
  if (record.state === 'FAILED' && record.exitCode !== undefined && record.exitCode !== 0) {
    return {
      status: 'E',
      exitCode: record.exitCode,
      message: withOutput(`${how}: the job's entry script or wrapper failed`),
    };
  }
  return {
    status: 'U',
    exitCode: record.exitCode,
    message: withOutput(`${how}: ended without a report from the wrapper`),
  };
}

/**
 * The jobcomp/filetxt record of an array task slurmctld no longer holds (after MinJobAge). One line
 * per finished job, `Key=Value` separated by spaces; TIMEOUT and CANCELLED carry ExitCode 0:0 there,
 * so the state is what counts.
 */
export function jobcompRecord(
  logFile: string | undefined,
  arrayJobId: string,
  taskId: number | undefined,
): SlurmJobRecord | undefined {
  if (!logFile) return undefined;
  const text = readTail(logFile, JOBCOMP_SCAN_BYTES);
  const needle = taskId === undefined ? `JobId=${arrayJobId} ` : `ArrayJobId=${arrayJobId} `;
  let found: Record<string, string> | undefined;
  for (const line of text.split('\n')) {
    if (!line.includes(needle)) continue;
    const kv: Record<string, string> = {};
    for (const m of line.matchAll(/(?:^|\s)(\w+)=(\S*)/g)) kv[m[1]] ??= m[2];
    if (
      taskId === undefined ? kv.JobId === arrayJobId : kv.ArrayJobId === arrayJobId && Number(kv.ArrayTaskId) === taskId
    )
      found = kv;
  }
  if (!found) return undefined;
  const [code, signal] = (found.ExitCode ?? '').split(':').map(Number);
  const key = taskId === undefined ? arrayJobId : `${arrayJobId}_${taskId}`;
  return {
    key,
    jobId: found.JobId,
    arrayJobId: taskId === undefined ? undefined : arrayJobId,
    arrayTaskId: taskId,
    state: (found.JobState ?? 'UNKNOWN').split(/[ +]/)[0],
    reason: 'from the jobcomp log',
    exitCode: Number.isFinite(code) ? code : undefined,
    signal: Number.isFinite(signal) ? signal : undefined,
    workDir: found.WorkDir,
    stdoutPath: found.WorkDir ? path.join(found.WorkDir, `${key}.out`) : undefined,
    outputFromWorkDir: true,
  };
}

/** Slurm's signal number for "the job or step could not be launched" (SIG_FAILURE). */
const LAUNCH_FAILURE_SIGNAL = 53;
const UNFIXABLE_BY_RETRY = /Permission denied|No such file or directory|Not a directory/;

/**
 * The first error slurmd logged about the job's batch step (`[<jobid>.batch] error: ...`), from the
 * node's slurmd log when the worker can read it (`slurmd_log`, `%n` = node); '' otherwise.
 */
export function slurmdMessage(logPattern: string | undefined, record: SlurmJobRecord): string {
  if (!logPattern || !record.batchHost) return '';
  const text = readTail(logPattern.replace(/%n/g, record.batchHost), 256 * 1024);
  const needle = `[${record.jobId}.batch] error: `;
  // The first error is the cause ("Could not open stdout file ...: Permission denied"); what follows
  // is its consequence ("IO setup failed").
  const line = text.split('\n').find((l) => l.includes(needle));
  return line ? line.slice(line.indexOf(needle) + needle.length).trim() : '';
}

/**
 * A job that ended before its wrapper reported running: a launch failure (FAILED with signal 53 /
 * JobLaunchFailure, slurmd could not start the batch script) or another end while queued. `retry`
 * is false when retrying cannot help: a path the job account cannot open, or a cancel by someone
 * outside the workflow.
 */
export function describeEarlyEnd(record: SlurmJobRecord, slurmd: string): { message: string; retry: boolean } {
  const how = `Slurm job ${record.key}: ${record.state}${record.reason && record.reason !== 'None' ? ` (${record.reason})` : ''}, exit code ${record.exitCode ?? '?'}:${record.signal ?? '?'}`;
  const onNode = record.batchHost ? ` on ${record.batchHost}` : '';
  const launchFailed =
    record.state === 'FAILED' && (record.signal === LAUNCH_FAILURE_SIGNAL || /launch/i.test(record.reason));
  if (launchFailed) {
    const why = slurmd
      ? `slurmd${onNode} says: ${slurmd}`
      : `slurmd${onNode} could not start the batch script (its log says why; most often the job account cannot write the output directory)`;
    const retry = !UNFIXABLE_BY_RETRY.test(slurmd);
    return {
      message: `${how}: the job failed to launch; ${why}${retry ? '' : ' — not retried: a retry would fail the same way'}`,
      retry,
    };
  }
  if (record.state === 'CANCELLED') {
    return { message: `${how}: cancelled outside the workflow before it started; not retried`, retry: false };
  }
  return { message: `${how}: ended before its wrapper started`, retry: true };
}
