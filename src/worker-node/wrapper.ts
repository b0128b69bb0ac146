/**
 * What the worker-node wrapper does for one task instance (Jobmon's worker_node_task_instance):
 * report RUNNING, run the command, heartbeat while it runs (and obey a KILL_SELF answer), forward
 * the batch system's signals to it, then report DONE or ERROR with usage and output tails.
 *
 * Exit code: 0 whenever the outcome was reported (whatever the command's exit code; the API has
 * it), WRAPPER_FAILURE_EXIT_CODE when the wrapper could not do its job.
 *
 * A wrapper killed by SIGKILL (OOM killer, Slurm after KillWait) reports nothing; the batch monitor
 * notices the silence and asks the distributor. Its command, in a process group of its own, is not
 * killed with it: it dies of SIGPIPE at its next write to the dead wrapper's pipes, or runs to its
 * end if it never writes (on Slurm the job's cgroup is cleaned up anyway).
 */
import { statSync } from 'node:fs';
import os from 'node:os';
import { ApiClient, ApiUnavailableError, type RetryPolicy } from './api-client';
import { RunningCommand, type CommandOutcome } from './run-command';
import { oomKillCount } from './oom';
import { UsageSampler, type Usage } from './usage';
import { Heartbeat, statusOf } from './heartbeat';
import { KILL_GRACE_MS, SignalForwarder, type SignalSource } from './signals';
import { BannerWatch, batchSignalVerdict } from './batch-signal';
import type { ReportKind, ReportSender } from './report-batcher';

/** Jobmon's exit code for a worker-node failure (198 is its version mismatch). */
export const WRAPPER_FAILURE_EXIT_CODE = 199;
/** Lines of stderr quoted in an error report's message. */
const MESSAGE_STDERR_LINES = 20;

export interface WrapperOptions {
  taskInstanceId: number;
  apiUrl: string;
  /** Defaults to the wrapper's pid. */
  distributorId?: string;
  token?: string;
  retryPolicy?: RetryPolicy;
  /** Environment the command inherits (JMT_TOKEN is removed: the command has no use for it). */
  env?: NodeJS.ProcessEnv;
  /** Where SIGTERM/SIGINT come from; the process's own signals unless the local executor says. */
  signals?: SignalSource;
  /** Told the command's pid once it runs (the local executor records it). */
  onCommandStarted?: (pid: number) => void;
  /**
   * Sends the running, done and error reports; by default one request each through this run's
   * client. The local executor's batches them with its other tasks' (src/worker-node/report-batcher.ts).
   */
  reports?: ReportSender;
  log: (message: string) => void;
}

/** The running callback's 200 answer (docs/api-contract.md, "Worker-node wrapper callbacks"). */
interface RunningAnswer {
  task_instance_id: number;
  task_id: number;
  workflow_id: number;
  workflow_run_id: number;
  name: string;
  command: string;
  stdout_path: string;
  stderr_path: string;
  /** Where to run the command (Jobmon: the control script's directory); absent/null: our own. */
  working_dir?: string | null;
  heartbeat_interval_s: number;
  report_by_s: number;
}

type ErrorState = 'E' | 'Z' | 'U' | 'F';
type EndBody = {
  exit_code: number | null;
  wallclock_s?: number;
  maxrss_bytes?: number;
  cpu_s?: number;
  stdout_tail?: string;
  stderr_tail?: string;
  nodename: string;
};

/** One wrapper run's shared parts: what each step below reads, and what the failure path must undo. */
interface WrapperRun {
  opts: WrapperOptions;
  id: number;
  log: (message: string) => void;
  api: ApiClient;
  /** The running and final reports go through this (heartbeats through `api`). */
  reports: ReportSender;
  nodename: string;
  distributorId: string;
  env: NodeJS.ProcessEnv;
  signals: SignalForwarder;
  banners: BannerWatch;
  /** An end report was sent (whatever its answer): the failure path must not send a second. */
  reported: boolean;
  // Held here so that a wrapper failure does not leave the command running unwatched.
  running?: RunningCommand;
  heartbeat?: Heartbeat;
}

export async function runWrapper(opts: WrapperOptions): Promise<number> {
  const env = opts.env ?? process.env;
  const api = new ApiClient(opts.apiUrl, opts.token, opts.log, opts.retryPolicy);
  const id = opts.taskInstanceId;
  const run: WrapperRun = {
    opts,
    id,
    log: opts.log,
    api,
    reports: opts.reports ?? ((kind: ReportKind, body: object) => api.post(`/task-instances/${id}/${kind}`, body)),
    nodename: os.hostname(),
    distributorId: opts.distributorId ?? String(process.pid),
    env,
    signals: new SignalForwarder(opts.log, opts.signals),
    // Where the batch system explains a signal it sends: only what it writes from now on counts.
    banners: BannerWatch.start(env),
    reported: false,
  };
  try {
    const ti = await reportRunning(run);
    if (typeof ti === 'number') return ti;
    const command = await startCommand(run, ti);
    if (typeof command === 'number') return command;
    return await watchCommand(run, ti, command);
  } catch (err) {
    return await wrapperFailure(run, err);
  } finally {
    run.signals.uninstall();
  }
}

