/**
 * Zod schemas of every request and response of the HTTP API (docs/api-contract.md), shared by the
 * route files and the generated OpenAPI document. Request schemas check *shape* only; meaning
 * (cycles, unknown upstreams, resources against queues) is checked by the bind layer, which names
 * the offending field the same way.
 *
 * Bind bodies use strict objects: a misspelt key such as `upstreams` would otherwise be dropped
 * silently and bind a DAG without its dependencies.
 */
import { z } from '@hono/zod-openapi';
import { MAX_TASKS_PER_CHUNK } from '../domain/bind-spec';
import { HONOURED_RESOURCE_KEYS } from '../domain/cluster-keys';
import { TASK_STATUSES } from '../domain/statuses';
import { int4, INT4_MAX, pathId, queryInt } from './input-schemas';
import { WorkflowEventSchema } from './operator';
import {
  TaskInstanceStatusSchema,
  TaskStatusSchema,
  WorkflowRunStatusSchema,
  WorkflowStatusLetterSchema,
} from './letters';

// ---------------------------------------------------------------- shared pieces

export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: 'invalid' }),
      message: z.string(),
      field: z.string().optional().openapi({ example: 'tasks[12].upstream[0]' }),
    }),
  })
  .openapi('Error');

/** Declared on every route so the document lists the error shape; handlers throw, never return these. */
export const errorResponses = {
  400: { description: 'Malformed JSON', content: { 'application/json': { schema: ErrorSchema } } },
  401: { description: 'Missing or unknown token', content: { 'application/json': { schema: ErrorSchema } } },
  403: { description: 'Not allowed for this identity', content: { 'application/json': { schema: ErrorSchema } } },
  404: { description: 'Unknown id', content: { 'application/json': { schema: ErrorSchema } } },
  409: { description: 'Conflict', content: { 'application/json': { schema: ErrorSchema } } },
  413: { description: 'Body too large', content: { 'application/json': { schema: ErrorSchema } } },
  415: {
    description: 'Body sent with a content type other than application/json',
    content: { 'application/json': { schema: ErrorSchema } },
  },
  422: { description: 'Invalid input; `field` names it', content: { 'application/json': { schema: ErrorSchema } } },
  431: {
    description: 'Request line and headers over 16 KiB (a long query string)',
    content: { 'application/json': { schema: ErrorSchema } },
  },
  503: {
    description: 'A service the request needs is down (Temporal: code temporal_unavailable); reads keep working',
    content: { 'application/json': { schema: ErrorSchema } },
  },
} as const;

export const json = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});
export const jsonBody = <T extends z.ZodType>(schema: T, required = true) => ({
  required,
  content: { 'application/json': { schema } },
});

// Database ids are positive integers far below 2^53 (db.ts parses BIGINT as number). Ids of
// `serial` columns (workflow, share_link) stop at the Postgres integer maximum: a larger one must be
// a 422 naming the id, not an "out of range for type integer" 500 from the database.
export { INT4_MAX } from './input-schemas';
const id = pathId;

export const WorkflowIdParams = z.object({ id: id('id', INT4_MAX) });
export const TaskIdParams = z.object({ id: id('id') });
export const TaskInstanceIdParams = z.object({ id: id('id') });
// Not checked as a UUID here: the bind layer answers 404 for any id that names no draft of the caller.
export const DraftIdParams = z.object({
  draft_id: z
    .string()
    .min(1)
    .max(100)
    .openapi({ param: { name: 'draft_id', in: 'path' }, example: '6f1c0a52-5d0e-4a3b-9d1e-2b7f3c4d5e6f' }),
});

const argValue = z.union([z.string(), z.number()]);
const argMap = z.record(z.string(), argValue);
/** The compute_resources keys, their units and which cluster types act on each (domain/cluster-keys.ts). */
const COMPUTE_RESOURCES_DOC = [
  "Compute resources of a task (Jobmon's compute_resources). Keys and units:",
  '`queue` (string, required; every cluster type);',
  '`cores` (count), `memory` (GiB as a number, or "8G", "512M", "1Gb"), `runtime` (seconds as a number, or "1h", "90m", "3600s", "HH:MM:SS");',
  "`stdout`, `stderr` (directories for the task's logs), `account`, `qos`, `constraints` (Slurm's, as sbatch takes them), `project` (Slurm's account, as Jobmon's Slurm plugin maps it; `account` wins if both are set).",
  'Acted on per cluster type: ' +
    Object.entries(HONOURED_RESOURCE_KEYS)
      .map(([type, keys]) => `${type}: ${keys.join(', ')}`)
      .join('; ') +
    '. Other keys are stored and reported back as ignored by bind (`ignored_resource_keys`).',
].join(' ');
const computeResources = z.record(z.string(), z.unknown()).openapi({
  description: COMPUTE_RESOURCES_DOC,
  example: { queue: 'null.q', cores: 1, memory: '1G', runtime: '10m' },
});
const resourceScales = z
  .record(z.string(), z.union([z.number(), z.array(z.number())]))
  .openapi({ example: { memory: 0.5, runtime: 0.5 } });
