/**
 * src/sql/shared-reads.ts: concurrent callers share reads, but never get one that started before they
 * asked; `recentReads` may answer from a kept answer within its bounds.
 */
import { describe, expect, it } from 'vitest';
import { recentReads, sharedReads } from '../src/sql/shared-reads';
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

describe('recentReads', () => {
  function setup(keep = (v: number) => v >= 0) {
    let clock = 1_000;
    const recent = recentReads<number>({ keep, refreshAfterMs: 1_000, serveForMs: 10_000, now: () => clock });
    return { recent, r: controlledReads(), tick: (ms: number) => (clock += ms) };
  }

  it('serves a kept answer at once, refreshes it once in the background after refreshAfterMs', async () => {
    const { recent, r, tick } = setup();
    const first = recent(db, config, 1, r.read);
    r.finish(10);
    expect(await first).toBe(10);

    tick(500); // young: served, no read
    expect(await recent(db, config, 1, r.read)).toBe(10);
    expect(r.started).toBe(1);

    tick(600); // older than 1 s: still served, one refresh starts, however many callers
    expect(await recent(db, config, 1, r.read)).toBe(10);
    expect(await recent(db, config, 1, r.read)).toBe(10);
    expect(r.started).toBe(2);
    r.finish(20);
    await new Promise((resolve) => setImmediate(resolve));
    expect(await recent(db, config, 1, r.read)).toBe(20);
    expect(r.started).toBe(2);
  });

  it('past serveForMs the caller waits for a fresh read', async () => {
    const { recent, r, tick } = setup();
    const first = recent(db, config, 1, r.read);
    r.finish(10);
    await first;
    tick(10_000);
    const late = recent(db, config, 1, r.read);
    expect(r.started).toBe(2);
    r.finish(30);
    expect(await late).toBe(30);
  });

  it('does not keep answers that keep() refuses: every call reads, as sharedReads', async () => {
    const { recent, r } = setup((v) => v >= 100);
    const a = recent(db, config, 1, r.read);
    r.finish(5);
    expect(await a).toBe(5);
    const b = recent(db, config, 1, r.read);
    expect(r.started).toBe(2);
    r.finish(6);
    expect(await b).toBe(6);
  });

  it('a failed background refresh keeps the old answer and is retried by the next caller', async () => {
    const { recent, r, tick } = setup();
    const first = recent(db, config, 1, r.read);
    r.finish(10);
    await first;
    tick(2_000);
    expect(await recent(db, config, 1, () => Promise.reject(new Error('down')))).toBe(10);
    await new Promise((resolve) => setImmediate(resolve));
    expect(await recent(db, config, 1, r.read)).toBe(10);
    expect(r.started).toBe(2); // the retry
    r.finish(11);
    await new Promise((resolve) => setImmediate(resolve));
    expect(await recent(db, config, 1, r.read)).toBe(11);
  });
});
