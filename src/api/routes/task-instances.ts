/**
 * Worker-node wrapper callbacks (compute node → server). Each report is one FSM-guarded
 * transaction in src/sql/task-instance-reports.ts, so late or duplicated reports are answered with
 * the current status and change nothing. A report that ends an instance wakes the run's Temporal
 * workflow, so downstream tasks start now rather than at the next poll.
 */
import { createRoute, OpenAPIHono } from '@hono/zod-openapi';
import { conflict, invalid, JobmonError } from '../../domain/errors';
import { FINAL_TASK_INSTANCE_STATUSES, isOneOf } from '../../domain/statuses';
import { HeartbeatWriter } from '../../sql/heartbeat-batch';
import { logDone, logError, logRunning, type EndReport, type EndResult } from '../../sql/task-instance-reports';
import type { AppEnv, RouteDeps } from '../deps';
import { storableText } from '../input-guards';
import {
  DoneBodySchema,
  ErrorBodySchema,
  errorResponses,
  HeartbeatBodySchema,
  InstanceStatusSchema,
  json,
  jsonBody,
  RunningBodySchema,
  RunningResponseSchema,
  TaskInstanceIdParams,
} from '../../contract/schemas';

const tags = ['task-instances'];

const runningRoute = createRoute({
  method: 'post',
  path: '/task-instances/{id}/running',
  tags,
  summary: 'The wrapper is about to run the command; returns what to run',
  request: { params: TaskInstanceIdParams, body: jsonBody(RunningBodySchema) },
  responses: { 200: json(RunningResponseSchema, 'Run this command'), ...errorResponses },
});
const heartbeatRoute = createRoute({
  method: 'post',
  path: '/task-instances/{id}/heartbeat',
  tags,
  summary: 'Still alive; status K means kill the command and report error_state F',
  request: { params: TaskInstanceIdParams, body: jsonBody(HeartbeatBodySchema, false) },
  responses: { 200: json(InstanceStatusSchema, 'Current status'), ...errorResponses },
});
const doneRoute = createRoute({
  method: 'post',
  path: '/task-instances/{id}/done',
  tags,
  summary: 'The command exited 0',
  request: { params: TaskInstanceIdParams, body: jsonBody(DoneBodySchema) },
  responses: { 200: json(InstanceStatusSchema, 'Status after the report'), ...errorResponses },
});
const errorRoute = createRoute({
  method: 'post',
  path: '/task-instances/{id}/error',
  tags,
  summary: 'The command failed (E), ran out of resources (Z), died unexplained (U) or was killed (F)',
  request: { params: TaskInstanceIdParams, body: jsonBody(ErrorBodySchema) },
  responses: { 200: json(InstanceStatusSchema, 'Status after the report'), ...errorResponses },
});

const unknownInstance = (id: number) =>
  new JobmonError('not_found', `task instance ${id} not found`, 'id', 'not_found');

type EndBody = {
  exit_code?: number | null;
  wallclock_s?: number | null;
  maxrss_bytes?: number | null;
  cpu_s?: number | null;
  stdout_tail?: string | null;
  stderr_tail?: string | null;
  nodename?: string | null;
};
function endReport(body: EndBody): EndReport {
  return {
    exitCode: body.exit_code ?? null,
    wallclockS: body.wallclock_s ?? undefined,
    maxrssBytes: body.maxrss_bytes ?? undefined,
    cpuS: body.cpu_s ?? undefined,
    stdoutTail: storable(body.stdout_tail) ?? undefined,
    stderrTail: storable(body.stderr_tail) ?? undefined,
    nodename: storable(body.nodename) ?? undefined,
  };
}

/**
 * Job output is whatever the command printed, NUL included, cut at a character count (which can
 * split a surrogate pair), and Postgres text cannot hold either: they become U+FFFD (the
 * replacement character) so the report is stored, not refused.
 */
const storable = storableText;

export function taskInstanceRoutes({ callbackDb: db, config, notifier }: RouteDeps): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>();
  // report_by = now + heartbeat × buffer: ~3 missed heartbeats before the instance counts as lost.
  const reportBySeconds = config.taskInstanceHeartbeatS * config.reportByBuffer;
  const heartbeats = new HeartbeatWriter(db, reportBySeconds);

  /**
   * A final status means the task may have moved (DONE, retry, fatal): let the run react now, but
   * only when its scheduler has something to do (a task became ready, or nothing is in flight any
   * more: the run may be finished). Waking it for every end of a wide, fully queued DAG would only
   * add history events. The report's own transaction said which (one trip per report).
   */
  function afterEnd(result: EndResult): void {
    if (result.applied && result.runHasWork && isOneOf(result.status, FINAL_TASK_INSTANCE_STATUSES))
      notifier.notifyRunChanged(result.workflowId);
  }

  app.openapi(runningRoute, async (c) => {
    const { id } = c.req.valid('param');
    const body = c.req.valid('json');
    const result = await logRunning(
      db,
      id,
      { distributorId: storable(body.distributor_id), nodename: storable(body.nodename), processId: body.process_id },
      { reportBySeconds, logDir: config.logDir },
    );
    if (!result) throw unknownInstance(id);
    if (!result.ok) throw conflict(`task instance ${id} is ${result.status}: ${result.reason}`, 'not_runnable');
    const i = result.instance;
    return c.json(
      {
        task_instance_id: i.taskInstanceId,
        task_id: i.taskId,
        workflow_id: i.workflowId,
        workflow_run_id: i.workflowRunId,
        name: i.name,
        command: i.command,
        stdout_path: i.stdoutPath,
        stderr_path: i.stderrPath,
        working_dir: i.workingDir,
        heartbeat_interval_s: config.taskInstanceHeartbeatS,
        report_by_s: reportBySeconds,
      },
      200,
    );
  });

  app.openapi(heartbeatRoute, async (c) => {
    const { id } = c.req.valid('param');
    const job = c.get('identity').job;
    const distributorId = c.req.valid('json')?.distributor_id;
    // A job names itself, as on `running`; only an admin's manual heartbeat may leave it out.
    if (job && distributorId === undefined)
      throw invalid('distributor_id', 'distributor_id: a job must name its distributor id', 'required');
    const status = await heartbeats.beat(id, distributorId === undefined ? undefined : storable(distributorId));
    if (status === undefined) throw unknownInstance(id);
    return c.json({ status }, 200);
  });

  app.openapi(doneRoute, async (c) => {
    const { id } = c.req.valid('param');
    const result = await logDone(db, id, endReport(c.req.valid('json')));
    if (result === undefined) throw unknownInstance(id);
    afterEnd(result);
    return c.json({ status: result.status }, 200);
  });

  app.openapi(errorRoute, async (c) => {
    const { id } = c.req.valid('param');
    const body = c.req.valid('json');
    const result = await logError(db, id, body.error_state, storable(body.message), endReport(body));
    if (result === undefined) throw unknownInstance(id);
    afterEnd(result);
    return c.json({ status: result.status }, 200);
  });

  return app;
}
