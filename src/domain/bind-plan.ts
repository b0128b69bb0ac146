/**
 * Everything binding decides before touching the database: each task checked and resolved, the
 * DAG checked and ordered, and the workflow's identity hashes. Pure, so a bad request is refused
 * before any row is written, and so it can be tested without Postgres.
 */
import { invalid } from './errors';
import type { Resources } from './resources';
import type { CheckedDraft, CheckedTemplate, ClusterCatalog } from './bind-checks';
import { checkTask, type CheckedTask } from './task-checks';
import { analyzeDag, type Dag } from './dag';
import { dagHash, edgeKey, workflowArgsHash, workflowTaskHash } from './identity';

export interface ResourceRequest {
  hash: string;
  clusterName: string;
  resources: Resources;
}

export interface BindPlan {
  draft: CheckedDraft;
  tasks: CheckedTask[];
  dag: Dag;
  workflowArgsHash: string;
  taskHash: string;
  dagHash: string;
  /** Templates that have tasks: one array each. */
  usedTemplates: CheckedTemplate[];
  /** Distinct resource requests, by hash. */
  resources: Map<string, ResourceRequest>;
  /** The workflow's default cluster, or else the first task's (workflow.default_cluster_name is required). */
  defaultClusterName: string;
}

export function planBind(draft: CheckedDraft, rawTasks: readonly unknown[], catalog: ClusterCatalog): BindPlan {
  if (rawTasks.length === 0) throw invalid('tasks', 'a workflow needs at least one task', 'no_tasks');
  const tasks = rawTasks.map((raw, i) => checkTask(raw, i, draft, catalog));
  const dag = analyzeDag(
    tasks.map((t) => ({
      key: t.key,
      upstream: t.upstream,
      templateName: t.template.name,
      nodeArgsHash: t.nodeArgsHash,
    })),
  );

  const edges: string[] = new Array(dag.numEdges);
  for (let i = 0; i < tasks.length; i++) {
    for (let k = dag.upOffsets[i]; k < dag.upOffsets[i + 1]; k++)
      edges[k] = edgeKey(tasks[dag.upTargets[k]].taskHash, tasks[i].taskHash);
  }

  const used = new Set<CheckedTemplate>();
  const resources = new Map<string, ResourceRequest>();
  for (const t of tasks) {
    used.add(t.template);
    if (!resources.has(t.resourcesHash))
      resources.set(t.resourcesHash, { hash: t.resourcesHash, clusterName: t.clusterName, resources: t.resources });
  }

  return {
    draft,
    tasks,
    dag,
    workflowArgsHash: workflowArgsHash(draft.workflow.workflowArgs),
    taskHash: workflowTaskHash(tasks.map((t) => t.taskHash)),
    dagHash: dagHash(edges),
    usedTemplates: draft.templates.filter((t) => used.has(t)),
    resources,
    defaultClusterName: draft.workflow.clusterName ?? tasks[0].clusterName,
  };
}
