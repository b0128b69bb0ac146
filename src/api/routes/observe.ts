/**
 * Observer and debugger reads (issue 6, docs/observers.md): progress + ETA + risks, error groups,
 * DAG views, logs, resource history, workflow search, tools → templates; and share links.
 * Every answer comes from Postgres (src/sql/observe/*).
 */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { JobmonError } from '../../domain/errors';
import { failurePaths, taskDependencies, templateDag } from '../../sql/observe/dag';
import { TASK_DAG_LIMIT, taskDag } from '../../sql/observe/task-dag';
import { groupWorkflowErrors } from '../../sql/observe/errors';
import { listToolTemplates, listTools, searchWorkflows } from '../../sql/observe/find';
import { readInstanceLog, summarizeTemplateLogs } from '../../sql/observe/logs';
import { getWorkflowProgress } from '../../sql/observe/progress';
import { resourceRetries, templateUsage, usageCsv, usageYaml } from '../../sql/observe/resources';
import { createShare, getShare, listShares, revokeShare } from '../../sql/observe/shares';
import { assertMayActOn } from '../auth';
import type { AppEnv, RouteDeps } from '../deps';
import {
  CreatedShareSchema,
  DependenciesQuery,
  ErrorGroupsQuery,
  ErrorGroupsViewSchema,
  FailurePathsSchema,
  FoundWorkflowsSchema,
  InstanceLogSchema,
  LogQuery,
  PageQuery,
  ResourceRetriesSchema,
  SearchQuery,
  ShareIdParams,
  ShareLinkSchema,
  ShareLinksSchema,
  ShareRequestSchema,
  TaskDagSchema,
  TaskDepsSchema,
  TemplateDagSchema,
  TemplateLogSummarySchema,
  TemplateParams,
  TemplateUsageAnswerSchema,
  ToolParams,
  ToolsSchema,
  ToolTemplateParams,
  ToolTemplatesSchema,
  UsageQuerySchema,
  WhoamiSchema,
  WorkflowProgressSchema,
} from '../../contract/observe';
import {
  errorResponses,
  json,
  jsonBody,
  TaskIdParams,
  TaskInstanceIdParams,
  WorkflowIdParams,
} from '../../contract/schemas';

/** A read's 200 answer and the error shapes every route declares. */
const ok = (schema: z.ZodType, description: string) => ({ 200: json(schema, description), ...errorResponses });

