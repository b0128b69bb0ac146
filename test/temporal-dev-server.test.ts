/**
 * The dev-server flags `jmt up` uses: a real `temporal server start-dev` with them starts, registers
 * the namespace and search attributes, and keeps a run across a restart (the --db-filename promise).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { loadConfig } from '../src/config';
import { devServerArgs } from '../src/temporal/dev-server-args';
import { SEARCH_ATTRIBUTE_DEFINITIONS } from '../src/temporal/search-attributes';
import { freePort } from './helpers/ports';
import { waitFor } from './helpers/wait';

describe('devServerArgs', () => {
  it('binds loopback, persists to the file and registers every search attribute', () => {
    const args = devServerArgs({ port: 7233, uiPort: 8233, dbFile: '/x/dev.db', namespace: 'jobmon' });
    expect(args).toEqual(expect.arrayContaining(['--ip', '127.0.0.1', '--port', '7233', '--ui-port', '8233']));
    expect(args.join(' ')).toContain('--db-filename /x/dev.db');
    expect(args.join(' ')).toContain('--namespace jobmon');
    for (const { name, type } of SEARCH_ATTRIBUTE_DEFINITIONS) expect(args).toContain(`${name}=${type}`);
    expect(devServerArgs({ port: 1, uiPort: null })).toContain('--headless');
    expect(devServerArgs({ port: 1, uiPort: null, namespace: 'default' })).not.toContain('--namespace');
  });
});

describe('temporal server start-dev with devServerArgs', () => {
  const children = new Set<ChildProcess>();
  // Drained so the pipe never fills and blocks the server; shown when a start times out.
  let stderr = '';
  let dir: string | undefined;

  async function start(dbFile: string, port: number): Promise<ChildProcess> {
    const child = spawn(
      loadConfig().temporalBin,
      ['server', 'start-dev', ...devServerArgs({ port, uiPort: null, dbFile, namespace: 'jobmon', logLevel: 'error' })],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    children.add(child);
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4_000)));
    child.once('exit', () => children.delete(child));
    return child;
  }

  async function stop(child: ChildProcess): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }

  async function connect(port: number): Promise<Connection> {
    try {
      return await waitFor(() => Connection.connect({ address: `127.0.0.1:${port}`, connectTimeout: 1_000 }), {
        timeoutMs: 30_000,
        intervalMs: 100,
        what: `dev server on port ${port}`,
      });
    } catch (err) {
      throw new Error(`${String(err)}\nserver stderr:\n${stderr}`);
    }
  }

  afterEach(async () => {
    await Promise.all([...children].map(stop));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('keeps a workflow across a restart and re-registers search attributes idempotently', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'jmt-devserver-'));
    const dbFile = path.join(dir, 'temporal.db');
    const port = await freePort();

    let child = await start(dbFile, port);
    let connection = await connect(port);
    const client = new Client({ connection, namespace: 'jobmon' });
    // No worker polls this queue: the execution just stays Running, which is all we need to see.
    await client.workflow.start('NoSuchWorkflow', { taskQueue: 'nobody', workflowId: 'survives-restart' });
    await connection.close();
    await stop(child);

    child = await start(dbFile, port);
    connection = await connect(port);
    try {
      const described = await waitFor(
        () => new Client({ connection, namespace: 'jobmon' }).workflow.getHandle('survives-restart').describe(),
        { timeoutMs: 15_000, intervalMs: 100, what: 'the workflow started before the restart' },
      );
      expect(described.status.name).toBe('RUNNING');
      const sa = await connection.operatorService.listSearchAttributes({ namespace: 'jobmon' });
      for (const { name } of SEARCH_ATTRIBUTE_DEFINITIONS) expect(sa.customAttributes?.[name], name).toBeDefined();
    } finally {
      await connection.close();
      await stop(child);
    }
  });
});
