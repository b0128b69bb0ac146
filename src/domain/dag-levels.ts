/**
 * Longest-path levels of a DAG, for drawing and printing it in layers (issue 6, part 3): the task
 * DAG route computes them for tasks, `jmt workflow dag` for templates.
 */

/**
 * A node sits one level below its deepest upstream (sources are level 0), so every edge points to a
 * higher level. Kahn's order keeps it linear in nodes + edges. Nodes on a cycle (a bound DAG has
 * none; template graphs may, e.g. a template whose tasks depend on each other) and their
 * downstreams stay at the level reached so far instead of looping.
 */
export function longestPathLevels(n: number, edges: readonly (readonly [number, number])[]): number[] {
  const level = new Array<number>(n).fill(0);
  const indegree = new Array<number>(n).fill(0);
  const down: number[][] = Array.from({ length: n }, () => []);
  for (const [a, b] of edges) {
    if (a === b) continue;
    down[a].push(b);
    indegree[b]++;
  }
  const queue: number[] = [];
  for (let i = 0; i < n; i++) if (indegree[i] === 0) queue.push(i);
  for (let head = 0; head < queue.length; head++) {
    const a = queue[head];
    for (const b of down[a]) {
      if (level[b] < level[a] + 1) level[b] = level[a] + 1;
      if (--indegree[b] === 0) queue.push(b);
    }
  }
  return level;
}
