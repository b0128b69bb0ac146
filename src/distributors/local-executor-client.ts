/**
 * The local distributors' side of the local executor (src/worker-node/executor.ts): start it when
 * no live one serves the records directory, connect to its Unix socket, hand it tasks, ask it to
 * terminate them, and hear when they end. One client per distributor; the executor is shared by
 * every distributor and worker process of the machine that uses the same directory.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import {
  executorInfoPath,
  readJson,
  type ExecutorInfo,
  type ExecutorTaskState,
  type RunRequest,
} from '../worker-node/executor';
import { isProcessAlive } from '../worker-node/proc';

/** How long a start of the executor, or one request, may take before the submit fails. */
const START_TIMEOUT_MS = 15_000;
const POLL_MS = 25;

/** Attempts to hand one task over when executors exit under it. */
const RUN_ATTEMPTS = 3;

type Pending = { resolve: () => void; reject: (err: Error) => void };

/** The executor was exiting (or died) before it took the task: another one may. */
class ExecutorGoneError extends Error {}

export class LocalExecutorClient {
  #socket: net.Socket | undefined;
  #connecting: Promise<net.Socket> | undefined;
  #buffered = '';
  readonly #pending = new Map<string, Pending>();
  readonly #ended = new Map<string, (code: number | undefined) => void>();
  readonly #exited = new Map<string, () => void>();
  readonly #closed = new WeakSet<net.Socket>();