const name = z.string().min(1).max(255);
const limitOrNull = z.number().int().min(0).max(2_147_483_647).nullish();
const attemptsOrNull = z.number().int().min(1).max(1000).nullish();

// ---------------------------------------------------------------- binding

export const ToolSpecSchema = z.strictObject({
  name,
  version_id: int4(1).nullish(),
});

export const WorkflowSpecSchema = z.strictObject({
  workflow_args: z.string().max(10_000).nullish(),
  name: z.string().max(1000).nullish(),
  description: z.string().max(10_000).nullish(),
  attributes: argMap.nullish(),
  max_concurrently_running: limitOrNull,
  default_cluster_name: name.nullish(),
  default_compute_resources: computeResources.nullish(),
  default_resource_scales: resourceScales.nullish(),
  default_max_attempts: attemptsOrNull,
  /** Directory the tasks' commands run in (absolute); clients send the control script's cwd. */
  working_dir: z.string().max(4096).nullish(),
});

export const TaskTemplateSpecSchema = z.strictObject({
  name,
  command_template: z.string().min(1).max(100_000),
  node_args: z.array(z.string()).nullish(),
  task_args: z.array(z.string()).nullish(),
  op_args: z.array(z.string()).nullish(),
  default_cluster_name: name.nullish(),
  default_compute_resources: computeResources.nullish(),
  default_resource_scales: resourceScales.nullish(),
  default_max_attempts: attemptsOrNull,
  max_concurrently_running: limitOrNull,
  /** Overrides the workflow's working_dir for this template's tasks. */
  working_dir: z.string().max(4096).nullish(),
});

export const TaskSpecSchema = z
  .strictObject({
    key: z.string().min(1).max(1000),
    template: name,
    name: z.string().max(1000).nullish(),
    node_args: argMap.nullish(),
    task_args: argMap.nullish(),
    op_args: argMap.nullish(),
    upstream: z.array(z.string()).nullish(),
    compute_resources: computeResources.nullish(),
    cluster_name: name.nullish(),
    resource_scales: resourceScales.nullish(),
    fallback_queues: z.array(z.string()).nullish(),
    max_attempts: attemptsOrNull,
    attributes: argMap.nullish(),
  })
  .openapi('TaskSpec');

const draftShape = {
  tool: ToolSpecSchema,
  workflow: WorkflowSpecSchema,
  task_templates: z.array(TaskTemplateSpecSchema).max(10_000),
};
export const DraftSpecSchema = z.strictObject(draftShape).openapi('DraftSpec');
const tasksArray = z.array(TaskSpecSchema).max(MAX_TASKS_PER_CHUNK);
export const BindRequestSchema = z.strictObject({ ...draftShape, tasks: tasksArray }).openapi('BindRequest');
export const DraftTasksSchema = z.strictObject({
  tasks: tasksArray,
  // Optional: where this chunk's first task sits in the whole request, so chunks may be sent at once.
  // An int column (bind_draft_chunk.seq) holds it, with the chunk's tasks after it.
  offset: int4(0, INT4_MAX - MAX_TASKS_PER_CHUNK).optional(),
});

