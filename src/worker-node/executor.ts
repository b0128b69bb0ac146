#!/usr/bin/env node
/**
 * The local executor: one long-lived process per machine and JMT_HOME that runs the tasks of the
 * sequential and multiprocess distributors. Each task is run exactly as the per-task wrapper runs
 * it (runWrapper: the running report, `bash -c` in a session of its own with its own output files,
 * heartbeats, usage, exit classification, a final report that rides out an API outage), but a
 * task costs no Node start: that start was most of a short task's CPU and wall time.
 *
 *   node dist/worker-node/executor.cjs --dir <the local distributor's records directory>
 *
 * Started (detached, in its own session) by the first local distributor that needs it; it outlives
 * the worker, so a restarted worker finds its tasks running, and it exits after IDLE_EXIT_MS with
 * no task and no connection. Requests come as newline-delimited JSON over a Unix socket (its path in
 * <dir>/executor.json, mode 0600):
 *
 *   → {"op":"run","id","taskInstanceId","apiUrl","token"?,"logPath","statePath"}
 *   ← {"op":"started","id"} | {"op":"refused","id","error","stopping"?}   (stopping: ask a new one)
 *   → {"op":"terminate","id"}                       (as SIGTERM to that task's wrapper)
 *   ← {"op":"exited","id"}                          (to every connection: the command has exited and
 *                                                     its final report is queued; the slot is free)
 *   ← {"op":"ended","id","code"}                    (to every connection)
 *   → {"op":"bye"}                                   (a distributor closing: with no task left and
 *                                                     nobody else connected, exit now, not when idle)
 *
 * The tasks' running and final reports are batched (src/worker-node/report-batcher.ts): while one
 * request to the API is in flight, the reports of other tasks queue and leave together with it
 * answered, over one kept-alive connection, instead of a request and a connection per task.
 *
 * Each task's state is a small file of JSON snapshots (statePath, appended to: state-file.ts says
 * why) that the distributors read: which executor runs it, its command's pid and /proc start time, and its end. A task whose
 * executor is gone without an end is lost (the distributor then kills its command's group).
 * Node built-ins and this folder only, bundled into one file like the wrapper.
 */
import { EventEmitter } from 'node:events';
import { appendFileSync, chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { retryPolicyFromEnv } from './api-client';
import { isProcessAlive, readStat } from './proc';
import { ReportBatcher, type ReportSender } from './report-batcher';
import { appendSnapshot } from './state-file';
import { runWrapper, WRAPPER_FAILURE_EXIT_CODE } from './wrapper';

/** With no task running and nobody connected for this long, the executor exits. */
export const IDLE_EXIT_MS = 60_000;

/** <dir>/executor.json: who the executor is and where to reach it. */
export interface ExecutorInfo {
  pid: number;
  /** /proc start time of pid, to tell it from a reused pid. */
  startTime: number | null;
  socket: string;
  startedAt: string;
}

/** A task's state file, written by the executor. */
export interface ExecutorTaskState {
  executorPid: number;
  executorStartTime: number | null;
  commandPid?: number;
  commandStartTime?: number | null;
  exit?: { code: number; at: string };
}

export interface RunRequest {
  op: 'run';
  id: string;
  taskInstanceId: number;
  apiUrl: string;
  token?: string;
  logPath: string;
  statePath: string;
}

export function executorInfoPath(dir: string): string {
  return path.join(dir, 'executor.json');
}

/**
 * The socket's path: in `dir` when it fits a Unix socket address (108 bytes on Linux), else in the
 * temporary directory under a name derived from `dir`.
 */
export function executorSocketPath(dir: string): string {
  const inDir = path.join(dir, 'executor.sock');
  if (Buffer.byteLength(inDir) < 100) return inDir;
  let h = 0;
  for (const c of dir) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return path.join(os.tmpdir(), `jmt-executor-${h.toString(36)}-${process.getuid?.() ?? 0}.sock`);
}

export function writeJsonAtomic(file: string, value: unknown): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(value), { mode: 0o600 });
  renameSync(tmp, file);
}

export function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

class Executor {
  readonly #tasks = new Map<string, EventEmitter>();
  readonly #clients = new Set<net.Socket>();
  readonly #saidBye = new WeakSet<net.Socket>();
  readonly #env: NodeJS.ProcessEnv;
  readonly #self = { pid: process.pid, startTime: readStat('self')?.startTime ?? null };
  readonly #reports: ReportBatcher;
  #idleTimer: NodeJS.Timeout | undefined;
  #stopping = false;
  #server: net.Server | undefined;

