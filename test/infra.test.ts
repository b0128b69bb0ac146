/** The test infrastructure itself: template databases, the shared Temporal server, helpers. */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { msToTs } from '@temporalio/common/lib/time';
import { createTestDatabase, type TestDatabase } from './helpers/db';
import { freePort } from './helpers/ports';
import { connectTemporal, temporalNamespace, type TemporalConnections } from './helpers/temporal';
import { waitFor } from './helpers/wait';
import { SEARCH_ATTRIBUTE_DEFINITIONS } from '../src/temporal/search-attributes';
import { registerSearchAttributes } from '../src/temporal/register-search-attributes';

describe('test databases', () => {
  let a: TestDatabase;
  let b: TestDatabase;
  beforeAll(async () => {
    [a, b] = await Promise.all([createTestDatabase(), createTestDatabase()]);
  });
  afterAll(async () => {
    await Promise.all([a?.destroy(), b?.destroy()]);
  });

  it('are migrated copies of the template', async () => {
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from kysely_migration`.execute(a.db);
    expect(rows[0].n).toBeGreaterThan(0);
    const tables = await sql<{ name: string }>`
      select table_name as name from information_schema.tables where table_schema = 'public'`.execute(a.db);
    expect(tables.rows.map((r) => r.name)).toEqual(expect.arrayContaining(['workflow', 'tool', 'task_template']));
  });

  it('are isolated from each other', async () => {
    expect(a.name).not.toBe(b.name);
    await a.db.insertInto('tool').values({ name: 'only-in-a' }).execute();
    const inB = await b.db.selectFrom('tool').select('name').where('name', '=', 'only-in-a').execute();
    expect(inB).toEqual([]);
  });

  it('are dropped by destroy', async () => {
    const c = await createTestDatabase();
    await c.destroy();
    const { rows } = await sql<{ n: number }>`
      select count(*)::int as n from pg_database where datname = ${c.name}`.execute(a.db);
    expect(rows[0].n).toBe(0);
  });
});

describe('temporal dev server', () => {
  let t: TemporalConnections;
  beforeAll(async () => {
    t = await connectTemporal();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('serves the namespace', async () => {
    const res = await t.connection.workflowService.describeNamespace({ namespace: temporalNamespace() });
    expect(res.namespaceInfo?.name).toBe(temporalNamespace());
  });

  it('has every Jobmon search attribute registered with its type', async () => {
    const res = await t.connection.operatorService.listSearchAttributes({ namespace: temporalNamespace() });
    const custom = res.customAttributes ?? {};
    // The proto enum name, e.g. INDEXED_VALUE_TYPE_KEYWORD for "Keyword".
    const enumName = (type: string) => `INDEXED_VALUE_TYPE_${type.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase()}`;
    const { temporal } = await import('@temporalio/proto');
    for (const { name, type } of SEARCH_ATTRIBUTE_DEFINITIONS) {
      expect(custom[name], name).toBeDefined();
      expect(temporal.api.enums.v1.IndexedValueType[custom[name]], name).toBe(enumName(type));
    }
  });
});

describe('helpers', () => {
  it('freePort returns a bindable loopback port', async () => {
    const port = await freePort();
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('waitFor returns the first truthy value and names what timed out', async () => {
    let calls = 0;
    await expect(
      waitFor(async () => ++calls >= 3 && calls, { timeoutMs: 5_000, intervalMs: 1, what: 'x' }),
    ).resolves.toBe(3);
    await expect(waitFor(async () => false, { timeoutMs: 30, intervalMs: 5, what: 'the impossible' })).rejects.toThrow(
      /timed out after 30 ms waiting for the impossible/,
    );
  });
});

describe('registerSearchAttributes', () => {
  it('adds the missing attributes to a namespace once, then finds them present', async () => {
    const t = await connectTemporal();
    try {
      // A namespace of its own: SQL visibility keeps custom attributes per namespace.
      const namespace = `jmt-sa-${process.pid}-${Date.now()}`;
      await t.connection.workflowService.registerNamespace({
        namespace,
        workflowExecutionRetentionPeriod: msToTs('1 day'),
      });
      const names = SEARCH_ATTRIBUTE_DEFINITIONS.map((d) => d.name);
      const first = await waitFor(
        // A freshly registered namespace reaches the frontend's cache asynchronously.
        () => registerSearchAttributes(t.connection, namespace),
        { timeoutMs: 20_000, intervalMs: 200, what: `namespace ${namespace} to accept search attributes` },
      );
      expect([...first.added, ...first.present].sort()).toEqual([...names].sort());
      const second = await registerSearchAttributes(t.connection, namespace);
      expect(second).toEqual({ added: [], present: expect.arrayContaining(names) });
    } finally {
      await t.close();
    }
  });
});
