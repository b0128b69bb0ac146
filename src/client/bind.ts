/**
 * Chunked binding over HTTP: create a draft, send the tasks in chunks, commit. Nothing is stored
 * server-side until the commit, which validates the whole DAG at once (so chunk order and
 * upstream keys pointing into later chunks do not matter).
 */
import { MAX_TASKS_PER_CHUNK, type BindRequest, type DraftSpec, type TaskSpec } from '../domain/bind-spec';
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
}

export async function bindChunked(
  api: ApiClient,
  draft: DraftSpec,
  tasks: readonly TaskSpec[],
  options: BindOptions = {},
): Promise<BoundWorkflow> {
  const chunkSize = Math.min(options.chunkSize ?? MAX_TASKS_PER_CHUNK, MAX_TASKS_PER_CHUNK);
  if (!Number.isInteger(chunkSize) || chunkSize < 1)
    throw new Error(`chunkSize must be a whole number ≥ 1, got ${chunkSize}`);
  const concurrency = options.concurrency ?? 3;
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new Error(`concurrency must be a whole number ≥ 1, got ${concurrency}`);
  const { draft_id: draftId } = await api.post<DraftCreated>('/bind/drafts', draft);
  const draftPath = `/bind/drafts/${encodeURIComponent(draftId)}`;
  let next = 0;
  let sent = 0;
  let failed = false;
  const sender = async () => {
    while (!failed && next < tasks.length) {
      const start = next;
      next += chunkSize;
      const chunk = tasks.slice(start, start + chunkSize);
      try {
        await api.post<DraftTasksAdded>(`${draftPath}/tasks`, { tasks: chunk, offset: start });
      } catch (err) {
        failed = true; // the other senders stop after their current chunk
        throw err;
      }
      sent += chunk.length;
      options.onProgress?.({ sent, total: tasks.length });
    }
  };
  const senders = Array.from({ length: Math.min(concurrency, Math.ceil(tasks.length / chunkSize)) }, sender);
  // Wait for every sender before reporting, so no request is left running behind the error.
  const outcomes = await Promise.allSettled(senders);
  const rejected = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (rejected) throw rejected.reason;
  // Commit checks and writes the whole DAG in one transaction: minutes for a million tasks.
  return api.post<BoundWorkflow>(`${draftPath}/commit`, undefined, { timeoutMs: COMMIT_TIMEOUT_MS });
}

const COMMIT_TIMEOUT_MS = 30 * 60_000;

/** Split a one-piece BindRequest (e.g. read from a file) into its draft part and its tasks. */
export function splitBindRequest(request: BindRequest): { draft: DraftSpec; tasks: TaskSpec[] } {
  const { tasks, ...draft } = request;
  return { draft, tasks };
}
