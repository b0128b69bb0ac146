/**
 * Kysely table types, mirroring `migrations/`. Status columns use the domain's letter unions so a
 * typo in a status is a compile error, and the database repeats the letters as CHECK constraints.
 */
import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';
import type { TaskInstanceStatus, TaskStatus, WorkflowRunStatus, WorkflowStatus } from '../domain/statuses';
import type { Resources } from '../domain/resources';

// Insert type includes undefined: columns with a default are optional on insert, Date when selected.
type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type Json<T> = ColumnType<T, string | T, string | T>;
// BIGINT ids are parsed as numbers (src/sql/db.ts): ours stay far below 2^53.
type BigId = number;

export interface ClusterTable {
  id: Generated<number>;
  name: string;
  cluster_type: string;
  connection_parameters: Json<Record<string, unknown>>;
}
export interface QueueTable {
  id: Generated<number>;
  cluster_id: number;
  name: string;
  /** Limits per resource: `{ "memory": [min, max] }` in the resource's canonical unit. */
  parameters: Json<Record<string, [number, number]>>;
}
export interface ToolTable {
  id: Generated<number>;
  name: string;
}
export interface ToolVersionTable {
  id: Generated<number>;
  tool_id: number;
  created_date: Timestamp;
}
export interface TaskTemplateTable {
  id: Generated<number>;
  tool_version_id: number;
  name: string;
}
export interface TaskTemplateVersionTable {
  id: Generated<number>;
  task_template_id: number;
  command_template: string;
  node_args: string[];
  task_args: string[];
  op_args: string[];
  arg_mapping_hash: string;
}
export interface WorkflowTable {
  id: Generated<number>;
  tool_version_id: number;
  workflow_args: string;
  workflow_args_hash: string;
  task_hash: string;
  dag_hash: string;
  name: string;
  description: string;
  user: string;
  max_concurrently_running: number;
  default_cluster_name: string;
  num_tasks: number;
  status: WorkflowStatus;
  status_date: Timestamp;
  created_date: Timestamp;
  /** The control script's working directory at bind (migration 0017); commands run there. */
  working_dir: ColumnType<string | null, string | null | undefined, string | null>;
}
export interface WorkflowAttributeTable {
  workflow_id: number;
  key: string;
  value: string;
}
export interface ArrayTable {
  id: Generated<number>;
  workflow_id: number;
  task_template_version_id: number;
  name: string;
  max_concurrently_running: number;
  /** The template's own working directory in this workflow, overriding the workflow's (0017). */
  working_dir: ColumnType<string | null, string | null | undefined, string | null>;
}
export interface TaskResourcesTable {
  id: Generated<BigId>;
  hash: string;
  cluster_name: string;
  queue: string;
  /** O original (as requested), V validated (coerced to the queue), A adjusted after a resource error. */
  resources_type: 'O' | 'V' | 'A';
  requested_resources: Json<Resources>;
  created_date: Timestamp;
}
export interface TaskTable {
  id: Generated<BigId>;
  workflow_id: number;
  array_id: number;
  name: string;
  task_hash: string;
  node_args_hash: string;
  node_args: Json<Record<string, string>>;
  task_args: Json<Record<string, string>>;
  op_args: Json<Record<string, string>>;
  command: string;
  original_resources_id: BigId;
  task_resources_id: BigId;
  resource_scales: Json<Record<string, number | number[]>>;
  fallback_queues: Json<string[]>;
  max_attempts: number;
  num_attempts: Generated<number>;
  upstream_count: Generated<number>;
  upstream_remaining: Generated<number>;
  status: TaskStatus;
  status_date: Timestamp;
  /** The control script's key for the task in its bind request (0017). */
  key: ColumnType<string | null, string | null | undefined, string | null>;
}
export interface TaskDependencyTable {
  upstream_task_id: BigId;
  downstream_task_id: BigId;
}
export interface TaskAttributeTable {
  task_id: BigId;
  key: string;
  value: string;
}
export interface WorkflowRunTable {
  id: Generated<number>;
  workflow_id: number;
  user: string;
  jobmon_version: string;
  status: WorkflowRunStatus;
  resume_mode: 'hot' | 'cold' | null;
  temporal_workflow_id: string;
  temporal_run_id: string | null;
  created_date: Timestamp;
  status_date: Timestamp;
  heartbeat_date: Timestamp;
}
export type BatchStatus = 'Q' | 'S' | 'D';
export interface TaskBatchTable {
  id: Generated<BigId>;
  workflow_run_id: number;
  workflow_id: number;
  array_id: number;
  task_resources_id: BigId;
  cluster_name: string;
  size: number;
  status: BatchStatus;
  distributor_array_id: string | null;
  created_date: Timestamp;
  submitted_date: Timestamp | null;
  finished_date: Timestamp | null;
  /** The batch system's reason its launched jobs wait (migration 0020); null while none waits. */
  pending_reason: string | null;
  pending_since: Timestamp | null;
}
export interface TaskInstanceTable {
  id: Generated<BigId>;
  workflow_run_id: number;
  workflow_id: number;
  task_id: BigId;
  array_id: number;
  batch_id: BigId;
  array_step_id: number;
  task_resources_id: BigId;
  distributor_id: string | null;
  status: TaskInstanceStatus;
  submitted_date: Timestamp | null;
  started_date: Timestamp | null;
  ended_date: Timestamp | null;
  status_date: Timestamp;
  report_by_date: Timestamp | null;
  nodename: string | null;
  process_id: number | null;
  stdout_path: string | null;
  stderr_path: string | null;
  stdout_tail: string | null;
  stderr_tail: string | null;
  exit_code: number | null;
  wallclock_s: number | null;
  maxrss_bytes: BigId | null;
  cpu_s: number | null;
}
export interface TaskInstanceErrorLogTable {
  id: Generated<BigId>;
  task_instance_id: BigId;
  error_time: Timestamp;
  description: string;
}
/** Audit log of operator controls (migration 0003). */
export interface WorkflowEventTable {
  id: Generated<BigId>;
  workflow_id: number;
  workflow_run_id: number | null;
  user: string;
  action: string;
  /** `ok`, or the error code the control was refused with after authorisation. */
  result: Generated<string>;
  details: Json<Record<string, unknown>>;
  created_date: Timestamp;
}
/** Operators allowed to act on a workflow besides its owner (migration 0006). */
export interface WorkflowGrantTable {
  workflow_id: number;
  user: string;
  granted_by: string;
  created_date: Timestamp;
}
/** Secrets the server keeps for itself, shared by every API and worker process (migration 0009). */
export interface ServerSecretTable {
  name: string;
  value: Buffer;
  created_date: Generated<Date>;
}
export interface BindDraftTable {
  id: string;
  user: string;
  spec: Json<unknown>;
  num_tasks: Generated<number>;
  created_date: Timestamp;
  /** Set when a commit began (migration 0012): later chunks are refused. */
  committing_since: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}
