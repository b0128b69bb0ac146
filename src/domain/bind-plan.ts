/**
 * Everything binding decides without the database, in the two shapes a bind takes:
 *
 * - `planChunk`: one chunk of a draft, each task checked and resolved (command, settings, identity
 *   hashes) with its index in the whole request, keys and node args unique within the chunk. The
 *   streaming bind (sql/bind.ts) stores these rows as the chunk arrives; what spans chunks
 *   (keys and node args across chunks, upstream keys, cycles, the workflow's hashes) is checked
 *   over the stored rows by SQL at commit (sql/bind-dag.ts, domain/dag-order.ts, domain/dag-hash.ts).
 * - `planBind`: a whole request in memory, checked with the same rules and hashed with the same
 *   functions; the reference the streamed bind is tested against (same refusals, same hashes).
 *
 * `BindPlan` is what commit hands to the store: the draft, its size and the identity hashes; the
 * tasks themselves stay in Postgres.
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

export interface ChunkPlan {
  tasks: CheckedTask[];
  /** Distinct resource requests of the chunk, by hash. */
  resources: Map<string, ResourceRequest>;
  /** Names of the templates the chunk uses. */
  templates: string[];
}

/** Check one chunk; `offset` is the index of its first task in the whole request. */
export function planChunk(
  draft: CheckedDraft,
  rawTasks: readonly unknown[],
  offset: number,
  catalog: ClusterCatalog,
): ChunkPlan {
  const tasks = rawTasks.map((raw, i) => checkTask(raw, offset + i, draft, catalog));
  const keys = new Map<string, number>();
  const nodes = new Map<string, number>();
  const resources = new Map<string, ResourceRequest>();
  const templates = new Set<string>();
  for (const t of tasks) {
    const earlier = keys.get(t.key);
    if (earlier !== undefined) throw duplicateKey(t.index, t.key, earlier);
    keys.set(t.key, t.index);
    const node = `${t.template.name}\u0000${t.nodeArgsHash}`;
    const twin = nodes.get(node);
    if (twin !== undefined) throw duplicateNodeArgs(t.index, t.key, t.template.name, twin, tasks[twin - offset].key);
    nodes.set(node, t.index);
    templates.add(t.template.name);
    if (!resources.has(t.resourcesHash))
      resources.set(t.resourcesHash, { hash: t.resourcesHash, clusterName: t.clusterName, resources: t.resources });
  }
  return { tasks, resources, templates: [...templates] };
}

/** Same wording as dag.ts's whole-request check, whichever chunks the two tasks came in. */
export function duplicateKey(index: number, key: string, earlier: number) {
  return invalid(`tasks[${index}].key`, `key "${key}" is already used by tasks[${earlier}]`, 'duplicate_key');
}

export function duplicateNodeArgs(index: number, key: string, template: string, twin: number, twinKey: string) {
  return invalid(
    `tasks[${index}].node_args`,
    `tasks[${index}] ("${key}") has the same template "${template}" and node_args as tasks[${twin}] ("${twinKey}"); node_args must tell a template's tasks apart`,
    'duplicate_node_args',
  );
}

export function unknownUpstream(index: number, position: number, key: string) {
  return invalid(
    `tasks[${index}].upstream[${position}]`,
    `upstream "${key}" is not the key of any task`,
    'unknown_upstream',
  );
}

/** A committed draft as the store writes it: the tasks are the draft's stored rows. */
export interface BindPlan {
  draft: CheckedDraft;
  draftId: string;
  numTasks: number;
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

/** A whole request checked and planned in memory (see the header): the streamed bind's reference. */
export interface RequestPlan {
  tasks: CheckedTask[];
  dag: Dag;
  workflowArgsHash: string;
  taskHash: string;
  dagHash: string;
  usedTemplates: CheckedTemplate[];
  resources: Map<string, ResourceRequest>;
}

export function planBind(draft: CheckedDraft, rawTasks: readonly unknown[], catalog: ClusterCatalog): RequestPlan {
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
    tasks,
    dag,
    usedTemplates: draft.templates.filter((t) => used.has(t)),
    resources,
    workflowArgsHash: workflowArgsHash(draft.workflow.workflowArgs),
    taskHash: workflowTaskHash(tasks.map((t) => t.taskHash)),
    dagHash: dagHash(edges),
  };
}
