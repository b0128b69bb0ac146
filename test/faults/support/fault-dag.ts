/**
 * The workflow every fault test runs: two layers of short tasks (each task of the second layer
 * waits for one of the first) and one last task after all of them, so dependency release and
 * several scheduling passes and batches are exercised while the fault hits.
 */
import type { Tool } from '../../../src/client';
import type { Workflow } from '../../../src/client/workflow';

export interface FaultDagOptions {
  workflowArgs: string;
  /** Tasks in total (≥ 3). */
  tasks: number;
  /** Shell command of every task but the last; `{i}` is appended as a comment for identity. */
  command?: string;
  cluster?: string;
  queue?: string;
  maxAttempts?: number;
}

export function faultWorkflow(tool: Tool, opts: FaultDagOptions): Workflow {
  const command = opts.command ?? 'sleep 0.2';
  const first = tool.getTaskTemplate({ templateName: 'first', commandTemplate: `${command} # a{i}`, nodeArgs: ['i'] });
  const second = tool.getTaskTemplate({
    templateName: 'second',
    commandTemplate: `${command} # b{i}`,
    nodeArgs: ['i'],
  });
  const last = tool.getTaskTemplate({ templateName: 'last', commandTemplate: 'true', nodeArgs: [] });
  const wf = tool.createWorkflow({
    workflowArgs: opts.workflowArgs,
    defaultClusterName: opts.cluster ?? 'multiprocess',
    defaultComputeResources: { queue: opts.queue ?? 'null.q' },
  });
  const half = Math.floor((opts.tasks - 1) / 2);
  const maxAttempts = opts.maxAttempts ?? 3;
  const a = Array.from({ length: opts.tasks - 1 - half }, (_, i) => first.createTask({ i, maxAttempts }));
  const b = Array.from({ length: half }, (_, i) => second.createTask({ i, maxAttempts, upstreamTasks: [a[i]] }));
  wf.addTasks([...a, ...b, last.createTask({ maxAttempts, upstreamTasks: [...a, ...b] })]);
  return wf;
}

/** Dependency edges of `faultWorkflow(tasks)`: one per second-layer task, plus all into the last. */
export function faultWorkflowEdges(tasks: number): number {
  const half = Math.floor((tasks - 1) / 2);
  return half + (tasks - 1);
}
