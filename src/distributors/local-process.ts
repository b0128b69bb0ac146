/**
 * Shared code of the `sequential` and `multiprocess` distributors: every task instance runs in the
 * worker-node wrapper's code, as on a cluster, when a slot of the pool is free. By default in the
 * local executor (src/worker-node/executor.ts: one long-lived process that runs many tasks, each
 * still `bash -c` in a session of its own, without a Node start per task); with `wrapper` (or
 * JMT_LOCAL_EXECUTOR=0) in one wrapper process per task, exactly as on a cluster.
 *
 * Executor tasks are recorded like wrappers (below), with the executor's pid and a state file the
 * executor keeps (command pid, end): a task is live while its executor is alive and it has not
 * ended; a task whose executor died without an end is lost, and its command, which nobody watches
 * any more, is killed so that the retry never runs beside it.
 *
 * Wrappers are spawned detached (own session and process group, output to a log file, unref'd), so
 * they survive the death of the worker that started them and still report to the API: a killed
 * worker, restarted, loses nothing that had started. For liveness across that restart each spawn
 * is recorded on disk (pid + /proc start time, see local-job-records.ts); the distributor id names
 * the host and task instance and is fixed at submit time, before the process exists, and passed
 * to the wrapper with `--distributor-id` so its reports carry the same id.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Config } from '../config';
import { executorCommand, wrapperCommand } from './wrapper-command';
import { type ExecutorTaskState } from '../worker-node/executor';
import { readSnapshot } from '../worker-node/state-file';
import { isProcessAlive, readStat } from '../worker-node/proc';
import { executorTaskAlive, LocalExecutorClient } from './local-executor-client';
import type { Distributor, RemoteExitInfo, SubmitRequest, SubmitResult } from './distributor';
import { LocalJobRecords, type LocalJobRecord } from './local-job-records';
import type { LocalJob, LocalSlotPool, StartedProcess } from './local-slot-pool';

/**
 * From terminate's SIGTERM to SIGKILL of the wrapper's group: the wrapper itself gives its command
 * 10 s before SIGKILL and then needs a moment to report, so only a wedged wrapper is SIGKILLed.
 */
export const TERMINATE_GRACE_MS = 30_000;

export interface LocalProcessOptions {
  clusterType: 'sequential' | 'multiprocess';
  config: Config;
  apiUrl: string;
  pool: LocalSlotPool;
  /** Command that starts a wrapper per task; when given (and `executor` is not), no executor is used. */
  wrapper?: string[];
  /** Command that starts the local executor; the default unless `wrapper` or JMT_LOCAL_EXECUTOR=0. */
  executor?: string[];
  terminateGraceMs?: number;
}

export class LocalProcessDistributor implements Distributor {
  readonly clusterType: 'sequential' | 'multiprocess';
  readonly records: LocalJobRecords;
  readonly #pool: LocalSlotPool;
  readonly #wrapper: string[];
  readonly #apiUrl: string;
  readonly #env: NodeJS.ProcessEnv;
  readonly #graceMs: number;
  readonly #host = os.hostname();
  /** Set in executor mode. */
  readonly #executor: LocalExecutorClient | undefined;
  /**
   * Executor tasks whose command has exited and whose final report is on its way: their slot is
   * free already (the next task's running report queues behind that report, so the two often
   * share a request), but they are live until the executor says they ended.
   */
  readonly #exitedTasks = new Set<string>();
  #closed = false;