/** Sends the done or error report; 0 once the API took it. */
async function report(
  run: WrapperRun,
  kind: 'done' | 'error',
  body: EndBody & { error_state?: ErrorState; message?: string },
): Promise<number> {
  const res = await run.reports(kind, body);
  run.reported = true;
  if (res.status >= 400) {
    run.log(`${kind} report refused: HTTP ${res.status} ${JSON.stringify(res.body)}`);
    return WRAPPER_FAILURE_EXIT_CODE;
  }
  run.log(
    `reported ${kind}${body.error_state ? ` (${body.error_state})` : ''}; instance status now ${statusOf(res.body) ?? '?'}`,
  );
  return 0;
}

/** The running callback: the instance's command and paths, or the exit code when there is nothing to run. */
async function reportRunning(run: WrapperRun): Promise<RunningAnswer | number> {
  const { log, nodename } = run;
  const res = await run.reports('running', {
    distributor_id: run.distributorId,
    nodename,
    process_id: process.pid,
  });
  if (res.status === 409) {
    // Not an error of ours: the instance was killed, finished or rescheduled before we started.
    log(`not running the command: ${errorMessage(res.body) ?? 'instance is not runnable'}`);
    return 0;
  }
  if (res.status !== 200) {
    log(`running report refused: HTTP ${res.status} ${JSON.stringify(res.body)}`);
    return WRAPPER_FAILURE_EXIT_CODE;
  }
  const ti = checkRunningAnswer(res.body);
  if (run.signals.received) {
    return await report(run, 'error', {
      exit_code: null,
      error_state: 'E',
      message: `the job received ${run.signals.received} before its command started`,
      nodename,
    });
  }
  return ti;
}

/** Starts the command in its working directory, or reports why it could not (returning the exit code). */
async function startCommand(run: WrapperRun, ti: RunningAnswer): Promise<RunningCommand | number> {
  const { nodename } = run;
  const cwd = ti.working_dir ?? undefined;
  if (cwd !== undefined && !isDirectory(cwd)) {
    return await report(run, 'error', {
      exit_code: null,
      error_state: 'E',
      message: `the working directory ${cwd} (where the workflow was bound) does not exist on ${nodename}; bind from a directory the nodes share, or set the template's working_dir`,
      nodename,
    });
  }
  try {
    run.running = await RunningCommand.start({
      command: ti.command,
      stdoutPath: ti.stdout_path,
      stderrPath: ti.stderr_path,
      cwd,
      env: commandEnv(run.env, ti),
    });
    return run.running;
  } catch (err) {
    return await report(run, 'error', {
      exit_code: null,
      error_state: 'U',
      message: `could not start the command: ${(err as Error).message}`,
      nodename,
    });
  }
}

/** Heartbeats and forwards signals while the command runs, then reports how it ended. */
async function watchCommand(run: WrapperRun, ti: RunningAnswer, command: RunningCommand): Promise<number> {
  const { log, signals } = run;
  log(`started command (pid ${command.pid}): ${ti.command}`);
  run.opts.onCommandStarted?.(command.pid);
  const sampler = new UsageSampler(command.pid);
  const oomKillsBefore = oomKillCount();
  signals.attach(command);
  const heartbeat = new Heartbeat(run.api, run.id, run.distributorId, ti.heartbeat_interval_s, log, () =>
    command.terminate(KILL_GRACE_MS),
  );
  run.heartbeat = heartbeat;

  const outcome = await command.done;
  heartbeat.stop();
  signals.detach();
  const usage = sampler.finish(outcome.reapedTicks);
  log(
    `command ended: exit code ${outcome.exitCode}${outcome.signal ? ` (${outcome.signal})` : ''} after ${outcome.wallclockS.toFixed(1)} s`,
  );

  const body = endBody(outcome, usage, run.nodename);
  if (heartbeat.killRequested) {
    return await report(run, 'error', {
      ...body,
      error_state: 'F',
      message: `killed by operator (the API answered a heartbeat with K); ${describeEnd(outcome)}`,
    });
  }
  if (outcome.exitCode === 0 && !outcome.signal) return await report(run, 'done', body);
  return await reportFailedCommand(run, outcome, body, oomKillsBefore);
}

/**
 * The error report of a command that failed: E, unless the batch system says more.
 * A signal from the batch system may say more than "error" (time limit, outside cancel).
 * Slurm signals every process of the step at once (scancel, the time limit): the command may
 * die of that SIGTERM before the wrapper's own handler has run. So a command ended by SIGTERM
 * is judged as the batch system declared (F for an outside cancel, Z past the time limit), and
 * any signal past the time limit is the limit. Not SIGKILL before it: that is the memory
 * limit's kill, which the monitor judges from the batch system's record.
 */
