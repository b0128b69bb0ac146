/**
 * The two systems' servers for `npm run bench:peer`, each started fresh for one run and stopped
 * after it:
 *   ours    a fresh Postgres database, a Temporal dev server (SQLite file) and one services
 *           process (API + worker), as bench/run.ts and `jmt up` run them
 *   Jobmon  its Flask server on a fresh SQLite file (bench/peer/jobmon_server.py), Jobmon's local mode
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { projectRoot } from '../../src/config';
import { startStack } from '../environment';
import { freePort, stop, until } from '../support';

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
  const stack = await startStack(`peer_${tag}`);
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
