/**
 * A Temporal dev server of the test's own (never the run's shared one), on free loopback ports,
 * persisting to a SQLite file so that a SIGKILL and a restart keep every workflow: the same
 * arguments `jmt up` uses (src/temporal/dev-server-args.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { loadConfig } from '../../../src/config';
import { devServerArgs } from '../../../src/temporal/dev-server-args';
import { freePort } from '../../helpers/ports';
import { waitFor } from '../../helpers/wait';

export class PrivateTemporal {
  #child: ChildProcess | undefined;
  #tail = '';

  private constructor(
    readonly address: string,
    private readonly args: string[],
    private readonly dir: string,
  ) {}

  static async start(): Promise<PrivateTemporal> {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'jmt-faults-temporal-'));
    const port = await freePort();
    const args = [
      'server',
      'start-dev',
      ...devServerArgs({ port, uiPort: null, dbFile: path.join(dir, 'temporal.db') }),
    ];
    const server = new PrivateTemporal(`127.0.0.1:${port}`, args, dir);
    try {
      await server.restart();
    } catch (err) {
      await server.stop();
      throw err;
    }
    return server;
  }

  get namespace(): string {
    return 'default';
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Start it (again) on the same port and file; resolves once it answers. */
  async restart(): Promise<void> {
    const child = spawn(loadConfig().temporalBin, this.args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (d: string) => (this.#tail = (this.#tail + d).slice(-4_000)));
    this.#child = child;
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`temporal exited: ${this.#tail}`);
        const connection = await Connection.connect({ address: this.address, connectTimeout: 2_000 });
        try {
          await connection.workflowService.getSystemInfo({});
          return true;
        } finally {
          await connection.close();
        }
      },
      { timeoutMs: 90_000, intervalMs: 250, what: `the private Temporal dev server at ${this.address}` },
    );
  }

  async kill(signal: NodeJS.Signals): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
  }

  async stop(): Promise<void> {
    await this.kill('SIGTERM');
    rmSync(this.dir, { recursive: true, force: true });
  }
}
