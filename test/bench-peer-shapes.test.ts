/**
 * The shape generator of `npm run bench:peer` (bench/peer/shapes.ts): sizes, edges, acyclicity,
 * unique node args per template (Jobmon refuses duplicates), and that the JSON file both sides read
 * carries exactly the generated DAG. No Jobmon, no servers.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  buildShape,
  CHAIN_LEVELS,
  layeredWidths,
  realisticLocations,
  SHAPE_NAMES,
  writeShape,
  type Shape,
} from '../bench/peer/shapes';

const dir = mkdtempSync(path.join(os.tmpdir(), 'peer-shapes-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function checkDag(shape: Shape): void {
  let edges = 0;
  shape.tasks.forEach((task, i) => {
    expect(shape.templates[task.template]).toBeDefined();
    // Upstream indexes point backwards only: the task list is a topological order, hence acyclic.
    for (const u of task.upstream) {
      expect(u).toBeGreaterThanOrEqual(0);
      expect(u).toBeLessThan(i);
    }
    expect(new Set(task.upstream).size).toBe(task.upstream.length);
    expect(Object.keys(task.nodeArgs).sort()).toEqual([...shape.templates[task.template].nodeArgs].sort());
    edges += task.upstream.length;
  });
  expect(shape.edges).toBe(edges);
  const identities = shape.tasks.map((t) => `${t.template}:${JSON.stringify(t.nodeArgs)}`);
  expect(new Set(identities).size).toBe(identities.length);
  // Exactly one source and one sink, except wide which has many sinks; the real-path shapes are
  // independent tasks, all sources.
  const sources = shape.name === 'flat' || shape.name === 'sleepmix' ? shape.tasks.length : 1;
  expect(shape.tasks.filter((t) => t.upstream.length === 0)).toHaveLength(sources);
}

describe('bench:peer shapes', () => {
  it.each([1_000, 10_000])('builds every shape at %i tasks as a valid DAG', (n) => {
    for (const name of SHAPE_NAMES) checkDag(buildShape(name, n));
  });

  it('real-path shapes: N `true` tasks, and sleeps of 1–5 s in a fixed rotation', () => {
    expect(buildShape('flat', 100).tasks).toHaveLength(100);
    const mix = buildShape('sleepmix', 40).tasks.map((t) => t.nodeArgs.seconds);
    expect(mix.slice(0, 6)).toEqual([1, 2, 3, 4, 5, 1]);
    expect(mix.reduce((a, b) => Number(a) + Number(b), 0)).toBe(120);
  });

  it('sizes: wide and layered exactly N, chain 20 levels, realistic close to N', () => {
    expect(buildShape('wide', 1_000).tasks).toHaveLength(1_000);
    expect(buildShape('wide', 1_000).edges).toBe(999);
    const chain = buildShape('chain', 1_000);
    expect(chain.tasks).toHaveLength(CHAIN_LEVELS);
    expect(chain.edges).toBe(CHAIN_LEVELS - 1);
    for (const n of [1_000, 10_000, 100_000]) {
      expect(layeredWidths(n).reduce((a, b) => a + b, 0)).toBe(n);
      expect(buildShape('layered', n).tasks).toHaveLength(n);
      const real = buildShape('realistic', n).tasks.length;
      expect(real).toBe(2 + realisticLocations(n) * 21);
      expect(n - real).toBeLessThan(21);
    }
    expect(layeredWidths(110_202)).toEqual([1, 100, 10_000, 100_000, 100, 1]);
    expect(layeredWidths(10_000)).toEqual([1, 9, 907, 9_073, 9, 1]);
  });

  it('realistic fans in: each aggregate waits for its location’s 20 models, the summary for all', () => {
    const shape = buildShape('realistic', 1_000);
    const byTemplate = (name: string) => shape.tasks.filter((t) => shape.templates[t.template].name === name);
    for (const agg of byTemplate('aggregate')) expect(agg.upstream).toHaveLength(20);
    expect(byTemplate('summarise')[0].upstream).toHaveLength(byTemplate('aggregate').length);
    expect(byTemplate('model')).toHaveLength(realisticLocations(1_000) * 20);
  });

  it('the JSON file both sides read is the generated shape', () => {
    const shape = buildShape('layered', 1_000);
    const file = path.join(dir, 'layered.json');
    writeShape(shape, file);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(shape);
  });

  it('refuses sizes that cannot make a shape', () => {
    expect(() => buildShape('layered', 5)).toThrow(/size/);
  });
});
