/**
 * Run the task's command: `/bin/bash -c` in a session and process group of its own (so the whole
 * tree can be signalled without hitting the wrapper), stdout/stderr appended to the task's files
 * while the last characters of each are kept for the final report.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { readStat } from './proc';

/** Jobmon keeps the last 10,000 characters of each stream for the database. */
export const TAIL_CHARS = 10_000;
/**
 * How long to wait, after the command exits, for its pipes to close. A background process it left
 * behind may hold them open forever; its later output is then dropped rather than the report.
 */
const PIPE_DRAIN_MS = 2_000;

export interface CommandSpec {
  command: string;
  stdoutPath: string;
  stderrPath: string;
  /** Directory to run in; default the wrapper's own. */
  cwd?: string;
  env: NodeJS.ProcessEnv;
}

export interface CommandOutcome {
  /** Exit code, or 128 + signal number when a signal ended it (the shell's convention). */
  exitCode: number;
  signal: NodeJS.Signals | null;
  wallclockS: number;
  stdoutTail: string;
  stderrTail: string;
  /** CPU ticks of the command and everything it waited for, counted when it was reaped. */
  reapedTicks: number | undefined;
}

/**
 * The CPU of reaped children, per child. The kernel adds a child's CPU (and that of everything it
 * waited for) to its parent's cutime/cstime when the parent reaps it, and Node has reaped the
 * command by the time 'exit' fires; the difference between readings is the CPU of the children
 * reaped in between. Children reaped in the same turn of the event loop (only possible in the
 * local executor, which runs many commands) share that difference equally.
 */
class ReapLedger {
  #last: number | undefined;
  #pending: ((ticks: number | undefined) => void)[] = [];

  /** Call before spawning, so the first reading precedes the first child's end. */
  prime(): void {
    if (this.#last === undefined) this.#last = selfChildTicks();
  }

  /** Call from the child's 'exit' handler; resolves to its share of the reaped CPU. */
  reaped(): Promise<number | undefined> {
    return new Promise((resolve) => {
      if (this.#pending.push(resolve) === 1) setImmediate(() => this.#settle());
    });
  }

  #settle(): void {
    const pending = this.#pending.splice(0);
    const now = selfChildTicks();
    const share = now !== undefined && this.#last !== undefined ? (now - this.#last) / pending.length : undefined;
    this.#last = now;
    for (const resolve of pending) resolve(share);
  }
}

const reapLedger = new ReapLedger();

function selfChildTicks(): number | undefined {
  const s = readStat('self');
  return s ? s.cutime + s.cstime : undefined;
}

/** Keeps the last `limit` characters written to it. */
export class TailBuffer {
  #text = '';
  constructor(readonly limit = TAIL_CHARS) {}
  append(chunk: string): void {
    this.#text += chunk;
    // Trim only once the buffer is twice the limit, so a chatty command costs O(n), not O(n²).
    if (this.#text.length > 2 * this.limit) this.#text = this.#text.slice(-this.limit);
  }
  toString(): string {
    return this.#text.length > this.limit ? this.#text.slice(-this.limit) : this.#text;
  }
}

export class RunningCommand {
  readonly done: Promise<CommandOutcome>;
  #killTimer: NodeJS.Timeout | undefined;

