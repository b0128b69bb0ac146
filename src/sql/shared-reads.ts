/**
 * One read for many concurrent callers, without stale answers: a caller that arrives while a read
 * of the same key is under way waits for the next read, which starts once that one is done and
 * serves everybody who arrived meanwhile. Every caller gets data read after it asked (a client
 * that has just changed a task sees the change), while 50 dashboards polling one 100,000-task
 * workflow cost Postgres about one read at a time instead of 50 (docs/benchmarks.md, "API under
 * load"). Keyed per Db and Config object, so separate databases (tests) never share a read.
 */
import type { Config } from '../config';
import type { Db } from './db';

interface Reads<T> {
  running: Promise<T>;
  next?: Promise<T>;
}

export type SharedRead<T> = (db: Db, config: Config, key: number, read: () => Promise<T>) => Promise<T>;

export function sharedReads<T>(): SharedRead<T> {
  const byDb = new WeakMap<Db, WeakMap<Config, Map<number, Reads<T>>>>();
  return (db, config, key, read) => {
    let byConfig = byDb.get(db);
    if (!byConfig) byDb.set(db, (byConfig = new WeakMap()));
    let reads = byConfig.get(config);
    if (!reads) byConfig.set(config, (reads = new Map()));
    const table = reads;
    const start = (): Promise<T> => {
      const entry: Reads<T> = { running: read() };
      table.set(key, entry);
      const settle = () => {
        if (table.get(key) === entry && entry.next === undefined) table.delete(key);
      };
      entry.running.then(settle, settle);
      return entry.running;
    };
    const current = table.get(key);
    if (!current) return start();
    // That read started before this caller arrived: it may predate what the caller just did.
    current.next ??= current.running.then(start, start);
    return current.next;
  };
}

export interface RecentReadOptions<T> {
  /** Whether an answer may be served again later (e.g. only a big workflow's). */
  keep: (answer: T) => boolean;
  /** A kept answer at least this old starts one refresh in the background when served. */
  refreshAfterMs: number;
  /** A kept answer at least this old is not served: the caller waits for a fresh read. */
  serveForMs: number;
  now?: () => number;
}

interface Kept<T> {
  /** When the read that gave it started, so its age is never understated. */
  at: number;
  answer: T;
  refreshing: boolean;
}

/**
 * Shared reads that may also answer from the latest kept answer (stale while revalidating), for
 * reads whose answer moves slowly and costs much: a caller gets the kept answer at once while it
 * is younger than `serveForMs`, and one older than `refreshAfterMs` starts a single refresh in the
 * background. Without a kept answer (or with `keep` false) it is exactly `sharedReads`.
 */
export function recentReads<T>(options: RecentReadOptions<T>): SharedRead<T> {
  const now = options.now ?? Date.now;
  const shared = sharedReads<T>();
  const kept = new WeakMap<Db, WeakMap<Config, Map<number, Kept<T>>>>();
  const table = (db: Db, config: Config): Map<number, Kept<T>> => {
    let byConfig = kept.get(db);
    if (!byConfig) kept.set(db, (byConfig = new WeakMap()));
    let answers = byConfig.get(config);
    if (!answers) byConfig.set(config, (answers = new Map()));
    return answers;
  };
  const refresh = async (
    answers: Map<number, Kept<T>>,
    db: Db,
    config: Config,
    key: number,
    read: () => Promise<T>,
  ) => {
    const at = now();
    try {
      const answer = await shared(db, config, key, read);
      const current = answers.get(key);
      if (!options.keep(answer)) answers.delete(key);
      else if (!current || current.at <= at) answers.set(key, { at, answer, refreshing: false });
      return answer;
    } catch (err) {
      const current = answers.get(key);
      if (current) current.refreshing = false;
      throw err;
    }
  };
  return (db, config, key, read) => {
    const answers = table(db, config);
    const current = answers.get(key);
    const age = current ? now() - current.at : Infinity;
    if (!current || age >= options.serveForMs) return refresh(answers, db, config, key, read);
    if (age >= options.refreshAfterMs && !current.refreshing) {
      current.refreshing = true;
      // A failed background refresh is retried by the next caller; past serveForMs callers see it.
      refresh(answers, db, config, key, read).catch(() => undefined);
    }
    return Promise.resolve(current.answer);
  };
}
