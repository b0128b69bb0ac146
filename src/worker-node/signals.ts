/** Signals to the wrapper, passed on to the command it runs. */
import type { RunningCommand } from './run-command';

/**
 * Where termination requests come from: the process's own signals for a wrapper per task; for the
 * local executor, which runs many tasks in one process, an emitter per task fed by terminate
 * requests (and by the executor's own signals, passed to every task).
 */
export interface SignalSource {
  on(event: 'SIGTERM' | 'SIGINT', handler: (signal: NodeJS.Signals) => void): unknown;
  off(event: 'SIGTERM' | 'SIGINT', handler: (signal: NodeJS.Signals) => void): unknown;
}

/** Between SIGTERM and SIGKILL of the command (Jobmon's command_interrupt_timeout). */
export const KILL_GRACE_MS = 10_000;

/**
 * SIGTERM/SIGINT to the wrapper (Slurm's time limit or scancel, the local distributor's terminate,
 * Ctrl-C) go to the command's process group, which the batch system may not reach on its own; the
 * wrapper stays to report the outcome. A second signal skips the grace period.
 */
export class SignalForwarder {
  received: NodeJS.Signals | undefined;
  #command: RunningCommand | undefined;
  #commandEnded = false;
  readonly #handler = (signal: NodeJS.Signals): void => {
    const first = this.received === undefined;
    this.received ??= signal;
    if (!this.#command) {
      this.log(
        `received ${signal}; ${this.#commandEnded ? 'the command has ended, reporting' : 'the command will not be started'}`,
      );
      return;
    }
    this.log(`received ${signal}; passing it on to the command's process group`);
    if (first) this.#command.terminate(KILL_GRACE_MS);
    else this.#command.killNow();
  };

  constructor(
    private readonly log: (m: string) => void,
    private readonly source: SignalSource = process,
  ) {
    source.on('SIGTERM', this.#handler);
    source.on('SIGINT', this.#handler);
  }

  attach(command: RunningCommand): void {
    this.#command = command;
    if (this.received) this.#command.terminate(KILL_GRACE_MS);
  }

  /** After the command ended, further signals are ignored until the report is out. */
  detach(): void {
    this.#command = undefined;
    this.#commandEnded = true;
  }

  uninstall(): void {
    this.source.off('SIGTERM', this.#handler);
    this.source.off('SIGINT', this.#handler);
  }
}
