/**
 * Naming of test databases, shared by the global setup (which creates the template and drops
 * everything at the end) and the per-file helper (which creates copies). The vitest main process's
 * pid is in every name so parallel runs on one Postgres server never touch each other's databases.
 */
import pg from 'pg';

export const templateDatabaseName = (pid: number): string => `jmt_test_template_${pid}`;
export const testDatabasePrefix = (pid: number): string => `jmt_test_${pid}_`;

/** The same server, database `postgres`: CREATE/DROP DATABASE cannot run inside the target. */
export function adminUrl(serverUrl: string): string {
  const url = new URL(serverUrl);
  url.pathname = '/postgres';
  return url.toString();
}

export function databaseUrl(serverUrl: string, name: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Drop every database whose name starts with `prefix` (exact match included); `WITH (FORCE)` ends stray sessions. */
export async function dropDatabasesWithPrefix(serverUrl: string, prefix: string): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl(serverUrl) });
  await admin.connect();
  try {
    // LIKE would treat `_` as a wildcard; compare the prefix literally.
    const { rows } = await admin.query<{ datname: string }>(
      'select datname from pg_database where left(datname, length($1)) = $1',
      [prefix],
    );
    for (const { datname } of rows) {
      await admin.query(`drop database if exists "${datname}" with (force)`);
    }
  } finally {
    await admin.end();
  }
}
