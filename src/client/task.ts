/**
 * A Task as the control script builds it: one command of a template with its args, its upstream
 * tasks and its per-task settings. Nothing here talks to the API; `Workflow.bind()` sends
 * `toSpec()` of every task. A TaskRef names a task by what identifies it, for depending on a task
 * this process no longer holds (`Workflow.bindStream`).
 */
import type { ArgValue, ComputeResourcesSpec, TaskSpec } from '../domain/bind-spec';
import { defaultTaskName } from '../domain/identity';
import type { ResourceScales } from '../domain/resources';
import type { TaskTemplate } from './task-template';

export interface TaskInit {
  template: TaskTemplate;
  nodeArgs: Record<string, ArgValue>;
  taskArgs: Record<string, ArgValue>;
  opArgs: Record<string, ArgValue>;
  name?: string;
  maxAttempts?: number;
  computeResources?: ComputeResourcesSpec;
  resourceScales?: ResourceScales;
  clusterName?: string;
  fallbackQueues?: string[];
  taskAttributes?: Record<string, ArgValue> | string[];
}

/** Every task without task or op args shares this one: at a million tasks each empty copy cost ~60 B. */
const NO_ARGS: Readonly<Record<string, ArgValue>> = Object.freeze({});
const frozenArgs = (args: Record<string, ArgValue>): Readonly<Record<string, ArgValue>> =>
  Object.keys(args).length ? Object.freeze({ ...args }) : NO_ARGS;

/**
 * A task's key: unique within a workflow and stable across runs of the control script. It is the
 * template name plus the node args (sorted), exactly what Jobmon forbids to repeat within a DAG.
 * Values are compared as strings, as Jobmon (and the API) store them, so `1` and `"1"` are the same
 * task; JSON keeps the boundaries unambiguous whatever the template name or values contain.
 */
export function taskKey(templateName: string, nodeArgs: Readonly<Record<string, ArgValue>>): string {
  const sorted = Object.keys(nodeArgs)
    .sort()
    .map((k) => [k, String(nodeArgs[k])]);
  return JSON.stringify([templateName, Object.fromEntries(sorted)]);
}

/**
 * A task named by its template and node args, without the task: `template.ref({ ... })`. As an
 * upstream it makes the same edge as the Task it names, but holds nothing of it, so a workflow
 * whose tasks are made, sent and dropped a chunk at a time (`Workflow.bindStream`) can depend on
 * tasks long gone. Whether the named task exists is checked where the whole DAG is known: by
 * `Workflow.bind()` here, by the API's commit for a stream.
 */
export class TaskRef {
  readonly template: TaskTemplate;
  readonly nodeArgs: Readonly<Record<string, ArgValue>>;
  readonly key: string;

  constructor(template: TaskTemplate, nodeArgs: Record<string, ArgValue>) {
    this.template = template;
    this.nodeArgs = frozenArgs(nodeArgs);
    this.key = taskKey(template.templateName, this.nodeArgs);
  }

  /** Jobmon's default name of the task it names (a user-given name is the task's own). */
  get name(): string {
    return defaultName(this.template, this.nodeArgs);
  }

  toString(): string {
    return `TaskRef(${this.name})`;
  }
}

export class Task {
  readonly template: TaskTemplate;
  readonly nodeArgs: Readonly<Record<string, ArgValue>>;
  readonly taskArgs: Readonly<Record<string, ArgValue>>;
  readonly opArgs: Readonly<Record<string, ArgValue>>;
  /** Unique within a workflow and stable across runs of the control script: see `taskKey`. */
  readonly key: string;
  /** Name given by the user; the API derives Jobmon's default name when undefined. */
  readonly userName: string | undefined;
  maxAttempts: number | undefined;
  computeResources: ComputeResourcesSpec | undefined;
  resourceScales: ResourceScales | undefined;
  clusterName: string | undefined;
  fallbackQueues: string[];
  readonly taskAttributes: Record<string, ArgValue> = {};
  readonly upstreamTasks = new Set<Task>();
  readonly downstreamTasks = new Set<Task>();
  /** Upstreams named by TaskRef: no reverse link, since the named task may not be in this process. */
  readonly upstreamRefs = new Set<TaskRef>();

