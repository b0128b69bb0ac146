/**
 * The run workflow (src/workflows/workflow-run.ts) with mocked activities, the samples'
 * workflows-mocks pattern: TestWorkflowEnvironment on the run's Temporal dev server (no time
 * skipping there, so every wait below is on a signal, an update or a batch the test releases) and a
 * fake run in memory in place of Postgres and the distributors. Covers pause/unpause, stop (drain
 * and kill), fail-fast, an update racing a scheduling pass, and continue-as-new with its carried
 * state and the adoption of a batch still in flight.
 *
 * With JMT_RECORD_HISTORIES=1 the continue-as-new test writes both executions' histories to
 * test/fixtures/histories, where test/e2e/replay.test.ts replays them.
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Activities } from '../../src/activities';
import { autoHeartbeat } from '../../src/worker/auto-heartbeat';
import type { ScheduleResult } from '../../src/sql/scheduling';
import { workflowBundle } from '../../src/worker/create-worker';
import {
  pauseSignal,
  runStateQuery,
  setConcurrencyUpdate,
  stopSignal,
  tasksChangedSignal,
  unpauseSignal,
} from '../../src/workflows/messages';
import type { WorkflowRunInput } from '../../src/workflows/workflow-run';
import { temporalAddress, temporalNamespace } from '../helpers/temporal';
import { waitFor } from '../helpers/wait';

/** A promise and its resolver: how the test holds a batch or a pass until it says so. */
function gate<T = void>() {
  let open!: (value: T) => void;
  const promise = new Promise<T>((resolve) => (open = resolve));
  return { promise, open };
}

/**
 * A run of `tasks` independent tasks, one task per batch, at most `limit` (default 1) running at
 * once, as a concurrency limit would hold them. Batches end on their own (`auto`; with `failFirst`
 * batch 1 fails for good) or when the test calls finish(). What the workflow asked is kept in
 * `calls` for the assertions.
 */
class FakeRun {
  ready: number;
  done = 0;
  failed = 0;
  /** Running batches and the monitors waiting for each (an adopted batch has two). */
  readonly running = new Map<number, ((ok: boolean) => void)[]>();
  readonly calls: { name: string; arg?: unknown }[] = [];
  #nextBatch = 1;
  /** Set to hold the next scheduleReady until the test opens it. */
  holdPass: ReturnType<typeof gate<void>> | undefined;
  /** Set to hold the next scheduleReady that asks for no batches (a pass while paused). */
  holdPausedPass: ReturnType<typeof gate<void>> | undefined;
  /** True while a pass held by holdPausedPass waits. */
  pausedPassHeld = false;

  constructor(
    readonly tasks: number,
    readonly options: { auto?: boolean; failFirst?: boolean; limit?: number } = {},
  ) {
    this.ready = tasks;
  }

  count(name: string): number {
    return this.calls.filter((c) => c.name === name).length;
  }

  finish(batchId: number, ok = true): void {
    const waiters = this.running.get(batchId);
    if (!waiters) throw new Error(`batch ${batchId} is not running`);
    for (const end of waiters) end(ok);
  }

  #result(newBatchIds: number[]): ScheduleResult {
    return {
      newBatchIds,
      unsubmittedBatchIds: [],
      counts: {
        byStatus: { D: this.done, F: this.failed, G: this.ready, R: this.running.size },
        total: this.tasks,
        inFlight: this.running.size,
        readyWaiting: this.ready,
      },
    };
  }

  activities(): Partial<Activities> {
    const record = (name: string, arg?: unknown) => this.calls.push({ name, arg });
    return {
      markRunStarted: async () => void record('markRunStarted'),
      activeBatches: async () => {
        record('activeBatches');
        return [...this.running.keys()];
      },
      scheduleReady: async (input) => {
        record('scheduleReady', input.maxBatches);
        const hold = this.holdPass;
        this.holdPass = undefined;
        if (hold) await hold.promise;
        const holdPaused = input.maxBatches === 0 ? this.holdPausedPass : undefined;
        if (holdPaused) {
          this.holdPausedPass = undefined;
          this.pausedPassHeld = true;
          await holdPaused.promise;
          this.pausedPassHeld = false;
        }
        const n = Math.max(0, Math.min(this.ready, input.maxBatches, (this.options.limit ?? 1) - this.running.size));
        const ids = Array.from({ length: n }, () => this.#nextBatch++);
        this.ready -= n;
        for (const id of ids) this.running.set(id, []);
        record('scheduled', this.failed);
        return this.#result(ids);
      },
      runBatch: async ({ batchId }) => {
        record('runBatch', batchId);
        const ok = this.options.auto
          ? !(this.options.failFirst && batchId === 1)
          : await new Promise<boolean>((end) => this.running.get(batchId)?.push(end));
        // A batch ended by a kill (or adopted twice) ends once.
        if (this.running.delete(batchId)) {
          if (ok) this.done += 1;
          else this.failed += 1;
        }
        return { batchId, done: ok ? 1 : 0, failed: ok ? 0 : 1 };
      },
      killLiveInstances: async () => {
        record('killLiveInstances');
        const n = this.running.size;
        for (const waiters of this.running.values()) for (const end of waiters) end(false);
        return n;
      },
      killTaskInstances: async () => 0,
      setConcurrency: async (input) => {
        record('setConcurrency', input.limit);
        return { workflow: input.limit, templates: {} };
      },
      finishRun: async ({ requested }) => {
        record('finishRun', requested);
        if (requested === 'S') return 'S';
        return this.done === this.tasks ? 'D' : 'E';
      },
    };
  }
}

