/**
 * Requests and responses of the observer and debugger reads (docs/observers.md): progress, error
 * groups, DAG views, logs, resource history, search, tools, share links, whoami. The SQL reads in
 * src/sql/observe build these shapes and take their types from here, so the published document,
 * the server and the clients cannot drift apart.
 */
import { z } from '@hono/zod-openapi';
import { INT4_MAX, pathId, queryInt } from './input-schemas';
import { BucketsSchema, StatusCountsSchema, WorkflowIdParams, WorkflowStatusSchema } from './schemas';
import { TaskStatusSchema, WorkflowStatusLetterSchema } from './letters';

const date = z.string().openapi({ format: 'date-time' });
const int = () => z.number().int();
const intQuery = queryInt;
const text = (max = 255) => z.string().max(max).optional();
const pathName = (name: string) =>
  z
    .string()
    .min(1)
    .max(255)
    .openapi({ param: { name, in: 'path' } });
const stream = z.enum(['stdout', 'stderr']);

// ---------------------------------------------------------------- requests

export const TemplateParams = WorkflowIdParams.extend({ template: pathName('template') });
export const ToolParams = z.object({ name: pathName('name') });
export const ToolTemplateParams = ToolParams.extend({ template: pathName('template') });
export const ShareIdParams = z.object({ id: pathId('id', INT4_MAX) });
export const SearchQuery = z.object({
  user: text().openapi({ description: 'users, comma-separated; `!name` excludes' }),
  tool: text(),
  name: text().openapi({ description: 'substring of the workflow name' }),
  workflow_args: text(2000).openapi({ description: 'substring of workflow_args' }),
  attribute: text(2000).openapi({ description: '`key=value` of a workflow attribute' }),
  status: text(50),
  template: text(),
  from: text(40).openapi({ description: 'created on or after (YYYY-MM-DD or ISO)' }),
  to: text(40).openapi({ description: 'created before (a bare date includes that day)' }),
  id: intQuery(1, INT4_MAX),
  limit: intQuery(1, 500),
  offset: intQuery(0, 10_000_000),
});
export const ErrorGroupsQuery = z.object({ template: text(), limit: intQuery(1, 500) });
export const DependenciesQuery = z.object({ depth: intQuery(1, 50) });
export const LogQuery = z.object({
  // stderr by default, as in the CLI and the GUI: where a failed task's reasons are.
  stream: stream.default('stderr'),
  tail: intQuery(1, 100_000),
});
export const PageQuery = z.object({ limit: intQuery(1, 500), offset: intQuery(0, 10_000_000) });
export const UsageQuerySchema = z.object({
  template: z.string().min(1).max(255),
  tool: text(),
  workflow_id: intQuery(1, INT4_MAX),
  node_args: text(2000).openapi({ description: '`k=v` pairs, comma-separated' }),
  confidence: z.coerce.number().gt(0).lt(1).optional(),
  format: z.enum(['json', 'csv', 'yaml']).default('json'),
  rows: z.enum(['0', '1']).optional().openapi({ description: '1 = include every instance row in JSON' }),
});
export const ShareRequestSchema = z
  .object({
    expires_in_hours: z
      .number()
      .positive()
      .max(24 * 90)
      .optional(),
  })
  .strict();

// ---------------------------------------------------------------- progress

