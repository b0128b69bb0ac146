/**
 * The cycle check of a streamed bind: the DAG as two typed arrays of edge endpoints (task indexes),
 * as commit reads them from the draft's stored rows. Kahn's algorithm, linear in tasks + edges and
 * iterative; about 24 bytes per edge and 16 per task (20 MB and 60 MB at a million tasks and 1.9
 * million edges), never task objects. Commit only calls it when some edge points forward (upstream
 * later in the request than its downstream): when none does, request order is already a
 * topological order and there can be no cycle (sql/bind-rows.ts checks that in SQL).
 */

/**
 * One dependency cycle, or null if there is none. The cycle is in dependency order (each task an
 * upstream of the next, the last an upstream of the first), starting at its lowest task index, so
 * the error can name that task and the upstream entry that closes the loop (as dag.ts does).
 */
export function findCycle(n: number, ups: Int32Array, downs: Int32Array, numEdges: number): number[] | null {
  const remaining = new Int32Array(n);
  const downOffsets = new Int32Array(n + 1);
  for (let e = 0; e < numEdges; e++) {
    remaining[downs[e]]++;
    downOffsets[ups[e] + 1]++;
  }
  for (let i = 0; i < n; i++) downOffsets[i + 1] += downOffsets[i];
  const fill = downOffsets.slice(0, n);
  const downTargets = new Int32Array(numEdges);
  for (let e = 0; e < numEdges; e++) downTargets[fill[ups[e]]++] = downs[e];

  const queue = new Int32Array(n);
  let head = 0;
  let tail = 0;
  for (let i = 0; i < n; i++) if (remaining[i] === 0) queue[tail++] = i;
  while (head < tail) {
    const v = queue[head++];
    for (let k = downOffsets[v]; k < downOffsets[v + 1]; k++) {
      const d = downTargets[k];
      if (--remaining[d] === 0) queue[tail++] = d;
    }
  }
  if (tail === n) return null;
  return cycleAmong(n, ups, downs, numEdges, remaining);
}

/**
 * Every task Kahn's algorithm could not order still has an unordered upstream, so walking "some
 * unordered upstream" from one of them must revisit a task; the revisited stretch is a cycle.
 */
function cycleAmong(n: number, ups: Int32Array, downs: Int32Array, numEdges: number, remaining: Int32Array): number[] {
  const upOffsets = new Int32Array(n + 1);
  for (let e = 0; e < numEdges; e++) upOffsets[downs[e] + 1]++;
  for (let i = 0; i < n; i++) upOffsets[i + 1] += upOffsets[i];
  const fill = upOffsets.slice(0, n);
  const upTargets = new Int32Array(numEdges);
  for (let e = 0; e < numEdges; e++) upTargets[fill[downs[e]]++] = ups[e];

  let v = 0;
  while (remaining[v] === 0) v++;
  const positionInWalk = new Map<number, number>();
  const walk: number[] = [];
  while (!positionInWalk.has(v)) {
    positionInWalk.set(v, walk.length);
    walk.push(v);
    let next = -1;
    for (let k = upOffsets[v]; k < upOffsets[v + 1]; k++) {
      if (remaining[upTargets[k]] > 0) {
        next = upTargets[k];
        break;
      }
    }
    v = next;
  }
  // The walk follows upstream links: reversed, it reads upstream → downstream.
  const cycle = walk.slice(positionInWalk.get(v)).reverse();
  let at = 0;
  for (let p = 1; p < cycle.length; p++) if (cycle[p] < cycle[at]) at = p;
  return [...cycle.slice(at), ...cycle.slice(0, at)];
}
