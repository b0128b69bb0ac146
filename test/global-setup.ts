/**
 * Once per vitest run (in the main process, before any test file):
 *  - a migrated template database `jmt_test_template_<pid>`, so each test file gets a fresh
 *    database with `CREATE DATABASE ... TEMPLATE` (a file copy, ~tens of ms) instead of re-running
 *    migrations;
 *  - one Temporal dev server (or the one at TEMPORAL_ADDRESS), shared because starting one costs
 *    seconds and tests isolate themselves by task queue and workflow id anyway.
 * Teardown stops the server and drops the template and every `jmt_test_<pid>_*` database, including
 * those a crashed test file never dropped.
 */
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { register as registerTsx } from 'tsx/esm/api';
import { register as registerTsxCjs } from 'tsx/cjs/api';
import { loadConfig } from '../src/config';
import { createDb, migrate } from '../src/sql/db';
import { SEARCH_ATTRIBUTE_KEYS } from '../src/temporal/search-attributes';
import {
  adminUrl,
  appDatabaseUrl,
  APP_ROLE,
  dropDatabasesWithPrefix,
  ensureAppRole,
  testDatabasePrefix,
  templateDatabaseName,
} from './helpers/db-names';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    temporalNamespace: string;
    templateDatabase: string;
    /** Every test database's name starts with this (the teardown drops them by it). */
    testDatabasePrefix: string;
    /** Server URL (any database path); helpers swap in their own database name. */
    databaseServerUrl: string;
  }
}

const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const config = loadConfig();
  const serverUrl = process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL;
  const pid = process.pid;
  const template = templateDatabaseName(pid);
  const cleanups: (() => Promise<void>)[] = [];

  const teardown = async (): Promise<void> => {
    // Reverse order; keep going on failure so one broken step does not leak the others.
    const errors: unknown[] = [];
    for (const fn of cleanups.reverse()) {
      try {
        await fn();
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length) throw new AggregateError(errors, 'test global teardown failed');
  };

  try {
    // Registered before creating, so a failed migration still drops the half-made template.
    cleanups.push(async () => {
      await dropDatabasesWithPrefix(serverUrl, testDatabasePrefix(pid));
      await dropDatabasesWithPrefix(serverUrl, template);
    });
    await createTemplate(serverUrl, template);

    let address: string;
    let namespace: string;
    if (process.env.TEMPORAL_ADDRESS) {
      address = process.env.TEMPORAL_ADDRESS;
      namespace = config.temporalNamespace;
    } else {
      const env = await TestWorkflowEnvironment.createLocal({
        server: {
          executable: { type: 'existing-path', path: config.temporalBin },
          ip: '127.0.0.1',
          searchAttributes: [...SEARCH_ATTRIBUTE_KEYS],
          // In-memory SQLite already; WAL + synchronous=OFF cut fsync cost on the test machines
          // (a lost test server is simply restarted, durability is irrelevant here).
          extraArgs: ['--sqlite-pragma', 'journal_mode=WAL', '--sqlite-pragma', 'synchronous=OFF'],
        },
      });
      cleanups.push(() => env.teardown());
      address = env.address;
      namespace = env.namespace ?? 'default';
    }

    project.provide('temporalAddress', address);
    project.provide('temporalNamespace', namespace);
    project.provide('templateDatabase', template);
    project.provide('testDatabasePrefix', testDatabasePrefix(pid));
    project.provide('databaseServerUrl', serverUrl);
  } catch (err) {
    await teardown().catch(() => undefined);
    throw err;
  }
  return teardown;
}

async function createTemplate(serverUrl: string, template: string): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl(serverUrl) });
  await admin.connect();
  try {
    await ensureAppRole(admin);
    await admin.query(`drop database if exists "${template}"`);
    // Owned by the non-superuser role and migrated as it: every table belongs to it, as on a
    // managed Postgres where the application's role owns its database.
    await admin.query(`create database "${template}" owner ${APP_ROLE}`);
  } finally {
    await admin.end();
  }
  const db = createDb(appDatabaseUrl(serverUrl, template), 2);
  // kysely's FileMigrationProvider loads each migration with a native `import()`, which cannot read
  // the .ts sources vitest runs from. tsx's hooks compile them for the duration of `migrate`: the
  // ESM hook alone is not enough (Node then require()s the compiled ESM in a cycle), hence both.
  const unregister = registerTsx();
  const unregisterCjs = registerTsxCjs();
  try {
    await migrate(db);
  } finally {
    unregisterCjs();
    await unregister();
    // A template must have no open connections when it is copied.
    await db.destroy();
  }
}