export const RiskSchema = z.object({
  kind: z.enum([
    'fatal_tasks',
    'near_max_attempts',
    'repeated_resource_errors',
    'template_failing_often',
    'no_progress',
    'pending_long',
    'cluster_pending',
  ]),
  severity: z.enum(['high', 'medium']),
  message: z.string(),
  count: int(),
  template: z.string().optional(),
  example_task_ids: z.array(int()),
  action: z.string().openapi({ description: 'What to do about it' }),
});
export const TemplateProgressSchema = z.object({
  name: z.string(),
  max_concurrently_running: int(),
  total: int(),
  done: int(),
  remaining: int(),
  running: int(),
  fatal: int(),
  percent_done: z.number(),
  expected_runtime_s: z.number().nullable().openapi({ description: 'Expected seconds per task' }),
  basis: z
    .enum(['node_args', 'template_history', 'requested_runtime', 'none'])
    .openapi({ description: 'Where expected_runtime_s came from' }),
  history_instances: int(),
  history_median_s: z.number().nullable(),
  history_p90_s: z.number().nullable(),
  remaining_work_s: z.number(),
});
export const EtaConfidenceSchema = z.enum(['history', 'partial_history', 'requested_runtime', 'none', 'finished']);
export const WorkflowProgressSchema = z
  .object({
    workflow_id: int(),
    name: z.string(),
    status: WorkflowStatusSchema.shape.status,
    status_label: z.string(),
    num_tasks: int(),
    buckets: BucketsSchema,
    counts: StatusCountsSchema,
    percent_done: z.number(),
    run: WorkflowStatusSchema.shape.run,
    run_active: z.boolean(),
    first_run_date: date.nullable(),
    last_task_done_date: date.nullable(),
    wall_time_s: z.number(),
    cpu_hours: z.number(),
    instances: int(),
    running: int(),
    waiting_in_queue: int(),
    queue_wait_s: z.object({
      current_median: z.number().nullable(),
      current_max: z.number().nullable(),
      recent_median: z.number().nullable(),
    }),
    concurrency: z.object({ workflow_limit: int(), observed: z.number(), effective: z.number() }),
    eta: z.object({
      seconds: z.number().nullable(),
      finish_date: date.nullable(),
      remaining_tasks: int(),
      remaining_work_s: z.number(),
      confidence: EtaConfidenceSchema,
      text: z.string(),
    }),
    templates: z.array(TemplateProgressSchema),
    risks: z.array(RiskSchema),
    summary: z.string().openapi({ description: 'The answer in one line of plain language' }),
    generated_date: date,
  })
  .openapi('WorkflowProgress');

// ---------------------------------------------------------------- errors

export const ErrorHelpSchema = z.object({
  category: z.enum([
    'out_of_memory',
    'time_limit',
    'missing_file',
    'missing_module',
    'permission_denied',
    'node_failure',
    'killed_by_operator',
  ]),
  title: z.string(),
  explanation: z.string(),
  action: z.string(),
});
export const ErrorGroupSchema = z.object({
  pattern: z.string(),
  count: int(),
  tasks: int(),
  first_seen: date,
  last_seen: date,
  templates: z.array(z.string()),
  instance_statuses: z.array(z.string()),
  example_task_ids: z.array(int()),
  example_task_instance_ids: z.array(int()),
  sample: z.string(),
  help: ErrorHelpSchema.nullable(),
});
export const ErrorGroupsViewSchema = z
  .object({ workflow_id: int(), total_errors: int(), groups: z.array(ErrorGroupSchema) })
  .openapi('ErrorGroups');

// ---------------------------------------------------------------- DAG views

const depTask = z.object({ id: int(), name: z.string(), template: z.string(), status: TaskStatusSchema, depth: int() });
export const TaskDepsSchema = z
  .object({
    task: z.object({
      id: int(),
      name: z.string(),
      template: z.string(),
      status: TaskStatusSchema,
      workflow_id: int(),
    }),
    upstream: z.array(depTask),
    downstream: z.array(depTask),
    upstream_truncated: z.boolean(),
    downstream_truncated: z.boolean(),
    depth: int(),
  })
  .openapi('TaskDependencies');
export const FailurePathsSchema = z
  .object({
    task_id: int(),
    paths: z
      .array(
        z.object({
          failed_task_id: int(),
          failed_task_name: z.string(),
          failed_template: z.string(),
          path: z.array(int()),
        }),
      )
      .openapi({ description: 'Each path: task ids from this task up to a failed (F) upstream task, inclusive' }),
    failed_upstream: int(),
    note: z.string().nullable(),
  })
  .openapi('FailurePaths');
export const TemplateDagSchema = z
  .object({
    workflow_id: int(),
    nodes: z.array(z.object({ template: z.string(), total: int(), buckets: BucketsSchema })),
    edges: z.array(z.object({ from: z.string(), to: z.string(), task_edges: int() })),
  })
  .openapi('TemplateDag');
export const TaskDagSchema = z
  .object({
    workflow_id: int(),
    limit: int(),
    num_tasks: int(),
    levels: int(),
    buckets: BucketsSchema,
    failed: int(),
    blocked_by_failure: int(),
    tasks: z.array(
      z.object({
        id: int(),
        name: z.string(),
        template: z.string(),
        status: TaskStatusSchema,
        status_label: z.string(),
        bucket: z.enum(['PENDING', 'SCHEDULED', 'RUNNING', 'DONE', 'FATAL']),
        level: int().openapi({ description: 'Longest path from a task without upstreams (0) to this task' }),
        blocked_by_failure: z.boolean(),
      }),
    ),
    edges: z.array(z.object({ from: int(), to: int(), on_failure_path: z.boolean() })),
  })
  .openapi('TaskDag');

