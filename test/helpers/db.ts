/**
 * A fresh, migrated Postgres database per caller, copied from the run's template (see
 * test/global-setup.ts). Copying is a file-level clone, so a test file can afford one per test.
 */
import pg from 'pg';
import { inject } from 'vitest';
import { createDb, type Db } from '../../src/sql/db';
import { adminUrl, appDatabaseUrl, APP_ROLE } from './db-names';

export interface TestDatabase {
  db: Db;
  /** Connection string of this database as the non-superuser role, for code under test that opens its own pool (API, worker). */
  url: string;
  name: string;
  /** Close `db` and drop the database (forcing out any connection the code under test left open). */
  destroy(): Promise<void>;
}

let counter = 0;

export async function createTestDatabase(): Promise<TestDatabase> {
  const serverUrl = inject('databaseServerUrl');
  const template = inject('templateDatabase');
  // Fork pid + counter: unique across the parallel forks of one run; the prefix ties it to the run.
  const name = `${inject('testDatabasePrefix')}${process.pid}_${++counter}`;
  // Owned by, and used as, the template's non-superuser role (db-names.ts: APP_ROLE).
  await adminQuery(serverUrl, `create database "${name}" template "${template}" owner ${APP_ROLE}`);
  const url = appDatabaseUrl(serverUrl, name);
  const db = createDb(url, 5);
  let destroyed = false;
  return {
    db,
    url,
    name,
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      await db.destroy();
      // pool.end() resolves before Postgres has closed the sessions; a forced drop would then kill
      // them mid-close and pg reports that as an uncaught error. Wait (bounded) for them to go.
      await waitForNoSessions(serverUrl, name, 5_000);
      await adminQuery(serverUrl, `drop database if exists "${name}" with (force)`);
    },
  };
}

async function waitForNoSessions(serverUrl: string, name: string, timeoutMs: number): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl(serverUrl) });
  await client.connect();
  try {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const { rows } = await client.query('select count(*)::int as n from pg_stat_activity where datname = $1', [name]);
      if (rows[0].n === 0) return;
      await new Promise((r) => setTimeout(r, 25));
    }
  } finally {
    await client.end();
  }
}

async function adminQuery(serverUrl: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl(serverUrl) });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}
