/**
 * The JSON a user sends to bind a workflow (docs/api-contract.md, "Binding"), as plain types.
 * Field names stay snake_case so the HTTP body, the client library and the stored draft are one
 * shape. These types describe well-formed input only: everything arriving over HTTP is checked by
 * `bind-checks.ts` before it is trusted.
 */
import type { ResourceScales } from './resources';

/** Arg and attribute values: strings or numbers on input, always stored as strings. */
export type ArgValue = string | number;

/** Raw compute resources as users write them (`"8G"`, `"2h"`, ...); normalised by resources.ts. */
export type ComputeResourcesSpec = Record<string, unknown>;

export interface ToolSpec {
  name: string;
  /** Bind against this tool version instead of the tool's latest one. */
  version_id?: number | null;
}

export interface WorkflowSpec {
  /** Identity of the workflow within its tool version; a random UUID when omitted (as in Jobmon). */
  workflow_args?: string | null;
  name?: string | null;
  description?: string | null;
  attributes?: Record<string, ArgValue> | null;
  max_concurrently_running?: number | null;
  default_cluster_name?: string | null;
  default_compute_resources?: ComputeResourcesSpec | null;
  default_resource_scales?: ResourceScales | null;
  default_max_attempts?: number | null;
}

export interface TaskTemplateSpec {
  name: string;
  /** Python `str.format` style: `python model.py --loc {location_id}`; `{{`/`}}` are literal braces. */
  command_template: string;
  node_args?: string[] | null;
  task_args?: string[] | null;
  op_args?: string[] | null;
  default_cluster_name?: string | null;
  default_compute_resources?: ComputeResourcesSpec | null;
  default_resource_scales?: ResourceScales | null;
  default_max_attempts?: number | null;
  /** Limit of this template's array in this workflow; unlimited when omitted. */
  max_concurrently_running?: number | null;
}

export interface TaskSpec {
  /** Unique within the bind request; `upstream` refers to tasks by it. Not stored. */
  key: string;
  template: string;
  /** Defaults to Jobmon's `<template>_<arg>-<value>_...`. */
  name?: string | null;
  node_args?: Record<string, ArgValue> | null;
  task_args?: Record<string, ArgValue> | null;
  op_args?: Record<string, ArgValue> | null;
  upstream?: string[] | null;
  compute_resources?: ComputeResourcesSpec | null;
  cluster_name?: string | null;
  resource_scales?: ResourceScales | null;
  fallback_queues?: string[] | null;
  max_attempts?: number | null;
  attributes?: Record<string, ArgValue> | null;
}

export interface DraftSpec {
  tool: ToolSpec;
  workflow: WorkflowSpec;
  task_templates: TaskTemplateSpec[];
}

export interface BindRequest extends DraftSpec {
  tasks: TaskSpec[];
}

/** Tasks accepted per `addDraftTasks` call (and per HTTP request): bounds request and jsonb size. */
export const MAX_TASKS_PER_CHUNK = 5_000;

/**
 * Upstream entries a client puts in one chunk before it closes the chunk early. A chunk of fan-in
 * tasks can carry most of a DAG's edges (1,000 tasks naming 898 upstreams each in bench:million):
 * cutting by edges too keeps a client's (and the API's) memory to a chunk's worth of edges, and a
 * chunk's body well under the route's size limit.
 */
export const MAX_UPSTREAM_PER_CHUNK = 50_000;

/** Jobmon's MaxConcurrentlyRunning (MySQL INT max), i.e. "no limit". */
export const UNLIMITED_CONCURRENCY = 2_147_483_647;

/** Jobmon's client default when no level sets max_attempts. */
export const DEFAULT_MAX_ATTEMPTS = 3;
