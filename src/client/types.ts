/**
 * Response bodies of the HTTP API as the client and CLI read them (docs/api-contract.md). Plain
 * interfaces rather than the API's zod schemas: the client must not pull the server's code (or its
 * dependencies) into a user's control script. Request bodies for binding live in
 * `src/domain/bind-spec.ts`, shared with the API.
 */
import type { TaskBucket } from '../domain/statuses';

export type Buckets = Record<TaskBucket, number>;

export interface DraftCreated {
  draft_id: string;
}
export interface DraftTasksAdded {
  received: number;
  total: number;
}
export interface BoundWorkflow {
  workflow_id: number;
  status: string;
  newly_created: boolean;
  num_tasks: number;
}

export interface StartedRun {
  workflow_run_id: number;
  temporal_workflow_id: string;
  temporal_run_id: string;
  temporal_ui_url: string;
  /** Tasks whose resources were scaled before the run (last attempt failed for resources). */
  resources_increased?: number;
}

export interface ControlResult {
  workflow_id: number;
  action: string;
}

export interface ConcurrencyLimits {
  workflow: number;
  templates: Record<string, number>;
}

export interface WorkflowSummary {
  id: number;
  name: string;
  tool: string;
  user: string;
  status: string;
  created_date: string;
  num_tasks: number;
  percent_done: number;
}

export interface RunSummary {
  id: number;
  status: string;
  status_label: string;
  temporal_workflow_id: string;
  temporal_run_id: string | null;
  temporal_ui_url: string;
  created_date: string;
}

export interface WorkflowStatusReport {
  workflow_id: number;
  name: string;
  tool: string;
  user: string;
  workflow_args: string;
  status: string;
  status_label: string;
  num_tasks: number;
  counts: Record<string, number>;
  buckets: Buckets;
  percent_done: number;
  max_concurrently_running: number;
  templates: { name: string; max_concurrently_running: number; buckets: Buckets }[];
  run: RunSummary | null;
  /** Latest operator controls, newest first (absent from APIs before issue 5). */
  events?: WorkflowEvent[];
  /** Whether the caller may act on this workflow (role, owner or grant). */
  may_operate?: boolean;
}

/** One row of a workflow's operator audit log. */
export interface WorkflowEvent {
  id: number;
  workflow_id: number;
  workflow_run_id: number | null;
  user: string;
  action: string;
  result: string;
  details: Record<string, unknown>;
  created_date: string;
}

export interface WorkflowGrant {
  workflow_id: number;
  user: string;
  granted_by: string;
  created_date: string;
}

export interface SetStatusResult {
  status: 'D' | 'G';
  dry_run: boolean;
  applied: boolean;
  selected: number;
  changed: number;
  propagated: number;
  running: number;
  by_template: { template: string; status: string; n: number }[];
  needs_force: boolean;
  needs_confirm: boolean;
  killed_jobs: number;
  workflow_run_id: number | null;
  workflow_status: string | null;
}

export interface ResetResult {
  workflow_id: number;
  reset: number;
  kept_done: number;
  status: string;
}

export interface TaskRow {
  id: number;
  name: string;
  template: string;
  status: string;
  num_attempts: number;
  max_attempts: number;
}

export interface WorkflowTasks {
  tasks: TaskRow[];
  total: number;
}

export interface WorkflowErrorRow {
  task_instance_id: number;
  task_id: number;
  task_name: string;
  error_time: string;
  description: string;
}

export interface TaskInstanceDetails {
  id: number;
  workflow_run_id: number;
  status: string;
  status_label: string;
  distributor_id: string | null;
  nodename: string | null;
  exit_code: number | null;
  wallclock_s: number | null;
  maxrss_bytes: number | null;
  stdout_path: string | null;
  stderr_path: string | null;
  submitted_date: string | null;
  status_date: string;
  errors: { error_time: string; description: string }[];
}

export interface TaskDetails {
  task: {
    id: number;
    workflow_id: number;
    name: string;
    template: string;
    status: string;
    status_label: string;
    status_date: string;
    command: string;
    num_attempts: number;
    max_attempts: number;
    node_args: Record<string, string>;
    task_args: Record<string, string>;
    op_args: Record<string, string>;
    cluster_name: string;
    queue: string;
    resources: Record<string, unknown>;
    upstream_count: number;
    upstream_remaining: number;
    attributes: Record<string, string>;
  };
  instances: TaskInstanceDetails[];
}

export interface Health {
  status: 'ok' | 'unavailable';
  database: 'ok' | 'error';
  auth: string;
  time?: string;
}
