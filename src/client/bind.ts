/**
 * Chunked binding over HTTP: create a draft, send the tasks in chunks, commit. The server checks
 * and stores each chunk as it arrives and checks what spans chunks at commit (so chunk order and
 * upstream keys pointing into later chunks do not matter). Tasks may come from an iterator: each
 * chunk is drawn from it when a sender is free, so the caller never needs every spec at once.
 */
import {
  MAX_TASKS_PER_CHUNK,
  MAX_UPSTREAM_PER_CHUNK,
  type BindRequest,
  type DraftSpec,
  type TaskSpec,
} from '../domain/bind-spec';
import type { ApiClient } from './api-client';
import type { BoundWorkflow, DraftCreated, DraftTasksAdded } from './types';

export interface BindProgress {
  sent: number;
  total: number;
}

export interface BindOptions {
  /** Tasks per request; the API refuses more than MAX_TASKS_PER_CHUNK. */
  chunkSize?: number;
  onProgress?: (progress: BindProgress) => void;
  /**
   * Chunks in flight at once (default 3): encoding the next chunk overlaps the server checking and
   * storing the previous ones. Each chunk carries its offset, so arrival order does not matter.
   */
  concurrency?: number;
  /** How many tasks `tasks` yields, for progress when it is an iterator. */
  total?: number;
  /**
   * Whether the answer carries `task_ids` (each key → its task id; default true). A caller that
   * keeps no task has no use for them, and at a million tasks they are ~35 MB of JSON to read.
   */
  taskIds?: boolean;
}

export async function bindChunked(
  api: ApiClient,
  draft: DraftSpec,
  tasks: Iterable<TaskSpec>,
  options: BindOptions = {},
): Promise<BoundWorkflow> {
  const chunkSize = Math.min(options.chunkSize ?? MAX_TASKS_PER_CHUNK, MAX_TASKS_PER_CHUNK);
  if (!Number.isInteger(chunkSize) || chunkSize < 1)
    throw new Error(`chunkSize must be a whole number ≥ 1, got ${chunkSize}`);
  const concurrency = options.concurrency ?? 3;
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new Error(`concurrency must be a whole number ≥ 1, got ${concurrency}`);
  const total = options.total ?? (Array.isArray(tasks) ? tasks.length : undefined);
  const { draft_id: draftId } = await api.post<DraftCreated>('/bind/drafts', draft);
  const draftPath = `/bind/drafts/${encodeURIComponent(draftId)}`;
  const source = tasks[Symbol.iterator]();
  let next = 0;
  let sent = 0;
  let failed = false;
  // Drawn synchronously, so concurrent senders take consecutive, non-overlapping chunks.
  // A chunk closes at chunkSize tasks or MAX_UPSTREAM_PER_CHUNK upstream entries, whichever first.
  const draw = (): TaskSpec[] => {
    const chunk: TaskSpec[] = [];
    let upstream = 0;
    while (chunk.length < chunkSize && upstream < MAX_UPSTREAM_PER_CHUNK) {
      const item = source.next();
      if (item.done) break;
      chunk.push(item.value);
      upstream += item.value.upstream?.length ?? 0;
    }
    return chunk;
  };
  const sender = async () => {
    while (!failed) {
      const start = next;
      let chunk: TaskSpec[];
      try {
        chunk = draw(); // a source that throws (a task it refuses) stops every sender, as a refused chunk does
      } catch (err) {
        failed = true;
        throw err;
      }
      if (chunk.length === 0) return;
      next += chunk.length;
      try {
        await api.post<DraftTasksAdded>(`${draftPath}/tasks`, { tasks: chunk, offset: start });
      } catch (err) {
        failed = true; // the other senders stop after their current chunk
        throw err;
      }
      sent += chunk.length;
      options.onProgress?.({ sent, total: total ?? sent });
    }
  };
  const senders = Array.from({ length: concurrency }, sender);
  // Wait for every sender before reporting, so no request is left running behind the error.
  const outcomes = await Promise.allSettled(senders);
  const rejected = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (rejected) throw rejected.reason;
  // Commit checks and writes the whole DAG in one transaction: tens of seconds for a million tasks.
  const query = options.taskIds === false ? '?task_ids=false' : '';
  return api.post<BoundWorkflow>(`${draftPath}/commit${query}`, undefined, { timeoutMs: COMMIT_TIMEOUT_MS });
}

const COMMIT_TIMEOUT_MS = 30 * 60_000;

/** Split a one-piece BindRequest (e.g. read from a file) into its draft part and its tasks. */
export function splitBindRequest(request: BindRequest): { draft: DraftSpec; tasks: TaskSpec[] } {
  const { tasks, ...draft } = request;
  return { draft, tasks };
}
