/**
 * Coalescing of `tasksChanged` signals (src/control/run-notifier.ts) with a fake Temporal client and
 * fake timers: deterministic, no server. Ids follow src/temporal/ids.ts's scheme with the
 * installation prefix the notifier is given (`wf` here).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Client } from '@temporalio/client';

import { createRunNotifier, NOTIFY_WINDOW_MS } from '../src/control/run-notifier';
import { tasksChangedSignal } from '../src/workflows/messages';

function fakeClient(fail?: (id: string) => Error | undefined) {
  const signals: { id: string; name: string; at: number }[] = [];
  const client = {
    workflow: {
      getHandle: (id: string) => ({
        // The notifier sends the typed definition; record its name to compare with the workflow's.
        signal: async (def: { name: string }) => {
          const err = fail?.(id);
          if (err) throw err;
          signals.push({ id, name: def.name, at: Date.now() });
        },
      }),
    },
  } as unknown as Client;
  return { client, signals };
}

/** Let the notifier's async send (getClient, then signal) settle. */
const settle = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

describe('run notifier', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('sends at once (leading edge), then at most one trailing signal per window', async () => {
    const { client, signals } = fakeClient();
    const notifier = createRunNotifier(async () => client, { workflowIdPrefix: 'wf' });
    notifier.notifyRunChanged(7);
    await settle();
    expect(signals).toEqual([{ id: 'wf-workflow-7', name: tasksChangedSignal.name, at: 0 }]);

    // A burst inside the window collapses into one signal at its end.
    for (let i = 0; i < 100; i++) notifier.notifyRunChanged(7);
    await vi.advanceTimersByTimeAsync(NOTIFY_WINDOW_MS - 1);
    expect(signals).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(signals.map((s) => s.at)).toEqual([0, NOTIFY_WINDOW_MS]);

    // The trailing signal opened a new window: a report right after waits for its end.
    notifier.notifyRunChanged(7);
    await vi.advanceTimersByTimeAsync(NOTIFY_WINDOW_MS);
    expect(signals.map((s) => s.at)).toEqual([0, NOTIFY_WINDOW_MS, 2 * NOTIFY_WINDOW_MS]);

    // Quiet for a full window: the next report is a leading edge again.
    await vi.advanceTimersByTimeAsync(3 * NOTIFY_WINDOW_MS);
    expect(signals).toHaveLength(3);
    notifier.notifyRunChanged(7);
    await settle();
    expect(signals).toHaveLength(4);
    notifier.close();
  });

  it('windows are per workflow', async () => {
    const { client, signals } = fakeClient();
    const notifier = createRunNotifier(async () => client, { workflowIdPrefix: 'wf' });
    notifier.notifyRunChanged(1);
    notifier.notifyRunChanged(2);
    notifier.notifyRunChanged(1);
    await settle();
    expect(signals.map((s) => s.id)).toEqual(['wf-workflow-1', 'wf-workflow-2']);
    await vi.advanceTimersByTimeAsync(NOTIFY_WINDOW_MS);
    expect(signals.map((s) => s.id)).toEqual(['wf-workflow-1', 'wf-workflow-2', 'wf-workflow-1']);
    notifier.close();
  });

  it('swallows delivery failures (workflow not running, Temporal down) and logs them at debug', async () => {
    const debug = vi.fn();
    const { client } = fakeClient(() => new Error('workflow execution already completed'));
    const notifier = createRunNotifier(async () => client, { debug, workflowIdPrefix: 'wf' });
    notifier.notifyRunChanged(3);
    await settle();
    expect(debug).toHaveBeenCalledWith(expect.stringContaining('already completed'));

    const down = createRunNotifier(() => Promise.reject(new Error('ECONNREFUSED')), { debug, workflowIdPrefix: 'wf' });
    down.notifyRunChanged(4);
    await settle();
    expect(debug).toHaveBeenCalledWith(expect.stringContaining('ECONNREFUSED'));
    notifier.close();
    down.close();
  });

  it('close drops pending trailing signals', async () => {
    const { client, signals } = fakeClient();
    const notifier = createRunNotifier(async () => client, { workflowIdPrefix: 'wf' });
    notifier.notifyRunChanged(5);
    notifier.notifyRunChanged(5);
    notifier.close();
    await vi.advanceTimersByTimeAsync(2 * NOTIFY_WINDOW_MS);
    expect(signals).toHaveLength(1);
    notifier.notifyRunChanged(5);
    await settle();
    expect(signals).toHaveLength(1);
  });
});