  private constructor(
    readonly pid: number,
    child: ChildProcess,
    files: [WriteStream, WriteStream],
    startedAt: number,
  ) {
    const tails: [TailBuffer, TailBuffer] = [new TailBuffer(), new TailBuffer()];
    const pipes = [child.stdout!, child.stderr!].map((pipe, i) => teeInto(pipe, files[i], tails[i]));
    this.done = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        const wallclockS = (Date.now() - startedAt) / 1000;
        const reaped = reapLedger.reaped();
        if (this.#killTimer) clearTimeout(this.#killTimer);
        // Whatever the command left running in its group goes too, as when a batch system ends a
        // job; otherwise a forgotten `&` would outlive the task and hold its pipes.
        this.signalGroup('SIGTERM');
        void Promise.all(pipes.map((p) => p.closed(PIPE_DRAIN_MS)))
          .then(() => Promise.all(files.map(endStream)))
          .then(() => reaped)
          .then((reapedTicks) =>
            resolve({
              exitCode: code ?? 128 + (signal ? (os.constants.signals[signal] ?? 0) : 0),
              signal,
              wallclockS,
              stdoutTail: tails[0].toString(),
              stderrTail: tails[1].toString(),
              reapedTicks,
            }),
          );
      });
    });
  }

  /** Start the command; rejects when its log files cannot be opened or the shell cannot start. */
  static async start(spec: CommandSpec): Promise<RunningCommand> {
    const files = (await Promise.all([openAppend(spec.stdoutPath), openAppend(spec.stderrPath)])) as [
      WriteStream,
      WriteStream,
    ];
    const startedAt = Date.now();
    reapLedger.prime();
    const child = spawn('/bin/bash', ['-c', spec.command], {
      detached: true, // new session + process group: the wrapper can signal -pid without signalling itself
      stdio: ['ignore', 'pipe', 'pipe'],
      env: spec.env,
      cwd: spec.cwd,
    });
    try {
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', resolve);
        child.once('error', reject);
      });
    } catch (err) {
      await Promise.all(files.map(endStream));
      throw err;
    }
    // After a successful spawn, 'error' only reports a failed kill(); the group signal paths
    // handle that themselves, so it must not crash the wrapper as an unhandled event.
    child.on('error', () => undefined);
    return new RunningCommand(child.pid!, child, files, startedAt);
  }

  /** Signal the command's whole process group; false when nothing is left to signal. */
  signalGroup(signal: NodeJS.Signals): boolean {
    try {
      process.kill(-this.pid, signal);
      return true;
    } catch {
      return false;
    }
  }

  /** SIGTERM now, SIGKILL after `graceMs` if it is still running. Repeated calls do not re-arm. */
  terminate(graceMs: number): void {
    if (this.#killTimer) return;
    this.signalGroup('SIGTERM');
    this.#killTimer = setTimeout(() => this.signalGroup('SIGKILL'), graceMs);
  }

  /** Skip the rest of the grace period (a second Ctrl-C / SIGTERM). */
  killNow(): void {
    this.signalGroup('SIGKILL');
  }
}

async function openAppend(file: string): Promise<WriteStream> {
  mkdirSync(path.dirname(file), { recursive: true });
  const stream = createWriteStream(file, { flags: 'a' });
  await new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', reject);
  });
  return stream;
}

function endStream(stream: WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed) return resolve();
    stream.end(() => resolve());
    // A failed stream (disk full) never finishes; its error was already logged by teeInto.
    stream.once('error', () => resolve());
  });
}

/** Copy `pipe` into `file` (with back-pressure) and `tail`; `closed(ms)` waits for its end, bounded. */
function teeInto(pipe: Readable, file: WriteStream, tail: TailBuffer): { closed(ms: number): Promise<void> } {
  let fileOk = true;
  file.on('error', (err) => {
    // Keep running the command and keep the tail; losing the file must not lose the task.
    fileOk = false;
    pipe.resume(); // it may be paused waiting for a 'drain' that will never come
    process.stderr.write(`worker-node: cannot write ${file.path}: ${err.message}\n`);
  });
  pipe.setEncoding('utf8');
  pipe.on('data', (chunk: string) => {
    tail.append(chunk);
    if (fileOk && !file.write(chunk)) {
      pipe.pause();
      file.once('drain', () => pipe.resume());
    }
  });
  const ended = new Promise<void>((resolve) => {
    pipe.once('close', resolve);
    pipe.once('error', () => resolve());
  });
  return {
    closed: (ms) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          pipe.destroy();
          resolve();
        }, ms);
        void ended.then(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}
