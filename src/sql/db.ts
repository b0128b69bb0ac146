/** Connection and migrations. One Kysely instance per process; `pg` pools the connections. */
import path from 'node:path';
import { promises as fs } from 'node:fs';
import { FileMigrationProvider, Kysely, Migrator, PostgresDialect, sql, type Transaction } from 'kysely';
import pg from 'pg';
import type { Database } from './schema';

// BIGINT ids come back as strings by default; ours stay far below 2^53, so parse them as numbers.
pg.types.setTypeParser(20, (v) => Number(v));

export type Db = Kysely<Database>;
/** A transaction of the database: what the guarded writes and locks take. */
export type Tx = Transaction<Database>;

export function createDb(databaseUrl: string, maxConnections = 10): Db {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: maxConnections });
  // An idle pooled connection that the server ends (Postgres restarted, a session killed) is
  // emitted as 'error' on the pool; unheard, Node kills the whole process (API, worker). pg has
  // already dropped that client, and the next query opens a fresh connection: log and carry on.
  pool.on('error', (err) => {
    process.stderr.write(`database: idle connection lost (${err.message}); reconnecting on next use\n`);
  });
  // The same for a connection checked out (e.g. inside a transaction) when the server ends it:
  // the client emits 'error' besides failing the query. The query's failure reaches the caller
  // (a retried activity, a 5xx); the pool drops the unusable client when it is released.
  pool.on('connect', (client) => client.on('error', () => undefined));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  pools.set(db, pool);
  return db;
}

const pools = new WeakMap<Db, pg.Pool>();

/** The pool behind `db`, for what Kysely cannot say: `COPY ... TO STDOUT` streams (sql/copy-out.ts). */
export function poolOf(db: Db): pg.Pool {
  const pool = pools.get(db);
  if (!pool) throw new Error('poolOf: this Kysely instance was not made by createDb');
  return pool;
}

/**
 * A transaction on one pooled connection, handed over both as Kysely and as the raw pg client:
 * for `COPY ... FROM STDIN` inside a transaction (sql/bind-rows.ts), which Kysely cannot stream.
 * The Kysely instance is a thin one over that connection alone; it is dropped with the transaction.
 */
export async function transactionWithClient<T>(db: Db, fn: (trx: Tx, client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await poolOf(db).connect();
  const lent = { query: client.query.bind(client), release: () => undefined } as unknown as pg.PoolClient;
  const single = new Kysely<Database>({
    dialect: new PostgresDialect({ pool: { connect: async () => lent, end: async () => undefined } }),
  });
  try {
    return await single.transaction().execute((trx) => fn(trx, client));
  } finally {
    await single.destroy();
    // pg's pool drops a client whose connection the server ended (it is no longer queryable).
    client.release();
  }
}

/** Create the database named in `databaseUrl` if it does not exist (connects to `postgres`). */
export async function ensureDatabase(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!/^[A-Za-z0-9_]+$/.test(name)) throw new Error(`database name "${name}" must be letters, digits and _`);
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    const found = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (found.rowCount === 0) {
      try {
        await client.query(`create database "${name}"`);
      } catch (err) {
        // Two processes may race to create it; losing that race is fine. The loser sees 42P04, or
        // 23505 on pg_database's name index when both passed the check above at once.
        const code = (err as { code?: string }).code;
        if (code !== '42P04' && code !== '23505') throw err;
      }
    }
  } finally {
    await client.end();
  }
}

/** Apply pending migrations (forward-only, under kysely's migration lock). Throws on failure. */
export async function migrate(db: Db): Promise<void> {
  const migrator = new Migrator({
    db,
    provider: new FileMigrationProvider({ fs, path, migrationFolder: path.join(__dirname, 'migrations') }),
  });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    throw new Error(`migration ${failed?.migrationName ?? ''} failed: ${String(error)}`);
  }
}

export async function dbNow(db: Db): Promise<Date> {
  const { rows } = await sql<{ now: Date }>`select now() as now`.execute(db);
  return rows[0].now;
}

/**
 * Postgres may pick a transaction as a deadlock victim (40P01) or fail it on serialisation (40001):
 * nothing of it was written, so try it again, a little later each time.
 */
export async function retryOnDeadlock<T>(fn: () => Promise<T>, attempts = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      const code = (err as { code?: string }).code;
      if ((code !== '40P01' && code !== '40001') || i >= attempts) throw err;
      await new Promise((resolve) => setTimeout(resolve, 20 * i));
    }
  }
}