// ---------------------------------------------------------------- logs

export const InstanceLogSchema = z
  .object({
    task_instance_id: int(),
    task_id: int(),
    workflow_id: int(),
    stream,
    path: z.string().nullable(),
    source: z.enum(['file', 'recorded_tail', 'none']),
    size_bytes: z.number().nullable(),
    truncated: z.boolean(),
    tail_lines: int().nullable(),
    text: z.string(),
    note: z.string().nullable(),
  })
  .openapi('InstanceLog');
const lastLineGroup = z.object({
  pattern: z.string(),
  example: z.string(),
  failed: int(),
  succeeded: int(),
  example_task_instance_ids: z.array(int()),
});
const bySuccess = z.object({ succeeded: z.number().nullable(), failed: z.number().nullable() });
export const TemplateLogSummarySchema = z
  .object({
    workflow_id: int(),
    template: z.string(),
    instances: int(),
    succeeded: int(),
    failed: int(),
    stdout_last_lines: z.array(lastLineGroup),
    stderr_last_lines: z.array(lastLineGroup),
    differences: z.object({
      only_in_failed: z.array(z.object({ stream, pattern: z.string(), example: z.string(), failed: int() })),
      exit_codes_of_failed: z.array(z.object({ exit_code: int().nullable(), count: int() })),
      nodes: z.array(z.object({ nodename: z.string(), failed: int(), succeeded: int() })),
      median_wallclock_s: bySuccess,
      median_maxrss_bytes: bySuccess,
      notes: z.array(z.string()),
    }),
  })
  .openapi('TemplateLogSummary');

// ---------------------------------------------------------------- resources

export const PercentilesSchema = z.object({
  n: int(),
  mean: z.number().nullable(),
  p50: z.number().nullable(),
  p90: z.number().nullable(),
  p95: z.number().nullable(),
  p99: z.number().nullable(),
  max: z.number().nullable(),
});
export const UsageRowSchema = z.object({
  task_instance_id: int(),
  task_id: int(),
  workflow_id: int(),
  node_args: z.record(z.string(), z.unknown()),
  wallclock_s: z.number().nullable(),
  maxrss_bytes: z.number().nullable(),
  cpu_s: z.number().nullable(),
  requested_cores: z.number().nullable(),
  requested_memory_gib: z.number().nullable(),
  requested_runtime_s: z.number().nullable(),
  cluster_name: z.string(),
  queue: z.string(),
  ended_date: date.nullable(),
});
export const TemplateUsageSchema = z
  .object({
    template: z.string(),
    tool: z.string().nullable(),
    workflow_id: int().nullable(),
    node_args: z.record(z.string(), z.string()),
    confidence: z.number(),
    instances: int(),
    runtime_s: PercentilesSchema.openapi({ description: 'seconds' }),
    maxrss_bytes: PercentilesSchema.openapi({ description: 'bytes' }),
    cores_used: PercentilesSchema.openapi({ description: 'CPU seconds / wall seconds' }),
    requested: z.object({
      cores: z.number().nullable(),
      memory_gib: z.number().nullable(),
      runtime_s: z.number().nullable(),
      cluster_name: z.string().nullable(),
      queue: z.string().nullable(),
    }),
    suggested: z
      .object({
        cores: z.number(),
        memory: z.string(),
        memory_gib: z.number(),
        runtime: z.string(),
        runtime_s: z.number(),
        low_sample: z.boolean(),
      })
      .nullable(),
    rows: z.array(UsageRowSchema).openapi({ description: 'Every DONE instance; only with rows=1' }),
  })
  .openapi('TemplateUsage');
/** The JSON answer: `rows` only when asked for. */
// A new object from the fields, not .extend: an extended registered schema is published as allOf
// its parent, whose required `rows` would still bind the answer that leaves rows out.
export const TemplateUsageAnswerSchema = z
  .object({
    ...TemplateUsageSchema.shape,
    rows: z.array(UsageRowSchema).optional().openapi({ description: 'Every DONE instance; only with rows=1' }),
  })
  .openapi('TemplateUsageAnswer');
const wasted = { resource_errors: int(), wasted_wallclock_s: z.number(), wasted_core_hours: z.number() };
export const ResourceRetriesSchema = z
  .object({
    workflow_id: int(),
    tasks: int(),
    ...wasted,
    per_template: z.array(z.object({ template: z.string(), tasks: int(), ...wasted })),
    examples: z.array(
      z.object({
        task_id: int(),
        name: z.string(),
        template: z.string(),
        status: z.string(),
        resource_errors: int(),
        wasted_wallclock_s: z.number(),
        original: z.record(z.string(), z.unknown()),
        current: z.record(z.string(), z.unknown()),
      }),
    ),
  })
  .openapi('ResourceRetries');

