/**
 * The project's own processes (API, worker) started from dist/ as real child processes, so a fault
 * test can SIGKILL them and start them again exactly as an operator's supervisor would. Each keeps
 * the tail of its stderr for the failure message of a test that goes wrong.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { projectRoot } from '../../../src/config';
import { waitFor } from '../../helpers/wait';

const TAIL_LINES = 40;

export class ServiceProcess {
  #child: ChildProcess | undefined;
  readonly #tail: string[] = [];

  constructor(
    readonly name: string,
    private readonly script: string,
    private readonly env: () => NodeJS.ProcessEnv,
  ) {}

  get pid(): number | undefined {
    return this.running ? this.#child?.pid : undefined;
  }

  get running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** Last lines of its stderr (all its starts), for failure messages. */
  tail(): string {
    return this.#tail.join('');
  }

  start(): void {
    if (this.running) throw new Error(`${this.name} is already running`);
    const child = spawn(process.execPath, [path.join(projectRoot(), 'dist', 'src', ...this.script.split('/'))], {
      env: this.env(),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      this.#tail.push(chunk);
      if (this.#tail.length > TAIL_LINES) this.#tail.shift();
    });
    this.#child = child;
  }

  /** Send `signal` and wait (bounded) until the process has exited. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 30_000): Promise<void> {
    const child = this.#child;
    if (!child || !this.running) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), timeoutMs)));
    const outcome = await Promise.race([exited, late]);
    clearTimeout(timer);
    if (outcome === 'late') {
      child.kill('SIGKILL');
      await exited;
    }
  }
}

/**
 * Wait until the API answers /health with 200 (it has its database and is listening); fails at
 * once, with its last words, if the process exits instead.
 */
export async function waitForApi(api: ServiceProcess, apiUrl: string, timeoutMs = 60_000): Promise<void> {
  const outcome = await waitFor(
    async () => {
      if (!api.running) return 'exited';
      return (await fetch(`${apiUrl}/api/v1/health`, { signal: AbortSignal.timeout(5_000) })).ok && 'up';
    },
    { timeoutMs, intervalMs: 100, what: `the API at ${apiUrl} to answer /health` },
  ).catch((err: Error) => {
    throw new Error(`${err.message}\napi stderr:\n${api.tail()}`);
  });
  if (outcome === 'exited') throw new Error(`the API exited while starting:\n${api.tail()}`);
}
