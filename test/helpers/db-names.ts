/**
 * Naming of test databases, shared by the global setup (which creates the template and drops
 * everything at the end) and the per-file helper (which creates copies). The vitest main process's
 * pid is in every name so parallel runs on one Postgres server never touch each other's databases.
 */
import pg from 'pg';

export const templateDatabaseName = (pid: number): string => `jmt_test_template_${pid}`;
export const testDatabasePrefix = (pid: number): string => `jmt_test_${pid}_`;

/**
 * The role every test database belongs to and every test connects as: no superuser, as on a
 * managed Postgres (issue 18). It owns its databases (so migrations run as it); `trust` auth on
 * loopback, like the superuser the server URL names.
 */
export const APP_ROLE = 'jmt_app';

/** Create APP_ROLE once per server; a parallel run creating it at the same moment is fine. */
export async function ensureAppRole(admin: pg.Client): Promise<void> {
  const { rowCount } = await admin.query('select 1 from pg_roles where rolname = $1', [APP_ROLE]);
  if (rowCount) return;
  try {
    await admin.query(`create role ${APP_ROLE} login nosuperuser nocreatedb nocreaterole`);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code !== '42710' && code !== '23505') throw err;
  }
}

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

/** `databaseUrl` as APP_ROLE: how tests (and the code they start) reach their databases. */
export function appDatabaseUrl(serverUrl: string, name: string): string {
  const url = new URL(databaseUrl(serverUrl, name));
  url.username = APP_ROLE;
  url.password = '';
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
