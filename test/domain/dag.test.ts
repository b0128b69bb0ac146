import { describe, expect, it } from 'vitest';
import { analyzeDag, upstreamCount, type DagTask } from '../../src/domain/dag';
import { JobmonError } from '../../src/domain/errors';

const task = (key: string, upstream: string[] = [], nodeArgsHash = key): DagTask => ({
  key,
  upstream,
  templateName: 't',
  nodeArgsHash,
});

function errorOf(tasks: DagTask[]): JobmonError {
  try {
    analyzeDag(tasks);
  } catch (err) {
    expect(err).toBeInstanceOf(JobmonError);
    return err as JobmonError;
  }
  throw new Error('expected a JobmonError');
}

describe('analyzeDag', () => {
  it('orders tasks after their upstreams and counts upstreams', () => {
    const tasks = [task('c', ['a', 'b']), task('a'), task('b', ['a']), task('d', ['c'])];
    const dag = analyzeDag(tasks);
    const pos = new Map([...dag.order].map((i, p) => [tasks[i].key, p]));
    expect(pos.get('a')! < pos.get('b')!).toBe(true);
    expect(pos.get('b')! < pos.get('c')!).toBe(true);
    expect(pos.get('c')! < pos.get('d')!).toBe(true);
    expect([0, 1, 2, 3].map((i) => upstreamCount(dag, i))).toEqual([2, 0, 1, 1]);
    expect(dag.numEdges).toBe(4);
  });

  it('names the unknown upstream entry', () => {
    const err = errorOf([task('a'), task('b', ['a', 'zzz'])]);
    expect([err.field, err.code]).toEqual(['tasks[1].upstream[1]', 'unknown_upstream']);
  });

  it('refuses duplicate keys', () => {
    const err = errorOf([task('a'), task('b'), task('a', [], 'other')]);
    expect([err.field, err.code]).toEqual(['tasks[2].key', 'duplicate_key']);
  });

  it('refuses duplicate node args within a template, not across templates', () => {
    const err = errorOf([task('a', [], 'same'), task('b', [], 'same')]);
    expect([err.field, err.code]).toEqual(['tasks[1].node_args', 'duplicate_node_args']);
    expect(() => analyzeDag([task('a', [], 'same'), { ...task('b', [], 'same'), templateName: 'u' }])).not.toThrow();
  });

  it('finds a cycle and names its keys at the lowest-index member', () => {
    const err = errorOf([
      task('root'),
      task('x', ['root', 'z']),
      task('y', ['x']),
      task('z', ['y']),
      task('tail', ['z']),
    ]);
    expect(err.code).toBe('cycle');
    expect(err.field).toBe('tasks[1].upstream[1]');
    expect(err.message).toContain('"x" → "y" → "z" → "x"');
  });

  it('finds a self-dependency', () => {
    const err = errorOf([task('a', ['a'])]);
    expect([err.field, err.code]).toEqual(['tasks[0].upstream[0]', 'cycle']);
  });

  it('shortens the message of a long cycle', () => {
    const n = 50;
    const tasks = Array.from({ length: n }, (_, i) => task(`k${i}`, [`k${(i + n - 1) % n}`]));
    const err = errorOf(tasks);
    expect(err.code).toBe('cycle');
    expect(err.message).toContain('(50 tasks)');
  });

  it('handles 100,000 tasks in a deep chain without recursion', () => {
    const n = 100_000;
    const tasks = Array.from({ length: n }, (_, i) => task(`k${i}`, i ? [`k${i - 1}`] : []));
    const t0 = performance.now();
    const dag = analyzeDag(tasks);
    expect(dag.order[n - 1]).toBe(n - 1);
    expect(performance.now() - t0).toBeLessThan(5_000);
    // And a cycle closing the whole chain is found without recursion too.
    tasks[0] = task('k0', [`k${n - 1}`]);
    expect(errorOf(tasks).code).toBe('cycle');
  });
});
