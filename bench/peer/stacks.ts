/**
 * The two systems' servers for `npm run bench:peer`, each started fresh for one run and stopped
 * after it:
 *   ours    a fresh Postgres database, a Temporal dev server (SQLite file) and one services
 *           process (API + worker), as bench/run.ts and `jmt up` run them
 *   Jobmon  its Flask app on a fresh database (bench/peer/jobmon_server.py): under gunicorn on MariaDB
 *           (its production shape) or on Flask's dev server on SQLite (its local mode)
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { projectRoot } from '../../src/config';
import { startStack } from '../environment';
import { freePort, stop, until } from '../support';

const execFileAsync = promisify(execFile);

export interface RunningStack {
  /** Environment for the client process. */
  env: NodeJS.ProcessEnv;
  /** Server processes (roots of the CPU/memory sampling). */
  pids: number[];
  /** Pids outside the process trees that work for this stack (Postgres backends). */
  extraPids(): Promise<number[]>;
  /** Server processes that work for this stack and others too (the MariaDB server). */
  sharedPids: number[];
  dbBytes(): Promise<number>;
  close(): Promise<void>;
}

export const PEER_DIR = path.join(projectRoot(), 'bench', 'peer');
export const JOBMON_PYTHON = path.join(PEER_DIR, '.venv', 'bin', 'python');

function adminUrl(): string {
  const url = new URL(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  url.pathname = '/postgres';
  return url.toString();
}

/** `slots`: the multiprocess distributor's parallelism (the services run its local executor). */
export async function startOurs(tag: string, slots: number): Promise<RunningStack> {
  const stack = await startStack(`peer_${tag}`, { env: { JMT_MULTIPROCESS_PARALLELISM: String(slots) } });
  const admin = new pg.Client({ connectionString: adminUrl() });
  try {
    await admin.connect();
  } catch (err) {
    await stack.close();
    throw err;
  }
  return {
    env: stack.env,
    pids: [stack.temporal.pid as number, stack.services.pid as number],
    sharedPids: [],
    async extraPids() {
      const r = await admin.query<{ pid: number }>('select pid from pg_stat_activity where datname = $1', [
        stack.databaseName,
      ]);
      return r.rows.map((row) => row.pid);
    },
    async dbBytes() {
      const r = await admin.query<{ n: string }>('select pg_database_size($1) as n', [stack.databaseName]);
      return Number(r.rows[0].n);
    },
    async close() {
      await stack.close();
      await admin.query(`drop database if exists ${stack.databaseName} with (force)`).catch(() => undefined);
      await admin.end().catch(() => undefined);
    },
  };
}

export type JobmonServer = 'dev' | 'gunicorn';

export interface JobmonOptions {
  server: JobmonServer;
  /** gunicorn worker processes. */
  workers: number;
  /** Slots of Jobmon's multiprocess cluster. */
  slots: number;
  /** Names the MariaDB database (jobmon_peer_<tag>). */
  tag: string;
}

export const MARIADB_URL = process.env.JOBMON_PEER_MARIADB ?? 'mysql+pymysql://root@127.0.0.1:3306';

/** jobmon_server.py probe/drop: the database is reached through Jobmon's own driver stack. */
async function jobmonDb(action: 'probe' | 'drop', dbUrl: string): Promise<string> {
  const { stdout } = await execFileAsync(JOBMON_PYTHON, [
    path.join(PEER_DIR, 'jobmon_server.py'),
    action,
    '--db-url',
    dbUrl,
  ]);
  return stdout;
}

/** `serverPid`: the MariaDB server holding the database (null for SQLite), from its pid file. */
export async function jobmonDatabase(
  dbUrl: string,
): Promise<{ bytes: number; version: string; serverPid: number | null }> {
  const probe = JSON.parse(await jobmonDb('probe', dbUrl)) as {
    bytes: number;
    version: string;
    server_pid: number | null;
  };
  return { bytes: probe.bytes, version: probe.version, serverPid: probe.server_pid };
}

export async function startJobmon(opts: JobmonOptions): Promise<RunningStack> {
  const home = mkdtempSync(path.join(os.tmpdir(), 'jobmon-peer-'));
  const dbUrl =
    opts.server === 'gunicorn'
      ? `${MARIADB_URL}/jobmon_peer_${opts.tag.toLowerCase().replace(/[^a-z0-9]/g, '_')}`
      : `sqlite:///${path.join(home, 'jobmon.sqlite')}`;
  const logFile = path.join(home, 'server.log');
  const port = await freePort();
  const server = spawn(
    JOBMON_PYTHON,
    [
      path.join(PEER_DIR, 'jobmon_server.py'),
      'serve',
      ...['--db-url', dbUrl, '--port', String(port), '--server', opts.server],
      ...['--workers', String(opts.workers), '--parallelism', String(opts.slots)],
    ],
    {
      cwd: home,
      // Its log (one error line per task on the dummy cluster: "Illegal state transition … D to O")
      // goes to a file, shown only if the server fails to start.
      stdio: ['ignore', 'ignore', openSync(logFile, 'w')],
    },
  );
  const serviceUrl = `http://127.0.0.1:${port}/api/v2`;
  const close = async () => {
    await stop(server);
    if (opts.server === 'gunicorn') await jobmonDb('drop', dbUrl).catch(() => undefined);
    rmSync(home, { recursive: true, force: true });
  };
  try {
    await until(
      'Jobmon server',
      async () => {
        if (server.exitCode !== null) throw new Error(`Jobmon server exited with ${server.exitCode}`);
        return (await fetch(`${serviceUrl}/health`, { headers: { 'content-type': 'application/json' } })).ok;
      },
      120_000,
      500,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; its log ends: ${readFileSync(logFile, 'utf8').slice(-1500)}`);
    });
  } catch (err) {
    await close();
    throw err;
  }
  // The database server is shared with other work: sampled by pid (SystemSampler), asked of the
  // server itself so that no other mariadbd on the machine (the Slurm root's) is counted.
  let serverPid: number | null;
  try {
    ({ serverPid } = await jobmonDatabase(dbUrl));
  } catch (err) {
    await close();
    throw err;
  }
  // The multiprocess distributor finds worker_node_entry_point on PATH, as after activating the venv.
  const venvBin = path.dirname(JOBMON_PYTHON);
  return {
    env: {
      ...process.env,
      PATH: `${venvBin}:${process.env.PATH ?? ''}`,
      // Host and route prefix apart, as Jobmon's config has them: its distributor's heartbeats go
      // through aiohttp, whose base URL may not carry a path (a URL with /api/v2 in it kills the
      // distributor at the first heartbeat: "base_url must have a trailing '/'").
      JOBMON__HTTP__SERVICE_URL: `http://127.0.0.1:${port}`,
      JOBMON__HTTP__ROUTE_PREFIX: '/api/v2',
      JOBMON_PEER_DB_URL: dbUrl,
    },
    pids: [server.pid as number],
    sharedPids: serverPid === null ? [] : [serverPid],
    async extraPids() {
      return [];
    },
    async dbBytes() {
      return (await jobmonDatabase(dbUrl)).bytes;
    },
    close,
  };
}
