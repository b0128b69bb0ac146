import { describe, expect, it } from 'vitest';
import {
  decideTask,
  decideTaskInstance,
  decideWorkflow,
  decideWorkflowRun,
  sourcesOf,
  TASK_INSTANCE_TRANSITIONS,
  TASK_TRANSITIONS,
  taskStatusAfterInstanceError,
} from '../../src/domain/fsm';
import { TASK_INSTANCE_STATUSES, TASK_STATUSES, taskBucket } from '../../src/domain/statuses';

describe('task FSM (Jobmon transitions)', () => {
  it.each([
    ['G', 'Q'],
    ['A', 'Q'],
    ['Q', 'O'],
    ['O', 'R'],
    ['R', 'D'],
    ['R', 'E'],
    ['E', 'G'],
    ['E', 'A'],
    ['E', 'F'],
  ] as const)('%s → %s is allowed', (from, to) => {
    expect(decideTask(from, to)).toBe('apply');
  });

  it.each([
    ['D', 'R'],
    ['D', 'E'],
    ['D', 'D'],
  ] as const)('%s → %s is untimely (a late report), not an error', (from, to) => {
    expect(decideTask(from, to)).toBe('untimely');
  });

  it.each([
    ['G', 'D'],
    ['F', 'R'],
    ['Q', 'G'],
  ] as const)('%s → %s is illegal', (from, to) => {
    expect(decideTask(from, to)).toBe('illegal');
  });

  it('only names known statuses in its tables', () => {
    for (const [from, tos] of Object.entries(TASK_TRANSITIONS)) {
      expect(Object.keys(TASK_STATUSES)).toContain(from);
      for (const to of tos ?? []) expect(Object.keys(TASK_STATUSES)).toContain(to);
    }
    for (const [from, tos] of Object.entries(TASK_INSTANCE_TRANSITIONS)) {
      expect(Object.keys(TASK_INSTANCE_STATUSES)).toContain(from);
      for (const to of tos ?? []) expect(Object.keys(TASK_INSTANCE_STATUSES)).toContain(to);
    }
  });

  it('lists the source statuses of a transition for SQL guards', () => {
    expect(sourcesOf(TASK_TRANSITIONS, 'Q').sort()).toEqual(['A', 'E', 'G']);
  });
});

describe('task instance FSM', () => {
  it('accepts the normal life of a job and a kill', () => {
    expect(decideTaskInstance('Q', 'O')).toBe('apply');
    expect(decideTaskInstance('O', 'R')).toBe('apply');
    expect(decideTaskInstance('R', 'D')).toBe('apply');
    expect(decideTaskInstance('R', 'K')).toBe('apply');
    expect(decideTaskInstance('K', 'F')).toBe('apply');
    // A job started so fast that it reports running before its submission is recorded.
    expect(decideTaskInstance('Q', 'R')).toBe('apply');
  });

  it('ignores the races Jobmon calls untimely', () => {
    // The wrapper reports running after the monitor declared it lost, or done twice.
    expect(decideTaskInstance('U', 'R')).toBe('untimely');
    expect(decideTaskInstance('U', 'D')).toBe('untimely');
    expect(decideTaskInstance('D', 'D')).toBe('untimely');
    expect(decideTaskInstance('K', 'E')).toBe('untimely');
  });

  it('never revives a final instance', () => {
    for (const final of ['D', 'E', 'F', 'U', 'W', 'Z'] as const) {
      expect(decideTaskInstance(final, 'R')).not.toBe('apply');
    }
  });
});

describe('after an instance error', () => {
  it('retries as is, with more resources after a resource error, or gives up at max_attempts', () => {
    expect(taskStatusAfterInstanceError('E', 1, 3)).toBe('G');
    expect(taskStatusAfterInstanceError('U', 2, 3)).toBe('G');
    expect(taskStatusAfterInstanceError('Z', 1, 3)).toBe('A');
    expect(taskStatusAfterInstanceError('Z', 3, 3)).toBe('F');
    expect(taskStatusAfterInstanceError('E', 3, 3)).toBe('F');
  });
});

describe('workflow and run FSMs', () => {
  it('lets a halted or failed workflow be resumed and a run end three ways', () => {
    expect(decideWorkflow('H', 'Q')).toBe('apply');
    expect(decideWorkflow('F', 'Q')).toBe('apply');
    expect(decideWorkflowRun('R', 'D')).toBe('apply');
    expect(decideWorkflowRun('R', 'S')).toBe('apply');
    expect(decideWorkflowRun('R', 'E')).toBe('apply');
    expect(decideWorkflowRun('D', 'R')).toBe('illegal');
  });

  it('maps statuses to the buckets the CLI shows', () => {
    expect(['G', 'Q', 'I', 'E', 'A'].map((s) => taskBucket(s as 'G'))).toEqual([
      'PENDING',
      'PENDING',
      'PENDING',
      'PENDING',
      'PENDING',
    ]);
    expect(taskBucket('O')).toBe('SCHEDULED');
    expect(taskBucket('R')).toBe('RUNNING');
    expect(taskBucket('D')).toBe('DONE');
    expect(taskBucket('F')).toBe('FATAL');
  });
});
