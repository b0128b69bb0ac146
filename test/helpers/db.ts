/**
 * A fresh, migrated Postgres database per caller, copied from the run's template (see
 * test/global-setup.ts). Copying is a file-level clone, so a test file can afford one per test.
 */
import pg from 'pg';
import { inject } from 'vitest';
import { createDb, type Db } from '../../src/sql/db';
import { adminUrl, databaseUrl } from './db-names';

export interface TestDatabase {
  db: Db;
  /** Connection string of this database, for code under test that opens its own pool (API, worker). */
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
  await adminQuery(serverUrl, `create database "${name}" template "${template}"`);
  const url = databaseUrl(serverUrl, name);
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
      await adminQuery(serverUrl, `drop database if exists "${name}" with (force)`);
    },
  };
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