  constructor(opts: LocalProcessOptions) {
    this.clusterType = opts.clusterType;
    this.#pool = opts.pool;
    this.#apiUrl = opts.apiUrl;
    this.#graceMs = opts.terminateGraceMs ?? TERMINATE_GRACE_MS;
    const useExecutor =
      opts.executor !== undefined || (opts.wrapper === undefined && process.env.JMT_LOCAL_EXECUTOR !== '0');
    this.#wrapper =
      (useExecutor ? opts.executor : opts.wrapper) ?? (useExecutor ? executorCommand() : wrapperCommand());
    if (!opts.wrapper && !opts.executor && !existsSync(this.#wrapper[1])) {
      throw new Error(`the worker-node wrapper is not built (${this.#wrapper[1]} is missing): run \`npm run build\``);
    }
    // Jobs get their batch's job token (per submit), never the worker's own API token.
    this.#env = { ...process.env };
    delete this.#env.JMT_TOKEN;
    delete this.#env.JMT_TOKENS;
    this.records = new LocalJobRecords(path.join(opts.config.logDir, 'local-distributor'));
    this.#executor = useExecutor ? new LocalExecutorClient(this.records.dir, this.#wrapper, this.#env) : undefined;
    // Housekeeping off the constructor's path; an old record whose wrapper still runs is kept.
    setImmediate(() => {
      try {
        this.records.prune((r) => this.#recordAlive(r));
      } catch {
        // Pruning is best effort: a full or read-only disk must not stop the distributor.
      }
    }).unref();
  }

  async submit(request: SubmitRequest): Promise<SubmitResult> {
    const distributorIds = new Map<number, string>();
    if (this.#closed) {
      const errors = new Map(
        request.instances.map((i) => [i.taskInstanceId, `${this.clusterType} distributor is closed`]),
      );
      return { distributorIds, errors };
    }
    if (this.#executor) {
      try {
        await this.#executor.connect();
      } catch (err) {
        const message = `the local executor is not available: ${(err as Error).message}`;
        return { distributorIds, errors: new Map(request.instances.map((i) => [i.taskInstanceId, message])) };
      }
    }
    const jobs: LocalJob[] = request.instances.map((inst) => {
      const id = `local:${this.#host}:${inst.taskInstanceId}:${randomBytes(3).toString('hex')}`;
      distributorIds.set(inst.taskInstanceId, id);
      return {
        id,
        batchKey: `batch-${request.batchId}`,
        batchLimit: request.concurrencyLimit,
        owner: this,
        start: () =>
          this.#executor
            ? this.#handOver(this.#executor, id, inst.taskInstanceId, request.jobToken)
            : this.#spawn(id, inst.taskInstanceId, request.jobToken),
      };
    });
    this.#pool.enqueue(jobs);
    return { distributorIds };
  }

  async liveJobs(distributorIds: string[]): Promise<Set<string>> {
    const live = new Set<string>();
    for (const id of distributorIds) if (this.#isLive(id)) live.add(id);
    return live;
  }

  #isLive(id: string): boolean {
    if (this.#pool.isQueued(id) || (!this.#executor && this.#pool.runningPid(id) !== undefined)) return true;
    // Executor tasks are judged by their state file and executor now, not by the pool, which
    // hears of an executor's death only through its next poll.
    const record = this.records.read(id);
    if (!record) return this.#executor !== undefined && this.#pool.runningPid(id) !== undefined;
    // Its slot is free already (so not adopted into one), its end not yet reported.
    if (this.#exitedTasks.has(id)) return this.#recordAlive(record);
    if (this.#executor && this.#pool.runningPid(id) !== undefined && !record.spawnError && !this.#state(record)) {
      return true; // being handed over (the first executor was exiting and a new one starts)
    }
    if (this.#recordAlive(record)) {
      // Started by a previous worker and still running: it occupies a slot of this machine.
      if (this.#pool.runningPid(id) === undefined) this.#pool.adopt(id, record.pid!, () => this.#recordAlive(record));
      return true;
    }
    if (record.executor) this.#killOrphan(record);
    return false;
  }

  async remoteExitInfo(distributorId: string): Promise<RemoteExitInfo> {
    const record = this.records.read(distributorId);
    const logTail = this.records.logTail(distributorId);
    const withLog = (message: string): string =>
      logTail ? `${message}; wrapper log (${this.records.logPath(distributorId)}) ends:\n${logTail}` : message;
    // Jobmon's local distributors know no more than "unknown": there is no accounting to ask.
    if (this.#pool.isQueued(distributorId)) return { status: 'U', message: `job ${distributorId} is still queued` };
    if (!record) {
      return {
        status: 'U',
        message: `job ${distributorId} was never started: it was queued in a worker process that has since stopped (or on another machine)`,
      };
    }
    if (record.spawnError) return { status: 'U', message: `the wrapper could not be started: ${record.spawnError}` };
    if (record.host !== this.#host) {
      return {
        status: 'U',
        message: `wrapper process ${record.pid} ran on ${record.host}; it cannot be checked from ${this.#host}`,
      };
    }
    if (record.executor) return { status: 'U', message: withLog(this.#executorExitMessage(record)) };
    if (this.#recordAlive(record)) {
      return {
        status: 'U',
        message: withLog(`wrapper process ${record.pid} on ${record.host} is still running but stopped reporting`),
      };
    }
    if (record.exit) {
      const how = record.exit.signal ? `was killed by ${record.exit.signal}` : `exited with code ${record.exit.code}`;
      return {
        status: 'U',
        exitCode: record.exit.code ?? undefined,
        message: withLog(`wrapper process ${record.pid} on ${record.host} ${how} without a final report`),
      };
    }
    return {
      status: 'U',
      message: withLog(`wrapper process ${record.pid} on ${record.host} is gone without a final report`),
    };
  }

  async terminate(distributorIds: string[]): Promise<void> {
    for (const id of distributorIds) {
      if (this.#pool.removeQueued(id)) continue; // never started: nothing to kill
      const record = this.records.read(id);
      if (record?.executor) {
        await this.#terminateInExecutor(record);
        continue;
      }
      const pid = this.#pool.runningPid(id) ?? (record && this.#recordAlive(record) ? record.pid : undefined);
      if (pid === undefined) continue;
      const startTime = record?.startTime;
      // The wrapper leads its own group; SIGTERM makes it pass the signal to its command's group
      // and report the outcome. SIGKILL only if it is still there after the grace.
      signalGroup(pid, 'SIGTERM');
      setTimeout(() => {
        if (isProcessAlive(pid, startTime)) signalGroup(pid, 'SIGKILL');
      }, this.#graceMs).unref();
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    // Queued jobs of this distributor are dropped (the monitor retries them); running ones stay,
    // in their wrappers or in the executor, which outlives this connection.
    this.#pool.removeQueuedOf(this);
    this.#executor?.close();
  }

  #recordAlive(record: LocalJobRecord): boolean {
    if (record.pid === undefined || record.exit || record.spawnError || record.host !== this.#host) return false;
    if (record.executor) return executorTaskAlive(this.#state(record), record);
    return isProcessAlive(record.pid, record.startTime);
  }

  #state(record: LocalJobRecord): ExecutorTaskState | undefined {
    return record.statePath ? readSnapshot<ExecutorTaskState>(record.statePath) : undefined;
  }

  /** The command of a task whose executor died: nobody watches or reports it; it must not run on. */
  #killOrphan(record: LocalJobRecord): void {
    const state = this.#state(record);
    if (state?.exit || state?.commandPid === undefined || record.host !== this.#host) return;
    if (isProcessAlive(state.commandPid, state.commandStartTime)) signalGroup(state.commandPid, 'SIGKILL');
  }

  #executorExitMessage(record: LocalJobRecord): string {
    const state = this.#state(record);
    const where = `the local executor (pid ${state?.executorPid ?? record.pid}) on ${record.host}`;
    if (this.#recordAlive(record)) return `task is still running in ${where} but stopped reporting`;
    if (state?.exit) return `task ended in ${where} (wrapper exit code ${state.exit.code}) without a final report`;
    return `${where} is gone without a final report for this task`;
  }

  /** SIGTERM through the executor (the task reports how its command ended); SIGKILL after the grace. */
  async #terminateInExecutor(record: LocalJobRecord): Promise<void> {
    if (!this.#recordAlive(record)) return this.#killOrphan(record);
    await this.#executor?.connect().catch(() => undefined);
    if (!this.#executor?.terminate(record.distributorId)) {
      const pid = this.#state(record)?.commandPid;
      if (pid !== undefined) signalGroup(pid, 'SIGTERM');
    }
    setTimeout(() => {
      const state = this.#state(record);
      if (!state?.exit && state?.commandPid !== undefined && isProcessAlive(state.commandPid, state.commandStartTime))
        signalGroup(state.commandPid, 'SIGKILL');
    }, this.#graceMs).unref();
  }

  /** Start a task in the local executor (submit connected to it); settles when the task has ended. */
  #handOver(
    executor: LocalExecutorClient,
    id: string,
    taskInstanceId: number,
    jobToken: string | undefined,
  ): StartedProcess {
    const info = executor.info();
    if (!info) {
      this.records.write({ ...this.#baseRecord(id, taskInstanceId), spawnError: 'the local executor is not running' });
      throw new Error('the local executor is not running');
    }
    const record: LocalJobRecord = {
      ...this.#baseRecord(id, taskInstanceId),
      pid: info.pid,
      startTime: info.startTime,
      executor: true,
      statePath: this.records.statePath(id),
    };
    this.records.write(record);
    // The slot is held until the command has exited (or, with an executor that does not say so,
    // until the task ended); liveness until it ended.
    let freeSlot!: () => void;
    const exited = new Promise<void>((resolve) => (freeSlot = resolve));
    const ended = () => {
      this.#exitedTasks.delete(id);
      freeSlot();
    };
    executor
      .run(
        {
          id,
          taskInstanceId,
          apiUrl: this.#apiUrl,
          token: jobToken,
          logPath: record.logPath,
          statePath: record.statePath!,
        },
        (code) => {
          // The connection was lost, not the task: it holds its slot until its state says it ended
          // (unless its command had exited already).
          if (code === undefined && !this.#exitedTasks.has(id))
            this.#pool.adopt(id, record.pid!, () => this.#recordAlive(record));
          ended();
        },
        () => {
          this.#exitedTasks.add(id);
          freeSlot();
        },
      )
      .then((took) => {
        // Handed to a fresh executor because the one it was meant for was exiting.
        if (took.pid !== record.pid) {
          Object.assign(record, { pid: took.pid, startTime: took.startTime });
          this.records.update(id, { pid: took.pid, startTime: took.startTime });
        }
      })
      .catch((err: unknown) => {
        try {
          this.records.update(id, { spawnError: (err as Error).message });
        } finally {
          ended();
        }
      });
    return { pid: info.pid, exited };
  }

  #baseRecord(id: string, taskInstanceId: number): LocalJobRecord {
    return {
      distributorId: id,
      taskInstanceId,
      host: this.#host,
      logPath: this.records.logPath(id),
      spawnedAt: new Date().toISOString(),
    };
  }

  #spawn(id: string, taskInstanceId: number, jobToken: string | undefined): StartedProcess {
    const logPath = this.records.logPath(id);
    const base: LocalJobRecord = {
      distributorId: id,
      taskInstanceId,
      host: this.#host,
      logPath,
      spawnedAt: new Date().toISOString(),
    };
    let fd: number | undefined;
    try {
      fd = openSync(logPath, 'a');
      const [cmd, ...args] = this.#wrapper;
      const child = spawn(
        cmd,
        [...args, '--task-instance-id', String(taskInstanceId), '--api-url', this.#apiUrl, '--distributor-id', id],
        {
          detached: true,
          stdio: ['ignore', fd, fd],
          // The wrapper reads its token from the environment, never from its (visible) arguments.
          env: jobToken ? { ...this.#env, JMT_TOKEN: jobToken } : this.#env,
        },
      );
      if (child.pid === undefined) {
        // spawn reports e.g. ENOENT asynchronously; the pid being absent already says it failed.
        child.once('error', (err) => this.records.update(id, { spawnError: err.message }));
        throw new Error(`could not start ${cmd}`);
      }
      const pid = child.pid;
      this.records.write({ ...base, pid, startTime: readStat(pid)?.startTime ?? null });
      const exited = new Promise<void>((resolve) => {
        child.once('exit', (code, signal) => {
          try {
            this.records.update(id, { exit: { code, signal, at: new Date().toISOString() } });
          } finally {
            resolve();
          }
        });
        child.once('error', () => resolve());
      });
      // The worker must be free to exit while wrappers run on.
      child.unref();
      return { pid, exited };
    } catch (err) {
      try {
        if (!this.records.read(id)) this.records.write({ ...base, spawnError: (err as Error).message });
      } catch {
        // The record is a convenience for remoteExitInfo; the job is lost either way.
      }
      throw err;
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}
