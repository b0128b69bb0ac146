/**
 * Wakes a run's Temporal workflow when a task instance reaches a final state, so downstream tasks
 * are scheduled at once instead of at the workflow's next poll.
 *
 * Signals are coalesced per Jobmon workflow: the first report sends immediately (leading edge),
 * reports within the next 250 ms collapse into one signal at the end of the window (trailing edge).
 * A wide fan-in of 5,000 tasks finishing together thus costs a handful of signals, not 5,000
 * history events. Failures are swallowed: the workflow also polls, so a lost signal only costs
 * latency, and "no such workflow / already closed" is normal for late reports.
 */
import type { Client } from '@temporalio/client';
import { temporalWorkflowId } from '../temporal/ids';
import { tasksChangedSignal } from '../workflows/messages';

/** At most one signal per workflow per this window. */
export const NOTIFY_WINDOW_MS = 250;

export interface RunNotifier {
  /** Ask for a `tasksChanged` signal to the run of Jobmon workflow `workflowId`; never throws. */
  notifyRunChanged(workflowId: number): void;
  /** Drop pending trailing signals and stop the timers (server shutdown, end of a test). */
  close(): void;
}

export interface RunNotifierOptions {
  windowMs?: number;
  /** Temporal workflow id prefix of this installation (config.workflowIdPrefix); default `jobmon`. */
  workflowIdPrefix?: string;
  /** Debug log; defaults to stderr when JMT_LOG_LEVEL=debug. */
  debug?: (message: string) => void;
}

interface Window {
  timer: NodeJS.Timeout;
  /** A notification arrived during the window: send once more when it ends. */
  pending: boolean;
}

const defaultDebug = (message: string): void => {
  if (process.env.JMT_LOG_LEVEL === 'debug') process.stderr.write(`[run-notifier] ${message}\n`);
};

export function createRunNotifier(getClient: () => Promise<Client>, options: RunNotifierOptions = {}): RunNotifier {
  const windowMs = options.windowMs ?? NOTIFY_WINDOW_MS;
  const debug = options.debug ?? defaultDebug;
  const windows = new Map<number, Window>();
  let closed = false;

  const send = (workflowId: number): void => {
    void (async () => {
      const id = temporalWorkflowId({ workflowIdPrefix: options.workflowIdPrefix ?? 'jobmon' }, workflowId);
      const client = await getClient();
      await client.workflow.getHandle(id).signal(tasksChangedSignal);
    })().catch((err: unknown) => {
      debug(
        `signal ${tasksChangedSignal.name} for workflow ${workflowId} not delivered: ${err instanceof Error ? err.message : String(err)}`,
      );
    });
  };

  const openWindow = (workflowId: number): void => {
    const window: Window = {
      pending: false,
      timer: setTimeout(() => {
        windows.delete(workflowId);
        if (window.pending && !closed) {
          send(workflowId);
          // The trailing signal starts a new window, so the rate stays at one per window.
          openWindow(workflowId);
        }
      }, windowMs),
    };
    // A pending trailing signal must not keep a finished process alive.
    window.timer.unref();
    windows.set(workflowId, window);
  };

  return {
    notifyRunChanged(workflowId: number): void {
      if (closed) return;
      const window = windows.get(workflowId);
      if (window) {
        window.pending = true;
        return;
      }
      send(workflowId);
      openWindow(workflowId);
    },
    close(): void {
      closed = true;
      for (const window of windows.values()) clearTimeout(window.timer);
      windows.clear();
    },
  };
}
