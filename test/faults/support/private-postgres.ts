/**
 * A Postgres cluster of the test's own (never the machine's server on 5432): initdb into a temp
 * dir as the `postgres` OS user, started with pg_ctl on a free loopback port, stopped and deleted
 * at the end. Needs root (runuser) and the server binaries in /usr/lib/postgresql/<v>/bin.
 */
import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from '../../helpers/ports';
import { waitFor } from '../../helpers/wait';

const exec = promisify(execFile);

/** The newest installed server's bin dir, if any. */
function binDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(path.join(root, v, 'bin', 'pg_ctl')))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length ? path.join(root, versions[0], 'bin') : undefined;
}

/** Why a private cluster cannot be made here, or undefined when it can. */
export function whyNoPrivatePostgres(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root (initdb runs as the postgres OS user through runuser)';
  if (!binDir()) return 'no Postgres server binaries in /usr/lib/postgresql/*/bin';
  return undefined;
}

export class PrivatePostgres {
  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly bin: string,
  ) {}

  static async start(): Promise<PrivatePostgres> {
    const bin = binDir();
    if (!bin) throw new Error('no Postgres server binaries');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'jmt-faults-pg-'));
    const { uid, gid } = await postgresIds();
    chownSync(dir, uid, gid);
    const cluster = new PrivatePostgres(await freePort(), dir, bin);
    try {
      await cluster.#pg('initdb', ['-D', path.join(dir, 'data'), '-A', 'trust', '-U', 'postgres', '--no-sync']);
      await cluster.startServer();
    } catch (err) {
      await cluster.destroy();
      throw err;
    }
    return cluster;
  }

  url(database: string): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  async startServer(): Promise<void> {
    // Sockets in the cluster's own dir: no clash with the system server's /var/run/postgresql.
    const opts = `-p ${this.port} -c listen_addresses=127.0.0.1 -k ${this.dir} -c fsync=off`;
    await this.#pg('pg_ctl', [
      '-D',
      path.join(this.dir, 'data'),
      '-l',
      path.join(this.dir, 'log'),
      '-o',
      opts,
      '-w',
      'start',
    ]);
    await waitFor(
      async () => {
        const c = new pg.Client({ connectionString: this.url('postgres') });
        await c.connect();
        await c.end();
        return true;
      },
      { timeoutMs: 30_000, intervalMs: 100, what: 'the private Postgres to accept connections' },
    );
  }

  /** Fast shutdown: every session is terminated, as in a real restart. */
  async stopServer(): Promise<void> {
    await this.#pg('pg_ctl', ['-D', path.join(this.dir, 'data'), '-m', 'fast', '-w', 'stop']);
  }

  async destroy(): Promise<void> {
    try {
      if (existsSync(path.join(this.dir, 'data', 'postmaster.pid')))
        await this.#pg('pg_ctl', ['-D', path.join(this.dir, 'data'), '-m', 'immediate', '-w', 'stop']);
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }

  async #pg(tool: string, args: string[]): Promise<void> {
    await exec('runuser', ['-u', 'postgres', '--', path.join(this.bin, tool), ...args], {
      timeout: 120_000,
      cwd: this.dir,
    });
  }
}

async function postgresIds(): Promise<{ uid: number; gid: number }> {
  const { stdout } = await exec('id', ['postgres']);
  const uid = Number(/uid=(\d+)/.exec(stdout)?.[1]);
  const gid = Number(/gid=(\d+)/.exec(stdout)?.[1]);
  if (!Number.isInteger(uid) || !Number.isInteger(gid))
    throw new Error(`cannot read the postgres user's ids: ${stdout}`);
  return { uid, gid };
}
