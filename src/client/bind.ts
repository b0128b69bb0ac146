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
  const { draft_id: draftId } = await api.post<DraftCreated>('/bind/drafts', draft);
  const draftPath = `/bind/drafts/${encodeURIComponent(draftId)}`;
  for (let start = 0; start < tasks.length; start += chunkSize) {
    const chunk = tasks.slice(start, start + chunkSize);
    await api.post<DraftTasksAdded>(`${draftPath}/tasks`, { tasks: chunk });
    options.onProgress?.({ sent: start + chunk.length, total: tasks.length });
  }
  return api.post<BoundWorkflow>(`${draftPath}/commit`);
}

/** Split a one-piece BindRequest (e.g. read from a file) into its draft part and its tasks. */
export function splitBindRequest(request: BindRequest): { draft: DraftSpec; tasks: TaskSpec[] } {
  const { tasks, ...draft } = request;
  return { draft, tasks };
}
