/**
 * Heartbeats for the run's short activities (scheduleReady, finishRun, kills...), which do not
 * heartbeat themselves: while one runs, its worker heartbeats it every few seconds, so the
 * workflow's heartbeat timeout on them finds a worker that died mid-activity in seconds, instead of
 * after the activity's start-to-close bound (minutes, during which the whole run stands still).
 * Activities that heartbeat on their own (the batch monitors, with their progress as details) are
 * left alone: an empty heartbeat would overwrite their details.
 */
import type { ActivityInboundCallsInterceptor, ActivityInterceptorsFactory } from '@temporalio/worker';

/** Well under the workflow's heartbeat timeout for short activities (workflow-run.ts). */
export const AUTO_HEARTBEAT_INTERVAL_MS = 5_000;

export function autoHeartbeat(selfHeartbeating: ReadonlySet<string>): ActivityInterceptorsFactory {
  return (ctx) => {
    if (selfHeartbeating.has(ctx.info.activityType)) return {};
    const inbound: ActivityInboundCallsInterceptor = {
      async execute(input, next) {
        const timer = setInterval(() => ctx.heartbeat(), AUTO_HEARTBEAT_INTERVAL_MS);
        try {
          return await next(input);
        } finally {
          clearInterval(timer);
        }
      },
    };
    return { inbound };
  };
}
