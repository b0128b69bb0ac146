/** Workflow reads (CLI and GUI → server), all answered from Postgres by src/sql/reads/*. */
import { createRoute, OpenAPIHono, type z } from '@hono/zod-openapi';
import { listWorkflows } from '../../sql/reads/workflow-list';
import { getWorkflowStatusWithEvents } from '../../sql/reads/workflow-status';
import { listWorkflowErrors } from '../../sql/reads/workflow-errors';
import { workflowTasksPageJson } from '../../sql/reads/workflow-tasks';
import { mayActOn } from '../auth';
import type { AppEnv, RouteDeps } from '../deps';
import { jsonText } from '../json-text';
import {
  errorResponses,
  ErrorsQuery,
  json,
  WorkflowErrorsSchema,
  WorkflowIdParams,
  WorkflowListQuery,
  WorkflowListSchema,
  WorkflowStatusSchema,
  WorkflowTasksQuery,
  WorkflowTasksSchema,
} from '../../contract/schemas';

const tags = ['workflows'];
/** Operator events shown with a workflow's status. */

const listRoute = createRoute({
  method: 'get',
  path: '/workflows',
  tags,
  summary: 'Recent workflows, newest first',
  request: { query: WorkflowListQuery },
  responses: { 200: json(WorkflowListSchema, 'Workflows'), ...errorResponses },
});

const statusRoute = createRoute({
  method: 'get',
  path: '/workflows/{id}/status',
  tags,
  summary: 'Counts per task status and bucket, per template, and the latest run',
  request: { params: WorkflowIdParams },
  responses: { 200: json(WorkflowStatusSchema, 'Workflow status'), ...errorResponses },
});

const tasksRoute = createRoute({
  method: 'get',
  path: '/workflows/{id}/tasks',
  tags,
  summary: 'Tasks of a workflow, filtered and paged',
  request: { params: WorkflowIdParams, query: WorkflowTasksQuery },
  responses: { 200: json(WorkflowTasksSchema, 'Tasks and the total matching the filters'), ...errorResponses },
});

const errorsRoute = createRoute({
  method: 'get',
  path: '/workflows/{id}/errors',
  tags,
  summary: 'Most recent task instance errors of a workflow',
  request: { params: WorkflowIdParams, query: ErrorsQuery },
  responses: { 200: json(WorkflowErrorsSchema, 'Errors, newest first'), ...errorResponses },
});

export function workflowRoutes({ db, config }: RouteDeps): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>();

  app.openapi(listRoute, async (c) => c.json({ workflows: await listWorkflows(db, c.req.valid('query')) }, 200));

  app.openapi(statusRoute, async (c) => {
    const id = c.req.valid('param').id;
    const status = await getWorkflowStatusWithEvents(db, config, id);
    // may_operate is the server's own owner/grant/role check, so the GUI shows its buttons exactly
    // to those whose controls would be accepted (a grantee included) without knowing the rules.
    return c.json({ ...status, may_operate: await mayActOn(db, c.get('identity'), id, status.user) }, 200);
  });

  app.openapi(tasksRoute, async (c) =>
    jsonText<z.infer<typeof WorkflowTasksSchema>>(
      c,
      await workflowTasksPageJson(db, config, c.req.valid('param').id, c.req.valid('query')),
    ),
  );

  app.openapi(errorsRoute, async (c) => {
    return c.json(await listWorkflowErrors(db, c.req.valid('param').id, c.req.valid('query')), 200);
  });

  return app;
}
