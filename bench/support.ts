/** Process and wait helpers shared by the benchmark scripts (bench/*.ts). */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import pg from 'pg';

export const round = (x: number, digits = 2): number => Math.round(x * 10 ** digits) / 10 ** digits;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.once('error', reject);
  });
}

/** Poll `check` until it holds (a throwing check counts as "not yet"), within `timeoutMs`. */
export async function until(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  everyMs = 200,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (
      await Promise.resolve()
        .then(check)
        .catch(() => false)
    )
      return;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`${what} not reached within ${timeoutMs / 1000} s`);
}

/** SIGTERM, then SIGKILL after 20 s; resolves when the process has exited. */
export async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
}

/** Peak resident memory (VmHWM) of a live process, in MiB; NaN when it cannot be read. */
export function peakRssMiB(pid: number | undefined): number {
  if (!pid) return NaN;
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : NaN;
  } catch {
    return NaN;
  }
}

/** The role benchmarks bind and run as: no superuser, owner of its database (as on a managed Postgres). */
export const BENCH_ROLE = 'jmt_app';

/**
 * Drop and re-create database `name` on DATABASE_URL's server, owned by BENCH_ROLE; returns its URL
 * as that role. Every benchmark starts from an empty database, so its figures never depend on what
 * an earlier run (or schema) left behind, and none of them relies on superuser powers.
 */
export async function freshDatabase(name: string): Promise<string> {
  if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`database name "${name}" must be lowercase letters, digits and _`);
  const url = new URL(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  url.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: url.toString() });
  await admin.connect();
  try {
    const role = await admin.query('select 1 from pg_roles where rolname = $1', [BENCH_ROLE]);
    if (!role.rowCount) {
      await admin
        .query(`create role ${BENCH_ROLE} login nosuperuser nocreatedb nocreaterole`)
        .catch((err: { code?: string }) => {
          if (err.code !== '42710' && err.code !== '23505') throw err;
        });
    }
    // Without `force`: a database still in use is another run of the same bench (its services,
    // its observers), and dropping it under that run made its next request fail mid-bench.
    await admin.query(`drop database if exists ${name}`).catch((err: { code?: string }) => {
      if (err.code !== '55006') throw err;
      throw new Error(`database ${name} is in use by another run of this bench: wait for it to end, or stop it`);
    });
    await admin.query(`create database ${name} owner ${BENCH_ROLE}`);
  } finally {
    await admin.end();
  }
  url.pathname = `/${name}`;
  url.username = BENCH_ROLE;
  url.password = '';
  return url.toString();
}