  constructor(init: TaskInit) {
    this.template = init.template;
    this.nodeArgs = frozenArgs(init.nodeArgs);
    this.taskArgs = frozenArgs(init.taskArgs);
    this.opArgs = frozenArgs(init.opArgs);
    this.userName = init.name;
    this.maxAttempts = init.maxAttempts;
    this.computeResources = init.computeResources;
    this.resourceScales = init.resourceScales;
    this.clusterName = init.clusterName;
    this.fallbackQueues = [...(init.fallbackQueues ?? [])];
    if (init.taskAttributes) this.addAttributes(init.taskAttributes);
    this.key = taskKey(this.template.templateName, this.nodeArgs);
  }

  /** The name the task will have: the user's, else Jobmon's `<template>_<arg>-<value>_...`. */
  get name(): string {
    return this.userName ?? defaultName(this.template, this.nodeArgs);
  }

  /**
   * `task` must finish (DONE) before this one starts. A Task also records the reverse link, as
   * Jobmon does; a TaskRef is only remembered by key.
   */
  addUpstream(task: Task | TaskRef): this {
    if (task === this || task.key === this.key) throw new Error(`task ${this.name} cannot be its own upstream`);
    if (task instanceof TaskRef) {
      this.upstreamRefs.add(task);
      return this;
    }
    this.upstreamTasks.add(task);
    task.downstreamTasks.add(this);
    return this;
  }

  addDownstream(task: Task): this {
    task.addUpstream(this);
    return this;
  }

  addAttribute(name: string, value: ArgValue = ''): this {
    if (typeof name !== 'string' || name.trim() === '') throw new Error('a task attribute needs a non-empty name');
    if (typeof value !== 'string' && !(typeof value === 'number' && Number.isFinite(value))) {
      throw new Error(`task attribute "${name}" must be a string or a finite number`);
    }
    this.taskAttributes[name] = value;
    return this;
  }

  /** A dict of name → value, or (as in Jobmon) a list of names with empty values. */
  addAttributes(attributes: Record<string, ArgValue> | string[]): this {
    if (Array.isArray(attributes)) for (const name of attributes) this.addAttribute(name);
    else for (const [name, value] of Object.entries(attributes)) this.addAttribute(name, value);
    return this;
  }

  /** The task as the bind API takes it. */
  toSpec(): TaskSpec {
    return {
      key: this.key,
      template: this.template.templateName,
      name: this.userName ?? null,
      node_args: { ...this.nodeArgs },
      task_args: { ...this.taskArgs },
      op_args: { ...this.opArgs },
      upstream: this.#upstreamKeys(),
      compute_resources: this.computeResources ?? null,
      cluster_name: this.clusterName ?? null,
      resource_scales: this.resourceScales ?? null,
      fallback_queues: this.fallbackQueues,
      max_attempts: this.maxAttempts ?? null,
      attributes: { ...this.taskAttributes },
    };
  }

  /** Each upstream once, Tasks first, however many times it was named. */
  #upstreamKeys(): string[] {
    const keys = [...this.upstreamTasks].map((t) => t.key);
    if (this.upstreamRefs.size === 0) return keys;
    return [...new Set([...keys, ...[...this.upstreamRefs].map((r) => r.key)])];
  }

  toString(): string {
    return `Task(${this.name})`;
  }
}

function defaultName(template: TaskTemplate, nodeArgs: Readonly<Record<string, ArgValue>>): string {
  return defaultTaskName(
    template.templateName,
    template.nodeArgs.map((k) => [k, String(nodeArgs[k])] as const),
  );
}
