/**
 * Whole-DAG checks of a bind request: task keys unique, every upstream key known, node_args unique
 * within a template (they are what tells a template's tasks apart: Jobmon's DuplicateNodeArgsError),
 * and no cycle. Everything is iterative and linear in tasks + edges, because a workflow may have
 * hundreds of thousands of tasks and a recursive walk would overflow the stack.
 */
import { invalid } from './errors';

export interface DagTask {
  key: string;
  upstream: readonly string[];
  /** Template name and node_args hash: together they must be unique in the workflow. */
  templateName: string;
  nodeArgsHash: string;
}

export interface Dag {
  /** Upstream task indexes of task i: `upTargets[upOffsets[i] .. upOffsets[i + 1])`, in input order. */
  upOffsets: Int32Array;
  upTargets: Int32Array;
  /** Task indexes in an order where every task comes after all its upstreams. */
  order: Int32Array;
  numEdges: number;
}

export function upstreamCount(dag: Dag, i: number): number {
  return dag.upOffsets[i + 1] - dag.upOffsets[i];
}

/** How many keys a cycle error names: enough to find it, short enough to read. */
const CYCLE_KEYS_SHOWN = 6;

export function analyzeDag(tasks: readonly DagTask[]): Dag {
  const n = tasks.length;
  const indexOf = new Map<string, number>();
  const nodeOwner = new Map<string, number>();
  let numEdges = 0;
  for (let i = 0; i < n; i++) {
    const t = tasks[i];
    const earlier = indexOf.get(t.key);
    if (earlier !== undefined)
      throw invalid(`tasks[${i}].key`, `key "${t.key}" is already used by tasks[${earlier}]`, 'duplicate_key');
    indexOf.set(t.key, i);
    const nodeId = `${t.templateName}\u0000${t.nodeArgsHash}`;
    const twin = nodeOwner.get(nodeId);
    if (twin !== undefined) {
      throw invalid(
        `tasks[${i}].node_args`,
        `tasks[${i}] ("${t.key}") has the same template "${t.templateName}" and node_args as tasks[${twin}] ("${tasks[twin].key}"); node_args must tell a template's tasks apart`,
        'duplicate_node_args',
      );
    }
    nodeOwner.set(nodeId, i);
    numEdges += t.upstream.length;
  }

  const upOffsets = new Int32Array(n + 1);
  const upTargets = new Int32Array(numEdges);
  const downCount = new Int32Array(n);
  let e = 0;
  for (let i = 0; i < n; i++) {
    upOffsets[i] = e;
    const ups = tasks[i].upstream;
    for (let j = 0; j < ups.length; j++) {
      const u = indexOf.get(ups[j]);
      if (u === undefined)
        throw invalid(
          `tasks[${i}].upstream[${j}]`,
          `upstream "${ups[j]}" is not the key of any task`,
          'unknown_upstream',
        );
      upTargets[e++] = u;
      downCount[u]++;
    }
  }
  upOffsets[n] = e;

  // Downstream adjacency (CSR) for Kahn's algorithm.
  const downOffsets = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) downOffsets[i + 1] = downOffsets[i] + downCount[i];
  const fill = downOffsets.slice(0, n);
  const downTargets = new Int32Array(numEdges);
  for (let i = 0; i < n; i++) {
    for (let k = upOffsets[i]; k < upOffsets[i + 1]; k++) downTargets[fill[upTargets[k]]++] = i;
  }

  const remaining = new Int32Array(n);
  const order = new Int32Array(n);
  let head = 0;
  let tail = 0;
  for (let i = 0; i < n; i++) {
    remaining[i] = upOffsets[i + 1] - upOffsets[i];
    if (remaining[i] === 0) order[tail++] = i;
  }
  while (head < tail) {
    const v = order[head++];
    for (let k = downOffsets[v]; k < downOffsets[v + 1]; k++) {
      const d = downTargets[k];
      if (--remaining[d] === 0) order[tail++] = d;
    }
  }
  if (tail < n) throw cycleError(tasks, upOffsets, upTargets, remaining);
  return { upOffsets, upTargets, order, numEdges };
}

/**
 * Name one cycle among the tasks Kahn's algorithm could not order. Each of them still has an
 * unordered upstream, so walking "some unordered upstream" from any of them must revisit a task;
 * the revisited stretch is a cycle.
 */
function cycleError(tasks: readonly DagTask[], upOffsets: Int32Array, upTargets: Int32Array, remaining: Int32Array) {
  const stuck = (i: number) => remaining[i] > 0;
  let start = 0;
  while (!stuck(start)) start++;
  const positionInWalk = new Map<number, number>();
  const walk: number[] = [];
  let v = start;
  while (!positionInWalk.has(v)) {
    positionInWalk.set(v, walk.length);
    walk.push(v);
    let next = -1;
    for (let k = upOffsets[v]; k < upOffsets[v + 1]; k++) {
      if (stuck(upTargets[k])) {
        next = upTargets[k];
        break;
      }
    }
    v = next;
  }
  // walk follows upstream links, so reverse it to read in dependency order (upstream → downstream).
  const cycle = walk.slice(positionInWalk.get(v)).reverse();
  // Report at the task with the lowest index and the upstream entry that closes the loop there.
  let at = 0;
  for (let p = 1; p < cycle.length; p++) if (cycle[p] < cycle[at]) at = p;
  const rotated = [...cycle.slice(at), ...cycle.slice(0, at)];
  const task = rotated[0];
  const upstreamTask = rotated[rotated.length - 1];
  const j = tasks[task].upstream.indexOf(tasks[upstreamTask].key);
  const keys = rotated.slice(0, CYCLE_KEYS_SHOWN).map((i) => `"${tasks[i].key}"`);
  const path =
    rotated.length > CYCLE_KEYS_SHOWN
      ? `${keys.join(' → ')} → … (${rotated.length} tasks)`
      : `${keys.join(' → ')} → ${keys[0]}`;
  return invalid(`tasks[${task}].upstream[${j}]`, `dependency cycle: ${path}`, 'cycle');
}