let env: TestWorkflowEnvironment;

beforeAll(async () => {
  env = await TestWorkflowEnvironment.createFromExistingServer({
    address: temporalAddress(),
    namespace: temporalNamespace(),
  });
});
afterAll(async () => {
  await env?.teardown();
});

/** Start the run workflow on a worker of its own serving `run`'s activities; `body` drives it. */
async function withRun<T>(
  run: FakeRun,
  input: Partial<WorkflowRunInput>,
  body: (handle: Awaited<ReturnType<TestWorkflowEnvironment['client']['workflow']['start']>>) => Promise<T>,
): Promise<T> {
  const taskQueue = `wf-test-${randomUUID()}`;
  const worker = await Worker.create({
    connection: env.nativeConnection,
    namespace: temporalNamespace(),
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities: run.activities(),
    // The real runBatch heartbeats itself; these mocks do not, so every one is heartbeated for it,
    // or a batch the test holds past the monitor's 20 s heartbeat timeout would be retried.
    interceptors: { activity: [autoHeartbeat(new Set())] },
  });
  return worker.runUntil(async () => {
    const handle = await env.client.workflow.start('jobmonWorkflowRun', {
      taskQueue,
      workflowId: `wf-test-${randomUUID()}`,
      args: [{ workflowId: 1, workflowRunId: 1, resumeMode: 'hot', ...input } satisfies WorkflowRunInput],
    });
    return body(handle);
  });
}

const until = (what: string, check: () => boolean | Promise<boolean>) =>
  waitFor(async () => check(), { timeoutMs: 20_000, intervalMs: 20, what });

