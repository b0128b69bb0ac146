/**
 * Worker-node wrapper callbacks (compute node → server). Each report is one FSM-guarded
 * statement in src/sql/task-instance-reports.ts, so late or duplicated reports are answered with
 * the current status and change nothing. A report that ends an instance wakes the run's Temporal
 * workflow, so downstream tasks start now rather than at the next poll. The local executor sends
 * the reports of many tasks in one request (/task-instances/reports), applied together and each
 * answered as its single route would have answered it.
 */
import { createRoute, OpenAPIHono } from '@hono/zod-openapi';
import { conflict, invalid, JobmonError } from '../../domain/errors';
import type { Config } from '../../config';
import { FINAL_TASK_INSTANCE_STATUSES, isOneOf } from '../../domain/statuses';
import { HeartbeatWriter } from '../../sql/heartbeat-batch';
import {
  applyReports,
  type EndReport,
  type EndResult,
  type InstanceReport,
  type ReportAnswer,
  type RunningInstance,
} from '../../sql/task-instance-reports';
import type { AppEnv, RouteDeps } from '../deps';
import { storableText, validationError } from '../input-guards';
import {
  DoneBodySchema,
  ErrorBodySchema,
  errorResponses,
  HeartbeatBodySchema,
  InstanceStatusSchema,
  json,
  jsonBody,
  ReportBatchBodySchema,
  ReportBatchResponseSchema,
  RunningBodySchema,
  RunningResponseSchema,
  TaskInstanceIdParams,
} from '../../contract/schemas';
import type { z } from '@hono/zod-openapi';

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

const batchRoute = createRoute({
  method: 'post',
  path: '/task-instances/reports',
  tags,
  summary: 'Many running/done/error reports at once (the local executor); each answered as its single route would',
  request: { body: jsonBody(ReportBatchBodySchema) },
  responses: { 200: json(ReportBatchResponseSchema, 'One result per report, in order'), ...errorResponses },
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

const forbiddenInstance = (id: number, batchId: number | null) =>
  new JobmonError(
    'forbidden',
    `this job token is for batch ${batchId}, not the batch of task instance ${id}`,
    'authorization',
    'forbidden',
  );

type RunningBody = z.infer<typeof RunningBodySchema>;
type ErrorBody = z.infer<typeof ErrorBodySchema>;

/** A validated body of one of the three reports, as the SQL layer takes it. */
function instanceReport(id: number, kind: 'running' | 'done' | 'error', body: unknown): InstanceReport {
  if (kind === 'running') {
    const b = body as RunningBody;
    return {
      kind: 'running',
      taskInstanceId: id,
      report: { distributorId: storable(b.distributor_id), nodename: storable(b.nodename), processId: b.process_id },
    };
  }
  if (kind === 'done') return { kind: 'end', taskInstanceId: id, state: 'D', report: endReport(body as EndBody) };
  const b = body as ErrorBody;
  return { kind: 'end', taskInstanceId: id, state: b.error_state, message: storable(b.message), report: endReport(b) };
}

function runningAnswer(i: RunningInstance, config: Config, reportBySeconds: number) {
  return {
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
  };
}

export function taskInstanceRoutes({ callbackDb: db, config, notifier }: RouteDeps): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>();
  // report_by = now + heartbeat × buffer: ~3 missed heartbeats before the instance counts as lost.
  const reportBySeconds = config.taskInstanceHeartbeatS * config.reportByBuffer;
  const settings = { reportBySeconds, logDir: config.logDir };
  const heartbeats = new HeartbeatWriter(db, reportBySeconds);

  /**
   * A final status means the task may have moved (DONE, retry, fatal): let the run react now, but
   * only when its scheduler has something to do (a task became ready, or nothing is in flight any
   * more: the run may be finished). Waking it for every end of a wide, fully queued DAG would only
   * add history events. The report's own statement said which (one trip per report).
   */
  function afterEnd(result: EndResult): void {
    if (result.applied && result.runHasWork && isOneOf(result.status, FINAL_TASK_INSTANCE_STATUSES))
      notifier.notifyRunChanged(result.workflowId);
  }

  /** The single route's 200 answer for a report, or the JobmonError it answers with. */
  function answerOf(id: number, answer: ReportAnswer, batchId: number | null) {
    const { result } = answer;
    if (result === 'missing') throw unknownInstance(id);
    if (result === 'forbidden') throw forbiddenInstance(id, batchId);
    if (answer.kind === 'end') {
      afterEnd(answer.result as EndResult);
      return { status: (answer.result as EndResult).status };
    }
    const running = answer.result as Exclude<typeof answer.result, string>;
    if (!running.ok) throw conflict(`task instance ${id} is ${running.status}: ${running.reason}`, 'not_runnable');
    return runningAnswer(running.instance, config, reportBySeconds);
  }

  async function single(id: number, kind: 'running' | 'done' | 'error', body: unknown) {
    const [answer] = await applyReports(db, [instanceReport(id, kind, body)], settings);
    return answerOf(id, answer, null);
  }

  app.openapi(runningRoute, async (c) => {
    const { id } = c.req.valid('param');
    return c.json((await single(id, 'running', c.req.valid('json'))) as ReturnType<typeof runningAnswer>, 200);
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
    return c.json((await single(id, 'done', c.req.valid('json'))) as { status: EndResult['status'] }, 200);
  });

  app.openapi(errorRoute, async (c) => {
    const { id } = c.req.valid('param');
    return c.json((await single(id, 'error', c.req.valid('json'))) as { status: EndResult['status'] }, 200);
  });

  /**
   * Each item is checked by its kind's body schema on its own (an invalid one is answered 422,
   * naming `reports.<i>.<field>`), the valid ones applied together (one statement per kind), and
   * every item answered with what its single route answers. A job token's items must be of its
   * batch (403 for the others); the middleware cannot check that for a batch.
   */
  app.openapi(batchRoute, async (c) => {
    const { reports } = c.req.valid('json');
    const batchId = c.get('identity').job?.batchId ?? null;
    const results: { status: number; body: unknown }[] = new Array(reports.length);
    const valid: { k: number; report: InstanceReport }[] = [];
    const schemas = { running: RunningBodySchema, done: DoneBodySchema, error: ErrorBodySchema };
    reports.forEach((item, k) => {
      const parsed = schemas[item.kind].safeParse(item);
      if (parsed.success) valid.push({ k, report: instanceReport(item.task_instance_id, item.kind, parsed.data) });
      else {
        const err = validationError(parsed.error.issues.map((i) => ({ ...i, path: ['reports', k, ...i.path] })));
        results[k] = { status: err.httpStatus, body: err.toJSON() };
      }
    });
    const answers = valid.length
      ? await applyReports(
          db,
          valid.map((v) => v.report),
          settings,
          batchId,
        )
      : [];
    answers.forEach((answer, j) => {
      const { k, report } = valid[j];
      try {
        results[k] = { status: 200, body: answerOf(report.taskInstanceId, answer, batchId) };
      } catch (err) {
        if (!(err instanceof JobmonError)) throw err;
        results[k] = { status: err.httpStatus, body: err.toJSON() };
      }
    });
    return c.json({ results } as z.infer<typeof ReportBatchResponseSchema>, 200);
  });

  return app;
}