export const DraftCreatedSchema = z.object({ draft_id: z.string() });
export const DraftDeletedSchema = z.object({
  draft_id: z.string(),
  deleted: z.literal(true),
  num_tasks: z.number().int(),
});
export const CommitQuerySchema = z.object({
  task_ids: z
    .enum(['true', 'false'])
    .optional()
    .openapi({ description: 'false: answer without the task_ids map (default true)', example: 'false' }),
});
export const DraftTasksAddedSchema = z.object({ received: z.number().int(), total: z.number().int() });
export const BoundWorkflowSchema = z
  .object({
    workflow_id: z.number().int(),
    status: WorkflowStatusLetterSchema,
    newly_created: z.boolean(),
    num_tasks: z.number().int(),
    task_ids: z
      .record(z.string(), z.number().int())
      .optional()
      .openapi({
        description:
          "Each task's key in the bind request → its task id; left out when the commit was asked `task_ids=false` (a streaming client that keeps no task needs none: at 1,000,000 tasks the map is ~35 MB)",
        example: { '0': 17, '1': 18 },
      }),
    ignored_resource_keys: z.record(z.string(), z.array(z.string())).openapi({
      description:
        'Per cluster of the workflow, requested compute-resource keys its cluster type does not act on (GET /clusters lists what each honours)',
      example: { multiprocess: ['constraints', 'project'] },
    }),
  })
  .openapi('BoundWorkflow');

// ---------------------------------------------------------------- clusters

export const ClustersSchema = z
  .object({
    clusters: z.array(
      z.object({
        name: z.string().openapi({ example: 'slurm' }),
        cluster_type: z.string().openapi({ example: 'slurm' }),
        queues: z.array(
          z.object({
            name: z.string().openapi({ example: 'long' }),
            // An array of two, not z.tuple: a tuple becomes OpenAPI 3.0's `items: [...]`, which 3.1 rejects.
            limits: z.record(z.string(), z.array(z.number()).length(2)).openapi({
              description: '[min, max] per resource: cores, memory GiB, runtime s',
              example: { cores: [1, 64] },
            }),
          }),
        ),
        honoured_resource_keys: z.array(z.string()).nullable().openapi({
          description: 'Compute-resource keys this cluster type acts on; others are reported as ignored at bind',
        }),
      }),
    ),
  })
  .openapi('Clusters');

// ---------------------------------------------------------------- runs and controls

export const StartRunSchema = z.strictObject({
  resume_mode: z.enum(['cold', 'hot']).optional(),
  fail_fast: z.boolean().optional(),
  /** Default false: tasks whose last attempt failed for resources get scaled resources (Jobmon's CLI resume). */
  keep_resources: z.boolean().optional(),
});
export const StartedRunSchema = z.object({
  workflow_run_id: z.number().int(),
  temporal_workflow_id: z.string(),
  temporal_run_id: z.string(),
  temporal_ui_url: z.string(),
  resources_increased: z.number().int().optional(),
});
export const StopSchema = z.strictObject({ mode: z.enum(['drain', 'kill']).default('drain') });
export const ControlResultSchema = z.object({ workflow_id: z.number().int(), action: z.string() });
export const ConcurrencySchema = z.strictObject({
  limit: z.number().int().min(0).max(2_147_483_647),
  template: name.optional(),
});
export const ConcurrencyLimitsSchema = z.object({
  workflow: z.number().int(),
  templates: z.record(z.string(), z.number().int()),
});

// ---------------------------------------------------------------- reads

const date = z.string().openapi({ format: 'date-time' });
const nullableDate = date.nullable();
const limitQuery = (def: number, max: number) => queryInt(1, max).default(def);

const taskStatusLetter = z.enum(
  Object.keys(TASK_STATUSES) as [keyof typeof TASK_STATUSES, ...(keyof typeof TASK_STATUSES)[]],
);
export const StatusCountsSchema = z
  .record(z.string(), z.number().int())
  .openapi({ example: { G: 0, Q: 0, I: 0, O: 0, R: 1, D: 9, E: 0, A: 0, F: 0 } });
export const BucketsSchema = z.object({
  PENDING: z.number().int(),
  SCHEDULED: z.number().int(),
  RUNNING: z.number().int(),
  DONE: z.number().int(),
  FATAL: z.number().int(),
});

export const WorkflowListQuery = z.object({
  user: z.string().max(255).optional(),
  tool: z.string().max(255).optional(),
  name: z.string().max(1000).optional(),
  status: z
    .string()
    .max(100)
    .optional()
    .openapi({ description: 'Workflow status letters, comma-separated (e.g. `R,F`)' }),
  limit: limitQuery(20, 1000),
});
export const WorkflowSummarySchema = z.object({
  id: z.number().int(),
  name: z.string(),
  tool: z.string(),
  user: z.string(),
  status: WorkflowStatusLetterSchema,
  created_date: date,
  num_tasks: z.number().int(),
  percent_done: z.number(),
});
export const WorkflowListSchema = z.object({ workflows: z.array(WorkflowSummarySchema) });

