/**
 * A Task as the control script builds it: one command of a template with its args, its upstream
 * tasks and its per-task settings. Nothing here talks to the API; `Workflow.bind()` sends
 * `toSpec()` of every task.
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

export class Task {
  readonly template: TaskTemplate;
  readonly nodeArgs: Readonly<Record<string, ArgValue>>;
  readonly taskArgs: Readonly<Record<string, ArgValue>>;
  readonly opArgs: Readonly<Record<string, ArgValue>>;
  /**
   * Unique within a workflow and stable across runs of the control script: the template name plus
   * the node args (sorted), which is exactly what Jobmon forbids to repeat within a DAG. Values are
   * compared as strings, as Jobmon (and the API) store them, so `1` and `"1"` are the same task.
   */
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
    const sortedNodeArgs = Object.keys(this.nodeArgs)
      .sort()
      .map((k) => [k, String(this.nodeArgs[k])]);
    // JSON keeps the boundaries unambiguous whatever the template name or values contain.
    this.key = JSON.stringify([this.template.templateName, Object.fromEntries(sortedNodeArgs)]);
  }

  /** The name the task will have: the user's, else Jobmon's `<template>_<arg>-<value>_...`. */
  get name(): string {
    if (this.userName !== undefined) return this.userName;
    return defaultTaskName(
      this.template.templateName,
      this.template.nodeArgs.map((k) => [k, String(this.nodeArgs[k])] as const),
    );
  }

  /** `task` must finish (DONE) before this one starts. Also records the reverse link, as Jobmon does. */
  addUpstream(task: Task): this {
    if (task === this) throw new Error(`task ${this.name} cannot be its own upstream`);
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
      upstream: [...this.upstreamTasks].map((t) => t.key),
      compute_resources: this.computeResources ?? null,
      cluster_name: this.clusterName ?? null,
      resource_scales: this.resourceScales ?? null,
      fallback_queues: this.fallbackQueues,
      max_attempts: this.maxAttempts ?? null,
      attributes: { ...this.taskAttributes },
    };
  }

  toString(): string {
    return `Task(${this.name})`;
  }
}