async function reportFailedCommand(
  run: WrapperRun,
  outcome: CommandOutcome,
  body: EndBody,
  oomKillsBefore: number | undefined,
): Promise<number> {
  const { signals } = run;
  // A failed command while the job's memory cgroup counted an OOM kill (the command or one of its
  // children, e.g. under a shell that then exits 137): the job's memory limit (cgroup enforcement).
  const oomKillsAfter = oomKillCount();
  if (oomKillsAfter !== undefined && oomKillsAfter > (oomKillsBefore ?? 0)) {
    return await report(run, 'error', {
      ...body,
      error_state: 'Z',
      message: `the job's memory cgroup killed the command over its memory limit (OUT_OF_MEMORY, resource error: memory); ${errorText(outcome, signals.received)}`,
    });
  }
  const signalVerdict = batchSignalVerdict(run.env, Date.now(), run.banners.read());
  const heardFirstHand = outcome.signal === 'SIGTERM' || (outcome.signal !== null && signalVerdict?.state === 'Z');
  const verdict = signals.received || heardFirstHand ? signalVerdict : undefined;
  const message = errorText(outcome, signals.received);
  return await report(run, 'error', {
    ...body,
    error_state: verdict?.state ?? 'E',
    message: verdict ? `${verdict.reason}; ${message}` : message,
  });
}

/** The wrapper itself failed: stop what it started, tell the API if it still can, exit 199. */
async function wrapperFailure(run: WrapperRun, err: unknown): Promise<number> {
  const { log, running } = run;
  log(`wrapper failure: ${(err as Error).stack ?? String(err)}`);
  run.heartbeat?.stop();
  // A command nobody watches or reports on would run on while the task is retried elsewhere.
  if (running?.signalGroup('SIGKILL')) log(`killed the command's process group ${running.pid}`);
  // Try once more to tell the API, unless it is the API that failed or we already reported.
  if (!run.reported && !(err instanceof ApiUnavailableError)) {
    try {
      await run.reports('error', {
        exit_code: null,
        error_state: 'U',
        message: `worker-node wrapper failure: ${(err as Error).message}`,
        nodename: run.nodename,
      });
    } catch (reportErr) {
      log(`could not report the wrapper failure: ${(reportErr as Error).message}`);
    }
  }
  return WRAPPER_FAILURE_EXIT_CODE;
}

function isDirectory(dir: string): boolean {
  try {
    return statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

/** The running answer, checked where a wrong one would fail obscurely later. */
function checkRunningAnswer(body: unknown): RunningAnswer {
  const ti = body as Partial<RunningAnswer> | undefined;
  const missing = (['command', 'stdout_path', 'stderr_path'] as const).filter((k) => typeof ti?.[k] !== 'string');
  if (!ti || missing.length) throw new Error(`the running answer lacks ${missing.join(', ') || 'a body'}`);
  return ti as RunningAnswer;
}

/** The command's environment: the job's, plus Jobmon's and our ids, minus the API token. */
function commandEnv(base: NodeJS.ProcessEnv, ti: RunningAnswer): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  delete env.JMT_TOKEN;
  const ids = {
    TASK_INSTANCE_ID: ti.task_instance_id,
    TASK_ID: ti.task_id,
    WORKFLOW_ID: ti.workflow_id,
    WORKFLOW_RUN_ID: ti.workflow_run_id,
  };
  for (const [k, v] of Object.entries(ids)) {
    env[`JMT_${k}`] = String(v);
    env[`JOBMON_${k}`] = String(v);
  }
  return env;
}

function endBody(outcome: CommandOutcome, usage: Usage, nodename: string): EndBody {
  return {
    exit_code: outcome.exitCode,
    wallclock_s: outcome.wallclockS,
    maxrss_bytes: usage.maxrssBytes,
    cpu_s: usage.cpuS,
    stdout_tail: outcome.stdoutTail,
    stderr_tail: outcome.stderrTail,
    nodename,
  };
}

function describeEnd(outcome: CommandOutcome): string {
  return outcome.signal
    ? `the command was killed by ${outcome.signal} (exit code ${outcome.exitCode})`
    : `exit code ${outcome.exitCode}`;
}

function errorText(outcome: CommandOutcome, forwarded: NodeJS.Signals | undefined): string {
  const lines = outcome.stderrTail.replace(/\s+$/, '').split('\n').slice(-MESSAGE_STDERR_LINES).join('\n');
  const head = forwarded
    ? `the job received ${forwarded} (time limit, scancel or terminate) and passed it on; ${describeEnd(outcome)}`
    : describeEnd(outcome);
  return lines ? `${head}\nstderr (last lines):\n${lines}` : head;
}

function errorMessage(body: unknown): string | undefined {
  const error =
    typeof body === 'object' && body !== null
      ? (body as { error?: { code?: string; message?: string } }).error
      : undefined;
  return error ? `${error.code ?? ''}: ${error.message ?? ''}` : undefined;
}
