/**
 * The local stack for a laptop or a login node: Temporal dev server (unless TEMPORAL_ADDRESS is
 * given), Postgres database and migrations, API and worker. `ensureLocalStack` starts what is
 * missing as background processes that outlive the caller — a control script may exit and its
 * run goes on, unlike Jobmon's — and records their pids under JMT_HOME for `jmt down`.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Config } from '../config';
import { projectRoot } from '../config';
import { createDb, ensureDatabase, migrate } from '../sql/db';
import { devServerArgs } from '../temporal/dev-server-args';
import { startLocalServices } from './services';

const START_TIMEOUT_MS = 90_000;

function hostPort(address: string): { host: string; port: number } {
  const m = /^(.*):(\d+)$/.exec(address);
  if (!m) throw new Error(`TEMPORAL_ADDRESS "${address}" must look like host:port`);
  return { host: m[1] || '127.0.0.1', port: Number(m[2]) };
}

function portOpen(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

async function apiHealthy(apiUrl: string): Promise<boolean> {
  try {
    const res = await fetch(`${apiUrl}/api/v1/health`, { signal: AbortSignal.timeout(2_000) });
    return res.ok;
  } catch {
    return false;
  }
}

async function until(what: string, check: () => Promise<boolean>, logFile?: string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what} did not come up within ${START_TIMEOUT_MS / 1000} s${logFile ? `; see ${logFile}` : ''}`);
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host.startsWith('127.') || host === '[::1]' || host === '::1';
}

function pidFile(config: Config, name: string): string {
  return path.join(config.home, `${name}.pid`);
}

function spawnDetached(config: Config, name: string, command: string, args: string[]): void {
  mkdirSync(config.home, { recursive: true });
  const logFile = path.join(config.home, `${name}.log`);
  const out = openSync(logFile, 'a');
  const child = spawn(command, args, {
    detached: true,
    stdio: ['ignore', out, out],
    env: {
      ...process.env,
      JMT_HOME: config.home,
      JMT_API_PORT: String(config.apiPort),
      TEMPORAL_ADDRESS: config.temporalAddress,
    },
  });
  closeSync(out);
  child.unref();
  writeFileSync(pidFile(config, name), String(child.pid));
}

function temporalDevServerCommand(config: Config): string[] {
  const { port } = hostPort(config.temporalAddress);
  mkdirSync(config.home, { recursive: true });
  if (!existsSync(config.temporalBin)) {
    throw new Error(
      `the temporal CLI is not installed at ${config.temporalBin}; run scripts/setup.sh (or set TEMPORAL_ADDRESS)`,
    );
  }
  return [
    config.temporalBin,
    'server',
    'start-dev',
    ...devServerArgs({
      port,
      uiPort: port + 1000,
      dbFile: path.join(config.home, 'temporal.sqlite'),
      namespace: config.temporalNamespace,
    }),
  ];
}

/** Start the Temporal dev server in the background unless one answers (or TEMPORAL_ADDRESS is set). */
async function ensureTemporal(config: Config): Promise<void> {
  const { host, port } = hostPort(config.temporalAddress);
  if (await portOpen(host, port)) return;
  if (config.temporalAddressFromEnv || !isLoopback(host)) {
    throw new Error(`cannot reach Temporal at ${config.temporalAddress}`);
  }
  const [command, ...args] = temporalDevServerCommand(config);
  spawnDetached(config, 'temporal', command, args);
  await until(
    `Temporal dev server on ${config.temporalAddress}`,
    () => portOpen(host, port),
    path.join(config.home, 'temporal.log'),
  );
}

/** Bring up whatever of the local stack is missing; returns when the API answers. */
export async function ensureLocalStack(config: Config): Promise<void> {
  if (await apiHealthy(config.apiUrl)) return;
  const api = new URL(config.apiUrl);
  if (!isLoopback(api.hostname)) throw new Error(`cannot reach the API at ${config.apiUrl}`);
  await ensureTemporal(config);
  await ensureDatabase(config.databaseUrl);
  const db = createDb(config.databaseUrl, 1);
  try {
    await migrate(db);
  } finally {
    await db.destroy();
  }
  spawnDetached(config, 'services', process.execPath, [
    path.join(projectRoot(), 'dist', 'src', 'stack', 'services-main.js'),
  ]);
  await until(`the API on ${config.apiUrl}`, () => apiHealthy(config.apiUrl), path.join(config.home, 'services.log'));
}

/** `jmt up` in the foreground: everything in this process (Temporal as a child) until Ctrl-C. */
export async function runServicesForeground(config: Config): Promise<void> {
  const { host, port } = hostPort(config.temporalAddress);
  let temporalChild: ReturnType<typeof spawn> | undefined;
  if (!(await portOpen(host, port))) {
    if (config.temporalAddressFromEnv) throw new Error(`cannot reach Temporal at ${config.temporalAddress}`);
    const [command, ...args] = temporalDevServerCommand(config);
    temporalChild = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit'] });
    await until(`Temporal dev server on ${config.temporalAddress}`, () => portOpen(host, port));
  }
  const services = await startLocalServices(config);
  console.error(
    `API ${services.apiUrl} · Temporal ${config.temporalAddress} · Temporal UI ${config.temporalUiUrl} — Ctrl-C stops`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await services.close();
  if (temporalChild) {
    const exited = new Promise((r) => temporalChild?.once('exit', r));
    temporalChild.kill('SIGTERM');
    await exited;
  }
}

async function stopPid(file: string): Promise<void> {
  if (!existsSync(file)) return;
  const pid = Number(readFileSync(file, 'utf8'));
  rmSync(file, { force: true });
  if (!Number.isInteger(pid) || pid <= 0) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return; // already gone
  }
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* exited meanwhile */
  }
}

/** Stop the background processes `ensureLocalStack` started (services first, then Temporal). */
export async function stopLocalStack(config: Config): Promise<void> {
  await stopPid(pidFile(config, 'services'));
  await stopPid(pidFile(config, 'temporal'));
}