export interface BindDraftChunkTable {
  draft_id: string;
  /** Index of the chunk's first task in the whole request. */
  seq: number;
  num_tasks: number;
  /** Names of the templates the chunk's tasks use. */
  templates: string[];
}
/** A draft's task, checked when its chunk arrived (migration 0018); written by bind-rows.ts only. */
export interface BindDraftTaskTable {
  draft_id: string;
  idx: number;
  key: string;
  template: string;
  name: string;
  task_hash: string;
  node_args_hash: string;
  node_args: Json<Record<string, string>>;
  task_args: Json<Record<string, string>>;
  op_args: Json<Record<string, string>>;
  command: string;
  resources_hash: string;
  resource_scales: Json<Record<string, number | number[]>>;
  fallback_queues: Json<string[]>;
  max_attempts: number;
  attributes: Json<Record<string, string>> | null;
  upstream: string[];
}
/** Kept task counts (migration 0019): deltas per workflow, array, status and readiness; summed by status-counts.ts. */
export interface TaskStatusCountTable {
  workflow_id: number;
  array_id: number;
  status: TaskStatus;
  ready: boolean;
  n: BigId;
}
export interface BindDraftResourceTable {
  draft_id: string;
  hash: string;
  cluster_name: string;
  queue: string;
  requested: Json<unknown>;
}

export interface Database {
  cluster: ClusterTable;
  queue: QueueTable;
  tool: ToolTable;
  tool_version: ToolVersionTable;
  task_template: TaskTemplateTable;
  task_template_version: TaskTemplateVersionTable;
  workflow: WorkflowTable;
  workflow_attribute: WorkflowAttributeTable;
  array_: ArrayTable;
  task_resources: TaskResourcesTable;
  task: TaskTable;
  task_dependency: TaskDependencyTable;
  task_attribute: TaskAttributeTable;
  workflow_run: WorkflowRunTable;
  task_batch: TaskBatchTable;
  task_instance: TaskInstanceTable;
  task_instance_error_log: TaskInstanceErrorLogTable;
  bind_draft: BindDraftTable;
  workflow_event: WorkflowEventTable;
  workflow_grant: WorkflowGrantTable;
  server_secret: ServerSecretTable;
  bind_draft_chunk: BindDraftChunkTable;
  bind_draft_task: BindDraftTaskTable;
  bind_draft_resource: BindDraftResourceTable;
  task_status_count: TaskStatusCountTable;
}

export type Task = Selectable<TaskTable>;
export type NewTask = Insertable<TaskTable>;
export type TaskInstance = Selectable<TaskInstanceTable>;
export type Workflow = Selectable<WorkflowTable>;
export type WorkflowRun = Selectable<WorkflowRunTable>;
export type TaskBatch = Selectable<TaskBatchTable>;
