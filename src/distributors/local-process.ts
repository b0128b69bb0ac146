/**
 * Shared code of the `sequential` and `multiprocess` distributors: every task instance runs in the
 * worker-node wrapper, as on a cluster, started as a local process when a slot of the pool is free.
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
import { wrapperCommand } from './wrapper-command';
import { isProcessAlive, readStat } from '../worker-node/proc';
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
  /** Command that starts the wrapper; defaults to the built wrapper (wrapper-command.ts). */
  wrapper?: string[];
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
  #closed = false;

  constructor(opts: LocalProcessOptions) {
    this.clusterType = opts.clusterType;
    this.#pool = opts.pool;
    this.#apiUrl = opts.apiUrl;
    this.#graceMs = opts.terminateGraceMs ?? TERMINATE_GRACE_MS;
    this.#wrapper = opts.wrapper ?? wrapperCommand();
    if (!opts.wrapper && !existsSync(this.#wrapper[1])) {
      throw new Error(`the worker-node wrapper is not built (${this.#wrapper[1]} is missing): run \`npx tsc -p .\``);
    }
    // Jobs get their batch's job token (per submit), never the worker's own API token.
    this.#env = { ...process.env };
    delete this.#env.JMT_TOKEN;
    delete this.#env.JMT_TOKENS;
    this.records = new LocalJobRecords(path.join(opts.config.logDir, 'local-distributor'));
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
    const jobs: LocalJob[] = request.instances.map((inst) => {
      const id = `local:${this.#host}:${inst.taskInstanceId}:${randomBytes(3).toString('hex')}`;
      distributorIds.set(inst.taskInstanceId, id);
      return {
        id,
        batchKey: `batch-${request.batchId}`,
        batchLimit: request.concurrencyLimit,
        owner: this,
        start: () => this.#spawn(id, inst.taskInstanceId, request.jobToken),
      };
    });
    this.#pool.enqueue(jobs);
    return { distributorIds };
  }

  async liveJobs(distributorIds: string[]): Promise<Set<string>> {
    const live = new Set<string>();
    for (const id of distributorIds) {
      if (this.#pool.isQueued(id) || this.#pool.runningPid(id) !== undefined) {
        live.add(id);
        continue;
      }
      const record = this.records.read(id);
      if (record && this.#recordAlive(record)) {
        live.add(id);
        // Started by a previous worker and still running: it occupies a slot of this machine.
        this.#pool.adopt(id, record.pid!, () => this.#recordAlive(record));
      }
    }
    return live;
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
    // Queued jobs of this distributor are dropped (the monitor retries them); running ones stay.
    this.#pool.removeQueuedOf(this);
  }

  #recordAlive(record: LocalJobRecord): boolean {
    if (record.pid === undefined || record.exit || record.spawnError || record.host !== this.#host) return false;
    return isProcessAlive(record.pid, record.startTime);
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