// ---------------------------------------------------------------- search and tools

export const FoundWorkflowSchema = z.object({
  id: int(),
  name: z.string(),
  tool: z.string(),
  user: z.string(),
  workflow_args: z.string(),
  status: WorkflowStatusLetterSchema,
  status_label: z.string(),
  created_date: date,
  num_tasks: int(),
  done: int(),
  fatal: int(),
  percent_done: z.number(),
  attributes: z.record(z.string(), z.string()),
});
export const FoundWorkflowsSchema = z
  .object({ workflows: z.array(FoundWorkflowSchema), total: int() })
  .openapi('FoundWorkflows');
export const ToolsSchema = z
  .object({
    tools: z.array(
      z.object({ name: z.string(), workflows: int(), templates: int(), last_workflow_date: date.nullable() }),
    ),
  })
  .openapi('Tools');
export const ToolTemplatesSchema = z
  .object({
    tool: z.string(),
    templates: z.array(
      z.object({
        name: z.string(),
        versions: int(),
        workflows: int(),
        tasks: int(),
        command_template: z.string(),
      }),
    ),
  })
  .openapi('ToolTemplates');

// ---------------------------------------------------------------- share links and identity

export const ShareLinkSchema = z.object({
  id: int(),
  workflow_id: int(),
  created_by: z.string(),
  created_date: date,
  expires_date: date,
  revoked_date: date.nullable(),
  active: z.boolean(),
});
export const CreatedShareSchema = ShareLinkSchema.extend({
  token: z.string().openapi({ description: 'Shown only in this answer' }),
  url: z.string().openapi({ description: "The link to the workflow's GUI pages" }),
}).openapi('CreatedShare');
export const ShareLinksSchema = z.object({ shares: z.array(ShareLinkSchema) }).openapi('ShareLinks');
export const WhoamiSchema = z
  .object({
    user: z.string(),
    role: z.enum(['operator', 'observer', 'admin']),
    share_workflow_id: int().nullable().openapi({ description: 'Set when the caller reads through a share link' }),
    may_operate: z.boolean(),
    temporal_ui_url: z.string(),
  })
  .openapi('Whoami');

export type WorkflowProgress = z.infer<typeof WorkflowProgressSchema>;
export type TemplateProgress = z.infer<typeof TemplateProgressSchema>;
export type Risk = z.infer<typeof RiskSchema>;
export type RiskKind = Risk['kind'];
export type EtaConfidence = z.infer<typeof EtaConfidenceSchema>;
export type ErrorHelp = z.infer<typeof ErrorHelpSchema>;
export type ErrorGroup = z.infer<typeof ErrorGroupSchema>;
export type ErrorGroupsView = z.infer<typeof ErrorGroupsViewSchema>;
export type TaskDeps = z.infer<typeof TaskDepsSchema>;
export type DepTask = TaskDeps['upstream'][number];
export type FailurePaths = z.infer<typeof FailurePathsSchema>;
export type TemplateDag = z.infer<typeof TemplateDagSchema>;
export type TaskDag = z.infer<typeof TaskDagSchema>;
export type TaskDagTask = TaskDag['tasks'][number];
export type TaskDagEdge = TaskDag['edges'][number];
export type InstanceLog = z.infer<typeof InstanceLogSchema>;
export type TemplateLogSummary = z.infer<typeof TemplateLogSummarySchema>;
export type LastLineGroup = TemplateLogSummary['stdout_last_lines'][number];
export type Percentiles = z.infer<typeof PercentilesSchema>;
export type UsageRow = z.infer<typeof UsageRowSchema>;
export type TemplateUsage = z.infer<typeof TemplateUsageSchema>;
export type ResourceRetries = z.infer<typeof ResourceRetriesSchema>;
export type FoundWorkflow = z.infer<typeof FoundWorkflowSchema>;
export type FoundWorkflows = z.infer<typeof FoundWorkflowsSchema>;
export type ToolList = z.infer<typeof ToolsSchema>;
export type ToolTemplates = z.infer<typeof ToolTemplatesSchema>;
export type ShareLink = z.infer<typeof ShareLinkSchema>;
export type CreatedShare = z.infer<typeof CreatedShareSchema>;
export type Whoami = z.infer<typeof WhoamiSchema>;