const tags = ['observe'];
const r = {
  progress: createRoute({
    method: 'get',
    path: '/workflows/{id}/progress',
    tags,
    summary: 'Is it done yet: counts, time, CPU-hours, ETA, risks, a plain-language summary',
    request: { params: WorkflowIdParams },
    responses: ok(WorkflowProgressSchema, 'Progress'),
  }),
  errorGroups: createRoute({
    method: 'get',
    path: '/workflows/{id}/error-groups',
    tags,
    summary: 'Errors grouped by normalised pattern, with help for common causes',
    request: { params: WorkflowIdParams, query: ErrorGroupsQuery },
    responses: ok(ErrorGroupsViewSchema, 'Error groups'),
  }),
  templateDag: createRoute({
    method: 'get',
    path: '/workflows/{id}/template-dag',
    tags,
    summary: 'Template-level DAG with counts per status bucket',
    request: { params: WorkflowIdParams },
    responses: ok(TemplateDagSchema, 'Template DAG'),
  }),
  taskDag: createRoute({
    method: 'get',
    path: '/workflows/{id}/task-dag',
    tags,
    summary: `Task-level DAG of a small workflow (at most ${TASK_DAG_LIMIT} tasks; 413 task_dag_too_large above)`,
    request: { params: WorkflowIdParams },
    responses: {
      ...ok(TaskDagSchema, 'Tasks with status and level, edges, what lies on a path to a failed task'),
      413: {
        description: `The workflow has more than ${TASK_DAG_LIMIT} tasks (code task_dag_too_large): use template-dag`,
        content: errorResponses[413].content,
      },
    },
  }),
  logSummary: createRoute({
    method: 'get',
    path: '/workflows/{id}/templates/{template}/log-summary',
    tags,
    summary: 'Most frequent last log lines of a template’s instances; what differs between failed and successful ones',
    request: { params: TemplateParams },
    responses: ok(TemplateLogSummarySchema, 'Log summary'),
  }),
  retries: createRoute({
    method: 'get',
    path: '/workflows/{id}/resource-retries',
    tags,
    summary: 'Tasks that needed resource retries and what the retries cost',
    request: { params: WorkflowIdParams },
    responses: ok(ResourceRetriesSchema, 'Resource retries'),
  }),
  deps: createRoute({
    method: 'get',
    path: '/tasks/{id}/dependencies',
    tags,
    summary: 'Upstream and downstream tasks (to a depth)',
    request: { params: TaskIdParams, query: DependenciesQuery },
    responses: ok(TaskDepsSchema, 'Dependencies'),
  }),
  failurePaths: createRoute({
    method: 'get',
    path: '/tasks/{id}/failure-paths',
    tags,
    summary: 'Paths from a task up to failed upstream tasks that block it',
    request: { params: TaskIdParams },
    responses: ok(FailurePathsSchema, 'Failure paths'),
  }),
  logs: createRoute({
    method: 'get',
    path: '/task-instances/{id}/logs',
    tags,
    summary: 'stdout or stderr of a task instance (its recorded log file; tail or full)',
    request: {
      params: TaskInstanceIdParams,
      query: LogQuery,
    },
    responses: ok(InstanceLogSchema, 'Log'),
  }),
  search: createRoute({
    method: 'get',
    path: '/search/workflows',
    tags,
    summary: 'Find workflows by user, tool, name, workflow_args, attribute, template, status, dates',
    request: { query: SearchQuery },
    responses: ok(FoundWorkflowsSchema, 'Workflows and the total matching'),
  }),
  tools: createRoute({
    method: 'get',
    path: '/tools',
    tags,
    summary: 'Tools with their number of workflows and templates',
    responses: ok(ToolsSchema, 'Tools'),
  }),
  toolTemplates: createRoute({
    method: 'get',
    path: '/tools/{name}/templates',
    tags,
    summary: 'Templates of a tool',
    request: { params: ToolParams },
    responses: ok(ToolTemplatesSchema, 'Templates'),
  }),
  templateWorkflows: createRoute({
    method: 'get',
    path: '/tools/{name}/templates/{template}/workflows',
    tags,
    summary: 'Workflows using a template of a tool',
    request: {
      params: ToolTemplateParams,
      query: PageQuery,
    },
    responses: ok(FoundWorkflowsSchema, 'Workflows'),
  }),
  usage: createRoute({
    method: 'get',
    path: '/resources/usage',
    tags,
    summary: 'Resource usage history of a template, percentiles and a suggested request (json, csv or yaml)',
    request: {
      query: UsageQuerySchema,
    },
    responses: {
      200: {
        description: 'Usage (JSON), every DONE instance (CSV) or the suggested request (YAML)',
        content: {
          'application/json': { schema: TemplateUsageAnswerSchema },
          'text/csv': { schema: z.string() },
          'application/yaml': { schema: z.string() },
        },
      },
      ...errorResponses,
    },
  }),
  share: createRoute({
    method: 'post',
    path: '/workflows/{id}/share',
    tags,
    summary: 'Create a revocable read-only link to one workflow (operator owner or admin)',
    request: {
      params: WorkflowIdParams,
      body: jsonBody(ShareRequestSchema, false),
    },
    responses: { 201: json(CreatedShareSchema, 'Share link (the token is shown only now)'), ...errorResponses },
  }),
  shares: createRoute({
    method: 'get',
    path: '/workflows/{id}/shares',
    tags,
    summary: 'Share links of a workflow (operator owner or admin)',
    request: { params: WorkflowIdParams },
    responses: ok(ShareLinksSchema, 'Share links'),
  }),
  revoke: createRoute({
    method: 'delete',
    path: '/shares/{id}',
    tags,
    summary: 'Revoke a share link',
    request: { params: ShareIdParams },
    responses: ok(ShareLinkSchema, 'Revoked'),
  }),
  whoami: createRoute({
    method: 'get',
    path: '/whoami',
    tags,
    summary: 'Who the API thinks you are, and what you may do',
    responses: ok(WhoamiSchema, 'Identity'),
  }),
};