  constructor(
    readonly dir: string,
    readonly log: (m: string) => void,
  ) {
    this.#env = { ...process.env };
    delete this.#env.JMT_TOKEN;
    delete this.#env.JMT_TOKENS;
    this.#reports = new ReportBatcher(log, retryPolicyFromEnv(this.#env));
  }

  /** Listen; false when another live executor already serves this directory. */
  async listen(): Promise<boolean> {
    const socket = executorSocketPath(this.dir);
    const other = readJson<ExecutorInfo>(executorInfoPath(this.dir));
    if (other && other.pid !== process.pid && isProcessAlive(other.pid, other.startTime)) return false;
    rmSync(socket, { force: true }); // a dead executor's
    const server = net.createServer((c) => this.#accept(c));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socket, () => resolve());
    });
    this.#server = server;
    chmodSync(socket, 0o600); // job tokens pass through it
    writeJsonAtomic(executorInfoPath(this.dir), {
      ...this.#self,
      socket,
      startedAt: new Date().toISOString(),
    } satisfies ExecutorInfo);
    this.log(`listening on ${socket}`);
    this.#armIdle();
    return true;
  }

  /** SIGTERM/SIGINT to the executor: every task gets it (and reports); exit when all have ended. */
  stop(signal: NodeJS.Signals): void {
    this.log(`received ${signal}: passing it on to ${this.#tasks.size} task(s)`);
    this.#stopping = true;
    this.#server?.close();
    for (const task of this.#tasks.values()) task.emit(signal, signal);
    this.#exitIfDone();
  }

  #accept(c: net.Socket): void {
    this.#clients.add(c);
    this.#armIdle();
    let buffered = '';
    c.setEncoding('utf8');
    c.on('data', (chunk: string) => {
      buffered += chunk;
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line.trim()) this.#handle(c, line);
      }
    });
    c.on('error', () => undefined); // a client gone mid-write: 'close' follows
    c.on('close', () => {
      this.#clients.delete(c);
      if (this.#saidBye.has(c) && this.#clients.size === 0 && this.#tasks.size === 0) {
        this.log('the last distributor closed and no task runs: exiting');
        this.#stopping = true;
        this.#server?.close();
        this.#exitIfDone();
      }
      this.#armIdle();
    });
  }

  #handle(c: net.Socket, line: string): void {
    let msg: Omit<Partial<RunRequest>, 'op'> & { op?: string };
    try {
      msg = JSON.parse(line) as typeof msg;
    } catch {
      this.log(`ignoring a request that is not JSON: ${line.slice(0, 200)}`);
      return;
    }
    if (msg.op === 'bye') {
      this.#saidBye.add(c);
      return;
    }
    if (msg.op === 'terminate' && typeof msg.id === 'string') {
      this.#tasks.get(msg.id)?.emit('SIGTERM', 'SIGTERM');
      return;
    }
    if (msg.op !== 'run') return this.log(`ignoring unknown request ${JSON.stringify(msg.op)}`);
    if (this.#stopping) {
      sendTo(c, { op: 'refused', id: msg.id, error: 'the executor is exiting', stopping: true });
      return;
    }
    const error = checkRun(msg);
    if (error !== undefined || this.#tasks.has(msg.id!)) {
      sendTo(c, { op: 'refused', id: msg.id, error: error ?? `task ${msg.id} is already running here` });
      return;
    }
    try {
      this.#start(msg as RunRequest);
      sendTo(c, { op: 'started', id: msg.id });
    } catch (err) {
      sendTo(c, { op: 'refused', id: msg.id, error: (err as Error).message });
    }
  }

  #start(req: RunRequest): void {
    mkdirSync(path.dirname(req.logPath), { recursive: true });
    const state: ExecutorTaskState = { executorPid: this.#self.pid, executorStartTime: this.#self.startTime };
    appendSnapshot(req.statePath, state);
    const signals = new EventEmitter();
    this.#tasks.set(req.id, signals);
    clearTimeout(this.#idleTimer);
    const log = (message: string): void => {
      try {
        appendFileSync(req.logPath, `${new Date().toISOString()} executor ti=${req.taskInstanceId}: ${message}\n`);
      } catch {
        // The log is for people; a full disk must not cost the task its report.
      }
    };
    void runWrapper({
      taskInstanceId: req.taskInstanceId,
      apiUrl: req.apiUrl,
      distributorId: req.id,
      token: req.token,
      retryPolicy: retryPolicyFromEnv(this.#env),
      env: this.#env,
      signals,
      log,
      reports: this.#sender(req),
      onCommandStarted: (pid) => {
        state.commandPid = pid;
        state.commandStartTime = readStat(pid)?.startTime ?? null;
        appendSnapshot(req.statePath, state);
      },
    })
      .catch((err: unknown) => {
        log(`unexpected failure: ${(err as Error)?.stack ?? String(err)}`);
        return WRAPPER_FAILURE_EXIT_CODE;
      })
      .then((code) => {
        state.exit = { code, at: new Date().toISOString() };
        try {
          appendSnapshot(req.statePath, state);
        } catch (err) {
          this.log(`could not record the end of ${req.id}: ${(err as Error).message}`);
        }
        this.#tasks.delete(req.id);
        for (const c of this.#clients) sendTo(c, { op: 'ended', id: req.id, code });
        this.#armIdle();
        this.#exitIfDone();
      });
  }

  /**
   * The task's reports, batched with the other tasks'. Its final report is the moment its command
   * has exited: once that report is queued (so it reaches the API before the next task's running
   * report), the distributors may give the slot to the next task. Its liveness still lasts until
   * 'ended', after the API took the report.
   */
  #sender(req: RunRequest): ReportSender {
    const send = this.#reports.senderFor(req.apiUrl, req.token, req.taskInstanceId);
    let exited = false;
    return (kind, body) => {
      const answer = send(kind, body);
      if (kind !== 'running' && !exited) {
        exited = true;
        for (const c of this.#clients) sendTo(c, { op: 'exited', id: req.id });
      }
      return answer;
    };
  }

  #armIdle(): void {
    clearTimeout(this.#idleTimer);
    if (this.#tasks.size > 0 || this.#clients.size > 0 || this.#stopping) return;
    this.#idleTimer = setTimeout(() => {
      this.log(`idle for ${IDLE_EXIT_MS / 1000} s: exiting`);
      this.#stopping = true;
      this.#server?.close();
      this.#exitIfDone();
    }, IDLE_EXIT_MS);
  }

  #exitIfDone(): void {
    if (!this.#stopping || this.#tasks.size > 0) return;
    const info = readJson<ExecutorInfo>(executorInfoPath(this.dir));
    if (info?.pid === process.pid) rmSync(executorInfoPath(this.dir), { force: true });
    this.#reports.close();
    process.exit(0);
  }
}

function checkRun(msg: Omit<Partial<RunRequest>, 'op'>): string | undefined {
  if (typeof msg.id !== 'string' || !msg.id) return 'id is required';
  if (!Number.isSafeInteger(msg.taskInstanceId) || msg.taskInstanceId! <= 0) return 'taskInstanceId must be positive';
  for (const k of ['apiUrl', 'logPath', 'statePath'] as const)
    if (typeof msg[k] !== 'string') return `${k} is required`;
  if (msg.token !== undefined && typeof msg.token !== 'string') return 'token must be a string';
  return undefined;
}

function sendTo(c: net.Socket, msg: object): void {
  if (!c.destroyed) c.write(`${JSON.stringify(msg)}\n`);
}

async function main(argv: string[]): Promise<number> {
  let dir: string | undefined;
  try {
    dir = parseArgs({ args: argv, options: { dir: { type: 'string' } }, strict: true }).values.dir;
  } catch (err) {
    process.stderr.write(`usage: executor --dir DIR (${(err as Error).message})\n`);
    return 2;
  }
  if (!dir) {
    process.stderr.write('usage: executor --dir DIR\n');
    return 2;
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const log = (m: string): void => {
    process.stderr.write(`${new Date().toISOString()} executor pid=${process.pid}: ${m}\n`);
  };
  const executor = new Executor(dir, log);
  if (!(await executor.listen())) {
    log('another executor serves this directory: exiting');
    return 0;
  }
  process.on('SIGTERM', () => executor.stop('SIGTERM'));
  process.on('SIGINT', () => executor.stop('SIGINT'));
  return new Promise<number>(() => undefined); // runs until idle or stopped (process.exit)
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`executor: unexpected failure: ${(err as Error)?.stack ?? String(err)}\n`);
      process.exit(WRAPPER_FAILURE_EXIT_CODE);
    },
  );
}
