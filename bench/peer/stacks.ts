/**
 * The two systems' servers for `npm run bench:peer`, each started fresh for one run and stopped
 * after it:
 *   ours    a fresh Postgres database, a Temporal dev server (SQLite file) and one services
 *           process (API + worker), as bench/run.ts and `jmt up` run them
 *   Jobmon  its Flask server on a fresh SQLite file (bench/peer/jobmon_server.py), Jobmon's local mode
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import pg from 'pg';
import { loadConfig, projectRoot } from '../../src/config';
import { devServerArgs } from '../../src/temporal/dev-server-args';
import { freePort, freshDatabase, stop, until } from '../support';

export interface RunningStack {
  /** Environment for the client process. */
  env: NodeJS.ProcessEnv;
  /** Server processes (roots of the CPU/memory sampling). */
  pids: number[];
  /** Pids outside the process trees that work for this stack (Postgres backends). */
  extraPids(): Promise<number[]>;
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

export async function startOurs(tag: string): Promise<RunningStack> {
  const home = mkdtempSync(path.join(os.tmpdir(), `jmt-peer-${tag}-`));
  const dbName = `jmt_peer_${tag.replace(/[^a-z0-9]/g, '_')}`;
  const databaseUrl = await freshDatabase(dbName);
  const temporalPort = await freePort();
  const apiPort = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`,
    JMT_API_PORT: String(apiPort),
    JMT_API_URL: `http://127.0.0.1:${apiPort}`,
    JMT_HOME: home,
    JMT_TASK_QUEUE: `peer-${tag}`,
  };
  delete env.JMT_TOKENS;
  const config = loadConfig({}, env);
  const children: ChildProcess[] = [];
  const admin = new pg.Client({ connectionString: adminUrl() });
  await admin.connect();
  const close = async () => {
    for (const child of children.reverse()) await stop(child);
    await admin.query(`drop database if exists ${dbName} with (force)`).catch(() => undefined);
    await admin.end().catch(() => undefined);
    rmSync(home, { recursive: true, force: true });
  };
  try {
    const temporal = spawn(
      loadConfig().temporalBin,
      [
        'server',
        'start-dev',
        ...devServerArgs({ port: temporalPort, uiPort: null, dbFile: path.join(home, 'temporal.sqlite') }),
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    children.push(temporal);
    await until(
      'Temporal',
      async () => {
        const c = await Connection.connect({ address: config.temporalAddress, connectTimeout: '1s' });
        await c.close();
        return true;
      },
      120_000,
    );
    const services = spawn(process.execPath, [path.join(projectRoot(), 'dist', 'src', 'local', 'services-main.js')], {
      env,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    children.push(services);
    await until('API', async () => (await fetch(`${config.apiUrl}/api/v1/health`)).ok, 120_000);
  } catch (err) {
    await close();
    throw err;
  }
  return {
    env,
    pids: children.map((c) => c.pid as number),
    async extraPids() {
      const r = await admin.query<{ pid: number }>('select pid from pg_stat_activity where datname = $1', [dbName]);
      return r.rows.map((row) => row.pid);
    },
    async dbBytes() {
      const r = await admin.query<{ n: string }>('select pg_database_size($1) as n', [dbName]);
      return Number(r.rows[0].n);
    },
    close,
  };
}

export async function startJobmon(): Promise<RunningStack> {
  const home = mkdtempSync(path.join(os.tmpdir(), 'jobmon-peer-'));
  const dbFile = path.join(home, 'jobmon.sqlite');
  const logFile = path.join(home, 'server.log');
  const port = await freePort();
  const server = spawn(
    JOBMON_PYTHON,
    [path.join(PEER_DIR, 'jobmon_server.py'), '--db', dbFile, '--port', String(port)],
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
  return {
    env: { ...process.env, JOBMON__HTTP__SERVICE_URL: serviceUrl, JOBMON_PEER_DB: dbFile },
    pids: [server.pid as number],
    async extraPids() {
      return [];
    },
    async dbBytes() {
      // SQLite keeps everything in the file, plus a journal or WAL file while writing.
      let total = 0;
      for (const suffix of ['', '-journal', '-wal'])
        try {
          total += statSync(dbFile + suffix).size;
        } catch {
          /* absent */
        }
      return total;
    },
    close,
  };
}