// Long: a flat list of one short handler per observer route, each beside its route definition's name.
export function observeRoutes({ db, config }: RouteDeps): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>();

  app.openapi(r.progress, async (c) => c.json(await getWorkflowProgress(db, config, c.req.valid('param').id), 200));
  app.openapi(r.errorGroups, async (c) =>
    c.json(await groupWorkflowErrors(db, c.req.valid('param').id, c.req.valid('query')), 200),
  );
  app.openapi(r.templateDag, async (c) => c.json(await templateDag(db, c.req.valid('param').id), 200));
  app.openapi(r.taskDag, async (c) => c.json(await taskDag(db, c.req.valid('param').id), 200));
  app.openapi(r.logSummary, async (c) => {
    const { id, template } = c.req.valid('param');
    return c.json(await summarizeTemplateLogs(db, id, template), 200);
  });
  app.openapi(r.retries, async (c) => c.json(await resourceRetries(db, c.req.valid('param').id), 200));
  app.openapi(r.deps, async (c) =>
    c.json(await taskDependencies(db, c.req.valid('param').id, c.req.valid('query').depth ?? 1), 200),
  );
  app.openapi(r.failurePaths, async (c) => c.json(await failurePaths(db, c.req.valid('param').id), 200));
  app.openapi(r.logs, async (c) => {
    const { stream, tail } = c.req.valid('query');
    return c.json(await readInstanceLog(db, c.req.valid('param').id, stream, tail), 200);
  });
  app.openapi(r.search, async (c) => c.json(await searchWorkflows(db, c.req.valid('query')), 200));
  app.openapi(r.tools, async (c) => c.json(await listTools(db), 200));
  app.openapi(r.toolTemplates, async (c) => c.json(await listToolTemplates(db, c.req.valid('param').name), 200));
  app.openapi(r.templateWorkflows, async (c) => {
    const { name, template } = c.req.valid('param');
    return c.json(await searchWorkflows(db, { tool: name, template, ...c.req.valid('query') }), 200);
  });
  app.openapi(r.usage, async (c) => {
    const q = c.req.valid('query');
    const usage = await templateUsage(db, {
      template: q.template,
      tool: q.tool,
      workflow_id: q.workflow_id,
      node_args: q.node_args
        ? q.node_args
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : [],
      confidence: q.confidence,
    });
    if (q.format === 'csv') {
      return c.body(usageCsv(usage), 200, {
        'content-type': 'text/csv; charset=utf-8',
        'content-disposition': `attachment; filename="${usage.template.replace(/[^\w.-]/g, '_')}-usage.csv"`,
      });
    }
    if (q.format === 'yaml')
      return c.body(usageYaml(usage), 200, { 'content-type': 'application/yaml; charset=utf-8' });
    return c.json(q.rows === '1' ? usage : { ...usage, rows: undefined }, 200);
  });

  app.openapi(r.share, async (c) => {
    const { id } = c.req.valid('param');
    const identity = c.get('identity');
    await assertMayActOn(db, identity, id);
    const body = c.req.valid('json') ?? {};
    const share = await createShare(db, id, identity.user, body.expires_in_hours);
    // From configuration only: the Host header is the caller's to set, and a link built from it
    // could send the recipient (and the token) to another site.
    return c.json({ ...share, url: `${config.publicUrl}/ui/?share=${share.token}#/workflows/${id}` }, 201);
  });
  app.openapi(r.shares, async (c) => {
    const { id } = c.req.valid('param');
    await assertMayActOn(db, c.get('identity'), id);
    return c.json({ shares: await listShares(db, id) }, 200);
  });
  app.openapi(r.revoke, async (c) => {
    const { id } = c.req.valid('param');
    const share = await getShare(db, id);
    await assertMayActOn(db, c.get('identity'), share.workflow_id);
    return c.json(await revokeShare(db, id, c.get('identity').user), 200);
  });
  app.openapi(r.whoami, async (c) => {
    const identity = c.get('identity');
    if (!identity) throw new JobmonError('unauthorized', 'no identity', undefined, 'unauthorized');
    return c.json(
      {
        user: identity.user,
        role: identity.role,
        share_workflow_id: identity.share?.workflow_id ?? null,
        may_operate: identity.share ? false : identity.role !== 'observer',
        temporal_ui_url: config.temporalUiUrl,
      },
      200,
    );
  });

  return app;
}