  constructor(
    readonly dir: string,
    private readonly command: string[],
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  /** The executor serving the directory now, if it is alive. */
  info(): ExecutorInfo | undefined {
    const info = readJson<ExecutorInfo>(executorInfoPath(this.dir));
    return info && isProcessAlive(info.pid, info.startTime) ? info : undefined;
  }

  /** Connected to a live executor, starting one if needed. */
  async connect(): Promise<ExecutorInfo> {
    for (let attempt = 1; ; attempt++) {
      if (!this.#socket || this.#socket.destroyed) {
        this.#connecting ??= this.#open().finally(() => (this.#connecting = undefined));
        this.#socket = await this.#connecting;
      }
      const info = this.info();
      if (info) return info;
      if (attempt >= 2) throw new Error('the local executor exited');
      // The executor died and its socket's 'close' has not been heard yet (a SIGKILL races the
      // event loop): forget that socket now, so that the next pass starts a new executor.
      this.#onClose(this.#socket);
    }
  }

  /**
   * Hand a task to the executor; resolves with the executor that started it (its state file is
   * written), rejects when refused. An executor that was just exiting (idle, or the last
   * distributor left) refuses or drops the connection: the task then goes to a fresh executor.
   * `onEnd` is called once: with the wrapper's exit code when the executor says the task ended,
   * undefined when the connection was lost first (whether it still runs is then for its state file
   * and the executor's pid to say). `onExited`, when the executor says so, comes first: the
   * task's command has exited and its final report is on its way (an older executor never says it).
   */
  async run(
    request: Omit<RunRequest, 'op'>,
    onEnd: (code: number | undefined) => void,
    onExited?: () => void,
  ): Promise<ExecutorInfo> {
    for (let attempt = 1; ; attempt++) {
      const info = await this.connect();
      try {
        await this.#send(request, onEnd, onExited);
        return info;
      } catch (err) {
        if (!(err instanceof ExecutorGoneError) || attempt >= RUN_ATTEMPTS) throw err;
        // Wait for the exiting executor to be gone, so that connect() starts the next one.
        const deadline = Date.now() + START_TIMEOUT_MS;
        while (isProcessAlive(info.pid, info.startTime) && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, POLL_MS));
        }
      }
    }
  }

  #send(
    request: Omit<RunRequest, 'op'>,
    onEnd: (code: number | undefined) => void,
    onExited: (() => void) | undefined,
  ): Promise<void> {
    const socket = this.#socket!;
    return new Promise<void>((resolve, reject) => {
      this.#pending.set(request.id, { resolve, reject });
      this.#ended.set(request.id, onEnd);
      if (onExited) this.#exited.set(request.id, onExited);
      socket.write(`${JSON.stringify({ op: 'run', ...request })}\n`);
    }).catch((err: unknown) => {
      this.#ended.delete(request.id);
      this.#exited.delete(request.id);
      throw err;
    });
  }

  /** Ask the executor to SIGTERM one task's command (it reports); false when not connected. */
  terminate(id: string): boolean {
    if (!this.#socket || this.#socket.destroyed) return false;
    this.#socket.write(`${JSON.stringify({ op: 'terminate', id })}\n`);
    return true;
  }

  /** Leave: an executor with no task and no other distributor connected then exits at once. */
  close(): void {
    if (this.#socket && !this.#socket.destroyed) this.#socket.end(`${JSON.stringify({ op: 'bye' })}\n`);
  }

  async #open(): Promise<net.Socket> {
    const deadline = Date.now() + START_TIMEOUT_MS;
    let spawned = false;
    for (;;) {
      const info = this.info();
      if (info) {
        try {
          return await this.#connectTo(info.socket);
        } catch {
          // Not listening yet (or just exited): look again.
        }
      } else if (!spawned) {
        this.#spawn();
        spawned = true;
      }
      if (Date.now() > deadline) {
        throw new Error(
          `the local executor did not start within ${START_TIMEOUT_MS / 1000} s (see ${path.join(this.dir, 'executor.log')})`,
        );
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  #spawn(): void {
    const fd = openSync(path.join(this.dir, 'executor.log'), 'a');
    try {
      const [cmd, ...args] = this.command;
      // Detached and unref'd: the executor outlives this worker, so its tasks do too.
      const child = spawn(cmd, [...args, '--dir', this.dir], {
        detached: true,
        stdio: ['ignore', fd, fd],
        env: this.env,
      });
      child.on('error', () => undefined); // reported as "did not start" by #open's deadline
      child.unref();
    } finally {
      closeSync(fd);
    }
  }

  #connectTo(socketPath: string): Promise<net.Socket> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(socketPath);
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        socket.setEncoding('utf8');
        socket.on('data', (chunk: string) => this.#onData(chunk));
        socket.on('error', () => undefined); // 'close' follows
        socket.on('close', () => this.#onClose(socket));
        socket.unref(); // a worker with nothing else to do may exit; the executor runs on
        resolve(socket);
      });
    });
  }

  #onData(chunk: string): void {
    this.#buffered += chunk;
    for (let nl = this.#buffered.indexOf('\n'); nl >= 0; nl = this.#buffered.indexOf('\n')) {
      const line = this.#buffered.slice(0, nl);
      this.#buffered = this.#buffered.slice(nl + 1);
      let msg: { op?: string; id?: string; error?: string; code?: number; stopping?: boolean };
      try {
        msg = JSON.parse(line) as typeof msg;
      } catch {
        continue;
      }
      const id = msg.id ?? '';
      if (msg.op === 'started' || msg.op === 'refused') {
        const p = this.#pending.get(id);
        this.#pending.delete(id);
        if (msg.op === 'started') p?.resolve();
        else if (msg.stopping) p?.reject(new ExecutorGoneError('the local executor was exiting'));
        else p?.reject(new Error(`the local executor refused the task: ${msg.error ?? 'no reason given'}`));
      } else if (msg.op === 'exited') {
        const onExited = this.#exited.get(id);
        this.#exited.delete(id);
        onExited?.();
      } else if (msg.op === 'ended') {
        const onEnd = this.#ended.get(id);
        this.#ended.delete(id);
        this.#exited.delete(id);
        onEnd?.(msg.code);
      }
    }
  }

  #onClose(socket: net.Socket): void {
    // Once per socket: connect() may have dropped it before its own 'close' event arrives, and by
    // then the pending maps belong to the next socket.
    if (this.#closed.has(socket)) return;
    this.#closed.add(socket);
    socket.destroy();
    if (this.#socket === socket) this.#socket = undefined;
    this.#buffered = '';
    for (const p of this.#pending.values())
      p.reject(new ExecutorGoneError('the connection to the local executor was lost'));
    this.#pending.clear();
    const ended = [...this.#ended.values()];
    this.#ended.clear();
    this.#exited.clear();
    for (const onEnd of ended) onEnd(undefined);
  }
}

/** Is the task of this state file still running: not ended, and its executor alive? */
export function executorTaskAlive(
  state: ExecutorTaskState | undefined,
  handedTo: { pid?: number; startTime?: number | null },
): boolean {
  if (state?.exit) return false;
  // The state file names the executor that really runs the task; before it is written, the one
  // the task was handed to.
  const pid = state?.executorPid ?? handedTo.pid;
  const startTime = state ? state.executorStartTime : handedTo.startTime;
  return pid !== undefined && isProcessAlive(pid, startTime);
}
