import { describe, expect, it } from 'vitest';
import { HASH_HEX_BYTES, IntList, SortedTaskHashes } from '../../src/domain/dag-hash';
import { dagHash, edgeKey, sha256, workflowTaskHash } from '../../src/domain/identity';

/** A small deterministic generator, so a failure names a seed that reproduces it. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Hashes through SortedTaskHashes, fed as Postgres would: sorted by hash, ties in any order. */
async function rankedHashes(taskHashes: string[], ups: number[], downs: number[]) {
  const order = taskHashes.map((h, i) => [h, i] as const).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const hashes = new SortedTaskHashes(taskHashes.length);
  for (const [h, i] of order) hashes.add(i, Buffer.from(h, 'latin1'));
  return {
    taskHash: hashes.workflowTaskHash(),
    dagHash: await hashes.dagHash(Int32Array.from(ups), Int32Array.from(downs)),
  };
}

function reference(taskHashes: string[], ups: number[], downs: number[]) {
  return {
    taskHash: workflowTaskHash(taskHashes),
    dagHash: dagHash(ups.map((u, e) => edgeKey(taskHashes[u], taskHashes[downs[e]]))),
  };
}

describe('SortedTaskHashes', () => {
  it('gives the hashes identity.ts gives, on random DAGs', async () => {
    for (let seed = 1; seed <= 40; seed++) {
      const next = random(seed);
      const numTasks = 1 + Math.floor(next() * 60);
      // A few repeated hashes too: equal strings must sort together and share a rank.
      const taskHashes = Array.from({ length: numTasks }, (_, i) =>
        sha256(String(next() < 0.1 && i > 0 ? Math.floor(next() * i) : `t${seed}-${i}`)),
      );
      const ups: number[] = [];
      const downs: number[] = [];
      for (let d = 1; d < numTasks; d++)
        for (let u = 0; u < d; u++)
          if (next() < 0.15) {
            ups.push(u);
            downs.push(d);
          }
      expect(await rankedHashes(taskHashes, ups, downs), `seed ${seed}`).toEqual(reference(taskHashes, ups, downs));
    }
  });

  it('hashes a DAG with no edges, and one with more edges than one batch', async () => {
    const taskHashes = Array.from({ length: 500 }, (_, i) => sha256(`task ${i}`));
    expect(await rankedHashes(taskHashes, [], [])).toEqual(reference(taskHashes, [], []));
    const ups: number[] = [];
    const downs: number[] = [];
    for (let d = 0; d < 500; d++)
      for (let u = 0; u < d; u += 2) {
        ups.push(u);
        downs.push(d);
      }
    expect(ups.length).toBeGreaterThan(50_000);
    expect(await rankedHashes(taskHashes, ups, downs)).toEqual(reference(taskHashes, ups, downs));
  });

  it('refuses hashes out of order, twice for a task, of the wrong size, or missing', () => {
    const [a, b] = [sha256('a'), sha256('b')].sort();
    const hashes = new SortedTaskHashes(3);
    hashes.add(0, Buffer.from(b));
    expect(() => hashes.add(1, Buffer.from(a))).toThrow(/out of order/);
    expect(() => hashes.add(0, Buffer.from(b))).toThrow(/twice/);
    expect(() => hashes.add(2, Buffer.from('abc'))).toThrow(/3 bytes/);
    expect(() => hashes.workflowTaskHash()).toThrow(/1 task hashes for 3 tasks/);
    expect(HASH_HEX_BYTES).toBe(a.length);
  });
});

describe('IntList', () => {
  it('grows past its capacity and keeps every item in order', () => {
    const list = new IntList(1);
    for (let i = 0; i < 1000; i++) list.push(i * 7 - 3000);
    expect(list.length).toBe(1000);
    expect(Array.from(list.view())).toEqual(Array.from({ length: 1000 }, (_, i) => i * 7 - 3000));
  });
});