export const WorkflowStatusSchema = z
  .object({
    workflow_id: z.number().int(),
    name: z.string(),
    tool: z.string(),
    user: z.string(),
    workflow_args: z.string(),
    status: WorkflowStatusLetterSchema,
    status_label: z.string(),
    num_tasks: z.number().int(),
    counts: StatusCountsSchema,
    buckets: BucketsSchema,
    percent_done: z.number(),
    max_concurrently_running: z.number().int(),
    templates: z.array(
      z.object({ name: z.string(), max_concurrently_running: z.number().int(), buckets: BucketsSchema }),
    ),
    run: z
      .object({
        id: z.number().int(),
        status: WorkflowRunStatusSchema,
        status_label: z.string(),
        temporal_workflow_id: z.string(),
        temporal_run_id: z.string().nullable(),
        temporal_ui_url: z.string(),
        created_date: date,
      })
      .nullable(),
    /** The latest operator controls, newest first (GET /workflows/:id/events for more). */
    events: z.array(WorkflowEventSchema).optional(),
    /** Whether the caller may act on this workflow (role, owner or grant): the GUI shows its controls by it. */
    may_operate: z.boolean().optional(),
  })
  .openapi('WorkflowStatus');

export const WorkflowTasksQuery = z.object({
  status: z
    .string()
    .max(100)
    .optional()
    .openapi({ description: 'Task status letters or buckets, comma-separated (`G,F`, `PENDING`)' }),
  template: z.string().max(255).optional(),
  attribute: z.string().max(2000).optional().openapi({ description: '`key=value` of a task attribute' }),
  limit: limitQuery(100, 10_000),
  offset: queryInt(0, Number.MAX_SAFE_INTEGER).default(0),
  after: queryInt(0, Number.MAX_SAFE_INTEGER).optional().openapi({
    description:
      'Keyset cursor: the `next_cursor` of the previous page. Every page then costs the same at any depth; `offset` still works (and counts from the cursor)',
  }),
});
export const WorkflowTasksSchema = z.object({
  tasks: z.array(
    z.object({
      id: z.number().int(),
      key: z.string().nullable().openapi({ description: "The task's key in its last bind request" }),
      name: z.string(),
      template: z.string(),
      node_args: z.record(z.string(), z.string()),
      status: TaskStatusSchema,
      num_attempts: z.number().int(),
      max_attempts: z.number().int(),
    }),
  ),
  total: z.number().int(),
  next_cursor: z
    .number()
    .int()
    .nullable()
    .openapi({ description: 'Pass as `after` for the next page; null on the last page' }),
});

export const ErrorsQuery = z.object({
  limit: limitQuery(20, 1000),
  before: queryInt(1, Number.MAX_SAFE_INTEGER).optional().openapi({
    description: 'Keyset cursor: the `next_cursor` of the previous page (older errors follow); same cost at any depth',
  }),
});
export const WorkflowErrorsSchema = z.object({
  errors: z.array(
    z.object({
      task_instance_id: z.number().int(),
      task_id: z.number().int(),
      task_name: z.string(),
      error_time: date,
      description: z.string(),
    }),
  ),
  next_cursor: z
    .number()
    .int()
    .nullable()
    .openapi({ description: 'Pass as `before` for the next (older) page; null on the last page' }),
});

export const TaskDetailsSchema = z
  .object({
    task: z.object({
      id: z.number().int(),
      workflow_id: z.number().int(),
      name: z.string(),
      template: z.string(),
      status: TaskStatusSchema,
      status_label: z.string(),
      status_date: date,
      command: z.string(),
      num_attempts: z.number().int(),
      max_attempts: z.number().int(),
      node_args: z.record(z.string(), z.string()),
      task_args: z.record(z.string(), z.string()),
      op_args: z.record(z.string(), z.string()),
      cluster_name: z.string(),
      queue: z.string(),
      resources: z.record(z.string(), z.unknown()),
      memory_request: z
        .object({ task_mb: z.number().int(), wrapper_mb: z.number().int(), job_mb: z.number().int() })
        .nullable()
        .openapi({
          description:
            "On a Slurm cluster: the memory the job asks Slurm for (job_mb) = the task's request + the worker-node wrapper's share; null elsewhere or without a memory request",
        }),
      upstream_count: z.number().int(),
      upstream_remaining: z.number().int(),
      attributes: z.record(z.string(), z.string()),
    }),
    instances: z.array(
      z.object({
        id: z.number().int(),
        workflow_run_id: z.number().int(),
        status: TaskInstanceStatusSchema,
        status_label: z.string(),
        distributor_id: z.string().nullable(),
        nodename: z.string().nullable(),
        exit_code: z.number().int().nullable(),
        wallclock_s: z.number().nullable(),
        maxrss_bytes: z.number().nullable(),
        stdout_path: z.string().nullable(),
        stderr_path: z.string().nullable(),
        submitted_date: nullableDate,
        status_date: date,
        errors: z.array(z.object({ error_time: date, description: z.string() })),
      }),
    ),
  })
  .openapi('TaskDetails');

