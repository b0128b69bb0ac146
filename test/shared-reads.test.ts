/** src/sql/shared-reads.ts: concurrent callers share reads, but never get one that started before they asked. */
import { describe, expect, it } from 'vitest';
import { sharedReads } from '../src/sql/shared-reads';
import type { Config } from '../src/config';
import type { Db } from '../src/sql/db';

const db = {} as Db;
const config = {} as Config;

/** A read whose completion the test controls; `started` counts reads begun. */
function controlledReads() {
  const pending: ((v: number) => void)[] = [];
  let started = 0;
  return {
    read: () =>
      new Promise<number>((resolve) => {
        started += 1;
        pending.push(resolve);
      }),
    finish: (value: number) => pending.shift()!(value),
    get started() {
      return started;
    },
  };
}

describe('sharedReads', () => {
  it('runs one read for callers arriving together and one more for those who came during it', async () => {
    const shared = sharedReads<number>();
    const r = controlledReads();
    const a = shared(db, config, 1, r.read);
    const b = shared(db, config, 1, r.read); // arrived while read 1 runs: waits for read 2
    const c = shared(db, config, 1, r.read);
    expect(r.started).toBe(1);
    r.finish(10);
    expect(await a).toBe(10);
    await Promise.resolve();
    expect(r.started).toBe(2);
    r.finish(20);
    expect([await b, await c]).toEqual([20, 20]);
    // Idle again: the next caller starts a fresh read.
    const d = shared(db, config, 1, r.read);
    expect(r.started).toBe(3);
    r.finish(30);
    expect(await d).toBe(30);
  });

  it('keeps keys, databases and failures apart', async () => {
    const shared = sharedReads<number>();
    const r = controlledReads();
    const a = shared(db, config, 1, r.read);
    const other = shared({} as Db, config, 1, r.read);
    const key2 = shared(db, config, 2, r.read);
    expect(r.started).toBe(3);
    r.finish(1);
    r.finish(2);
    r.finish(3);
    expect([await a, await other, await key2]).toEqual([1, 2, 3]);

    const failing = shared(db, config, 1, () => Promise.reject(new Error('boom')));
    const after = shared(db, config, 1, async () => 42);
    await expect(failing).rejects.toThrow('boom');
    expect(await after).toBe(42);
  });
});
