import { describe, expect, it } from 'vitest';
import {
  argMappingHash,
  argsHash,
  checkTaskName,
  dagHash,
  defaultTaskName,
  edgeKey,
  sha256,
  taskHash,
  workflowArgsHash,
  workflowTaskHash,
} from '../../src/domain/identity';
import { JobmonError } from '../../src/domain/errors';

describe('identity hashes', () => {
  it('sha256 is hex of the UTF-8 text', () => {
    expect(sha256('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(workflowArgsHash('abc')).toBe(sha256('abc'));
  });

  it('args hash ignores order but not values or names', () => {
    expect(argsHash({ a: '1', b: '2' })).toBe(argsHash({ b: '2', a: '1' }));
    expect(argsHash({ a: '1', b: '2' })).not.toBe(argsHash({ a: '2', b: '1' }));
    expect(argsHash({ a: '1' })).not.toBe(argsHash({ b: '1' }));
    // Boundaries are unambiguous: no concatenation collisions.
    expect(argsHash({ a: '1_b' })).not.toBe(argsHash({ a_1: 'b' }));
  });

  it('arg mapping hash ignores declaration order within a kind, not the kind', () => {
    expect(argMappingHash('x {a} {b}', ['a', 'b'], [], [])).toBe(argMappingHash('x {a} {b}', ['b', 'a'], [], []));
    expect(argMappingHash('x {a} {b}', ['a'], ['b'], [])).not.toBe(argMappingHash('x {a} {b}', ['a'], [], ['b']));
    expect(argMappingHash('x {a}', ['a'], [], [])).not.toBe(argMappingHash('y {a}', ['a'], [], []));
  });

  it('task hash depends on template, node args and task args', () => {
    const n = argsHash({ loc: '1' });
    const t = argsHash({});
    expect(taskHash('model', n, t)).toBe(taskHash('model', n, t));
    expect(taskHash('model', n, t)).not.toBe(taskHash('other', n, t));
    expect(taskHash('model', n, t)).not.toBe(taskHash('model', n, argsHash({ year: '2020' })));
  });

  it('workflow task hash and dag hash are order independent', () => {
    expect(workflowTaskHash(['b', 'a', 'c'])).toBe(workflowTaskHash(['c', 'b', 'a']));
    expect(workflowTaskHash(['a', 'b'])).not.toBe(workflowTaskHash(['a', 'c']));
    const e1 = edgeKey('h1', 'h2');
    const e2 = edgeKey('h2', 'h3');
    expect(dagHash([e1, e2])).toBe(dagHash([e2, e1]));
    expect(dagHash([e1])).not.toBe(dagHash([edgeKey('h2', 'h1')]));
    expect(dagHash([])).toBe(sha256(''));
  });
});

describe('task names', () => {
  it('builds Jobmon default names and replaces illegal characters', () => {
    expect(
      defaultTaskName('model', [
        ['location_id', '1'],
        ['sex', 'male'],
      ]),
    ).toBe('model_location_id-1_sex-male');
    expect(defaultTaskName('m', [['path', 'a/b\\c \'d" e']])).toBe('m_path-a_b_c__d__e');
    expect(defaultTaskName('solo', [])).toBe('solo');
    expect(defaultTaskName('t', [['x', 'y'.repeat(400)]])).toHaveLength(249);
  });

  it('validates user names like Jobmon', () => {
    expect(checkTaskName('ok_name-1', 'tasks[0].name')).toBe('ok_name-1');
    for (const bad of ['', '1abc', 'a b', 'a/b', 'a\\b', "a'b", 'a"b', 'x'.repeat(256), 7]) {
      try {
        checkTaskName(bad, 'tasks[3].name');
        throw new Error(`accepted ${String(bad)}`);
      } catch (err) {
        expect(err).toBeInstanceOf(JobmonError);
        expect((err as JobmonError).field).toBe('tasks[3].name');
      }
    }
  });
});