describe('run workflow with mocked activities', () => {
  it('runs every task and finishes DONE', async () => {
    const run = new FakeRun(3, { auto: true });
    const result = await withRun(run, {}, (h) => h.result());
    expect(result).toMatchObject({ workflowRunId: 1, status: 'D' });
    expect(run.count('markRunStarted')).toBe(1);
    expect(run.count('killLiveInstances')).toBe(0); // hot: nothing of earlier runs is killed
  });

  it('pause holds back new batches while running ones go on; unpause resumes', async () => {
    const run = new FakeRun(2);
    const result = await withRun(run, {}, async (h) => {
      await until('the first batch to run', () => run.running.size === 1 && run.count('runBatch') === 1);
      await h.signal(pauseSignal);
      expect((await h.query(runStateQuery)).paused).toBe(true);
      run.finish(1);
      // The pass after the batch ended asked for nothing new.
      await until('a pass while paused', () => run.calls.some((c) => c.name === 'scheduleReady' && c.arg === 0));
      expect(run.count('runBatch')).toBe(1);
      await h.signal(unpauseSignal);
      await until('the second batch to run', () => run.count('runBatch') === 2);
      run.finish(2);
      return h.result();
    });
    expect(result.status).toBe('D');
  });

  it('an unpause that arrives during a pass of an idle paused run resumes it instead of ending it', async () => {
    const run = new FakeRun(2);
    const result = await withRun(run, {}, async (h) => {
      await until('the first batch to run', () => run.running.size === 1 && run.count('runBatch') === 1);
      await h.signal(pauseSignal);
      expect((await h.query(runStateQuery)).paused).toBe(true);
      const hold = gate();
      run.holdPausedPass = hold;
      run.finish(1);
      // A pass while paused, answered only after batch 1 ended: the run is idle when it returns.
      await until('a pass while paused to be held', () => run.pausedPassHeld && run.running.size === 0);
      await h.signal(unpauseSignal); // in the history before that pass's result
      hold.open();
      await until('the second batch to run', () => run.count('runBatch') === 2);
      run.finish(2);
      return h.result();
    });
    expect(result.status).toBe('D');
    expect(run.count('finishRun')).toBe(1);
  });

  it('stop --drain lets the running batch end and submits nothing more: STOPPED', async () => {
    const run = new FakeRun(3);
    const result = await withRun(run, {}, async (h) => {
      await until('the first batch to run', () => run.count('runBatch') === 1);
      await h.signal(stopSignal, 'drain');
      await until('a pass after the stop', () => run.calls.some((c) => c.name === 'scheduleReady' && c.arg === 0));
      run.finish(1);
      return h.result();
    });
    expect(result.status).toBe('S');
    expect(run.count('runBatch')).toBe(1);
    expect(run.count('killLiveInstances')).toBe(0);
    expect(run.calls.at(-1)).toEqual({ name: 'finishRun', arg: 'S' });
  });

  it('stop --kill kills the live jobs once and ends STOPPED', async () => {
    const run = new FakeRun(3);
    const result = await withRun(run, {}, async (h) => {
      await until('the first batch to run', () => run.count('runBatch') === 1);
      await h.signal(stopSignal, 'kill');
      // A later drain does not undo the kill.
      await h.signal(stopSignal, 'drain');
      return h.result();
    });
    expect(result.status).toBe('S');
    expect(run.count('killLiveInstances')).toBe(1);
    expect(run.failed).toBe(1);
  });

  it('fail-fast: after a task fails for good nothing new is submitted and the run ends in ERROR', async () => {
    const run = new FakeRun(4, { auto: true, failFirst: true });
    const result = await withRun(run, { failFast: true }, (h) => h.result());
    expect(result.status).toBe('E');
    expect(result.counts.F).toBe(1);
    // Once a pass has reported the failure, every later pass asks for no new batches.
    const seen = run.calls.findIndex((c) => c.name === 'scheduled' && c.arg === 1);
    const later = run.calls.slice(seen + 1).filter((c) => c.name === 'scheduleReady');
    expect(later.length).toBeGreaterThan(0);
    expect(later.every((c) => c.arg === 0)).toBe(true);
    expect(run.count('runBatch')).toBeLessThan(4);
  });

  it('an update racing a pass is applied, and the pass it raced is followed by another', async () => {
    const run = new FakeRun(2);
    const result = await withRun(run, {}, async (h) => {
      await until('the first batch to run', () => run.count('runBatch') === 1);
      // The next pass (after batch 1 ends) is held inside scheduleReady while the update arrives.
      const held = gate();
      run.holdPass = held;
      const passes = run.count('scheduleReady');
      run.finish(1);
      await until('the held pass', () => run.count('scheduleReady') === passes + 1);
      const update = h.executeUpdate(setConcurrencyUpdate, { args: [{ limit: 7 }] });
      await until('the update activity', () => run.count('setConcurrency') === 1);
      held.open();
      expect(await update).toEqual({ workflow: 7, templates: {} });
      await until('the second batch', () => run.count('runBatch') === 2);
      run.finish(2);
      return h.result();
    });
    expect(result.status).toBe('D');
    // The update woke the loop: a pass ran after setConcurrency (not only the one it raced).
    const names = run.calls.map((c) => c.name);
    expect(names.lastIndexOf('scheduleReady')).toBeGreaterThan(names.indexOf('setConcurrency'));
  });

  it('continues as new past the event threshold, carrying pause and adopting the batch in flight', async () => {
    const run = new FakeRun(1);
    const { result, firstRunId, handle } = await withRun(run, { historyEventsBeforeContinue: 40 }, async (h) => {
      await until('the batch to run', () => run.count('runBatch') === 1);
      await h.signal(pauseSignal);
      // Each wake-up is a pass (a few events each) until the history passes 40 events.
      for (let i = 0; i < 30 && (await h.query(runStateQuery)).continuations === 0; i++) {
        const passes = run.count('scheduleReady');
        await h.signal(tasksChangedSignal);
        await until('a pass', () => run.count('scheduleReady') > passes);
      }
      const state = await h.query(runStateQuery);
      expect(state).toMatchObject({ continuations: 1, paused: true, activeBatches: 1 });
      // The new execution found the running batch in "Postgres" and watches it again.
      await until('the batch adopted', () => run.count('runBatch') === 2);
      expect(run.count('activeBatches')).toBe(2);
      await h.signal(unpauseSignal);
      run.finish(1);
      return { result: await h.result(), firstRunId: h.firstExecutionRunId, handle: h };
    });
    expect(result.status).toBe('D');
    expect(run.count('markRunStarted')).toBe(1); // not again after continuing
    if (process.env.JMT_RECORD_HISTORIES === '1') {
      const dir = path.join(__dirname, '..', 'fixtures', 'histories');
      for (const runId of [firstRunId, undefined]) {
        const h = env.client.workflow.getHandle(handle.workflowId, runId);
        const { runId: id } = await h.describe();
        writeFileSync(path.join(dir, `continued-as-new-${id}.json`), historyToJSON(await h.fetchHistory()));
      }
    }
  });
});