export { taskStatusLetter };

// ---------------------------------------------------------------- worker-node wrapper callbacks

// The wrapper may be newer than the server: unknown keys are ignored here, not rejected.
const tail = z
  .string()
  .max(256 * 1024)
  .nullish();
const usage = {
  wallclock_s: z.number().min(0).nullish(),
  maxrss_bytes: z.number().int().min(0).nullish(),
  cpu_s: z.number().min(0).nullish(),
  stdout_tail: tail,
  stderr_tail: tail,
  nodename: z.string().max(1000).nullish(),
};
// Slurm job ids arrive as strings ("123_4"), local pids as numbers; both are stored as text.
const distributorId = z.union([z.string().min(1).max(255), z.number().int()]).transform(String);

export const RunningBodySchema = z.object({
  distributor_id: distributorId,
  nodename: z.string().min(1).max(1000),
  process_id: int4(0),
});
export const RunningResponseSchema = z.object({
  task_instance_id: z.number().int(),
  task_id: z.number().int(),
  workflow_id: z.number().int(),
  workflow_run_id: z.number().int(),
  name: z.string(),
  command: z.string(),
  stdout_path: z.string(),
  stderr_path: z.string(),
  /** Directory to run the command in (the control script's at bind); null: the wrapper's own. */
  working_dir: z.string().nullable(),
  heartbeat_interval_s: z.number(),
  report_by_s: z.number(),
});
export const HeartbeatBodySchema = z.object({ distributor_id: distributorId.optional() });
export const DoneBodySchema = z.object({
  // Only a command that exited 0 is done; anything else is a failure to report with /error.
  exit_code: z
    .number()
    .int()
    .refine((code) => code === 0, 'must be 0 on /done: report a non-zero exit with /error')
    .nullish(),
  ...usage,
});
export const ErrorBodySchema = z.object({
  exit_code: int4().nullable(),
  error_state: z.enum(['E', 'Z', 'U', 'F']),
  message: z.string().max(256 * 1024),
  ...usage,
});
export const InstanceStatusSchema = z.object({ status: TaskInstanceStatusSchema });

/**
 * Many reports in one request (the local executor's): each item is the body of
 * POST /task-instances/{id}/running|done|error plus the instance's id and the report's kind.
 */
export const REPORT_BATCH_MAX = 500;
export const REPORT_KINDS = ['running', 'done', 'error'] as const;
/** What a batch item must have to be answered; the rest is checked per item, by its kind's body schema. */
export const ReportItemSchema = z
  .looseObject({
    task_instance_id: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
    kind: z.enum(REPORT_KINDS),
  })
  .openapi({
    description:
      "task_instance_id, kind, and the fields of that kind's single-report body (running: distributor_id, nodename, process_id; done: exit_code and usage; error: exit_code, error_state, message and usage)",
  });
export const ReportBatchBodySchema = z.object({ reports: z.array(ReportItemSchema).min(1).max(REPORT_BATCH_MAX) });
export const ReportBatchResponseSchema = z.object({
  /** One per item, in order: what the single-report route would have answered (status, body). */
  results: z.array(
    z.object({
      status: z.number().int(),
      body: z.union([RunningResponseSchema, InstanceStatusSchema, ErrorSchema]),
    }),
  ),
});

// ---------------------------------------------------------------- service routes

export const HealthSchema = z.object({
  status: z.enum(['ok', 'unavailable']),
  database: z.enum(['ok', 'error']),
  auth: z.enum(['local-single-user', 'tokens']),
  time: z.string().optional(),
});
