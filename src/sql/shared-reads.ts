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
