/**
 * Logs of task instances, and what a template's logs say across its tasks.
 *
 * `readInstanceLog` reads only the file recorded for that instance (`stdout_path`/`stderr_path`,
 * written by the server when the wrapper reported running): callers name an instance and a stream,
 * never a path, so there is nothing to traverse. Symlinks and non-regular files are refused. When
 * the file is not readable from the API's machine (another host, cleaned up), the tail the wrapper
 * reported (last 10,000 characters) is served instead and `source` says so.
 */
import { constants, promises as fs } from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { JobmonError } from '../../domain/errors';
import type { Db } from '../db';
import { normalizeMessage } from './errors';
import { notFound } from '../../domain/errors';
import { quantile } from './util';
import type { InstanceLog, LastLineGroup, TemplateLogSummary } from '../../contract/observe';
export type { InstanceLog, LastLineGroup, TemplateLogSummary };

export const MAX_FULL_LOG_BYTES = 8 * 1024 * 1024;
const MAX_TAIL_LINES = 100_000;

export async function workflowOfTaskInstance(db: Db, id: number): Promise<number | undefined> {
  const { rows } = await sql<{ workflow_id: number }>`select workflow_id from task_instance where id = ${id}`.execute(
    db,
  );
  return rows[0]?.workflow_id;
}

export async function readInstanceLog(
  db: Db,
  id: number,
  stream: 'stdout' | 'stderr',
  tailLines?: number,
): Promise<InstanceLog> {
  if (tailLines !== undefined && (!Number.isInteger(tailLines) || tailLines < 1 || tailLines > MAX_TAIL_LINES)) {
    throw new JobmonError(
      'invalid',
      `tail must be a whole number of lines between 1 and ${MAX_TAIL_LINES}`,
      'tail',
      'invalid',
    );
  }
  const { rows } = await sql<{
    task_id: number;
    workflow_id: number;
    stdout_path: string | null;
    stderr_path: string | null;
    stdout_tail: string | null;
    stderr_tail: string | null;
  }>`select task_id, workflow_id, stdout_path, stderr_path, stdout_tail, stderr_tail from task_instance where id = ${id}`.execute(
    db,
  );
  const row = rows[0];
  if (!row) throw notFound('task instance', id, 'id');
  const recordedPath = stream === 'stdout' ? row.stdout_path : row.stderr_path;
  const recordedTail = stream === 'stdout' ? row.stdout_tail : row.stderr_tail;
  const base = {
    task_instance_id: id,
    task_id: Number(row.task_id),
    workflow_id: row.workflow_id,
    stream,
    path: recordedPath,
  };

  let fileProblem: string | null = null;
  if (recordedPath && path.isAbsolute(recordedPath)) {
    try {
      const text = await readFileTail(recordedPath, tailLines);
      return { ...base, source: 'file', ...text, tail_lines: tailLines ?? null, note: null };
    } catch (err) {
      fileProblem = err instanceof Error ? err.message : String(err);
    }
  } else if (recordedPath) {
    fileProblem = 'the recorded path is not absolute';
  }
  if (recordedTail !== null) {
    const text = tailLines === undefined ? recordedTail : lastLines(recordedTail, tailLines);
    return {
      ...base,
      source: 'recorded_tail',
      size_bytes: null,
      truncated: true,
      tail_lines: tailLines ?? null,
      text,
      note: `${recordedPath ? `log file not readable here (${fileProblem})` : 'no log file recorded'}; showing the last characters the job reported`,
    };
  }
  return {
    ...base,
    source: 'none',
    size_bytes: null,
    truncated: false,
    tail_lines: tailLines ?? null,
    text: '',
    note: recordedPath
      ? `log file not readable here (${fileProblem}) and the job reported no tail`
      : 'the instance has not started yet: no log',
  };
}

async function readFileTail(
  file: string,
  tailLines?: number,
): Promise<{ size_bytes: number; truncated: boolean; text: string }> {
  // O_NOFOLLOW: a log path replaced by a symlink (to anything) is refused rather than followed.
  const handle = await fs.open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new Error('not a regular file');
    const size = stat.size;
    if (tailLines === undefined) {
      const length = Math.min(size, MAX_FULL_LOG_BYTES);
      const buf = Buffer.alloc(length);
      await handle.read(buf, 0, length, 0);
      return { size_bytes: size, truncated: size > length, text: buf.toString('utf8') };
    }
    // Read backwards in chunks until enough newlines (bounded by MAX_FULL_LOG_BYTES).
    let start = size;
    let chunks: Buffer[] = [];
    let newlines = 0;
    const chunkSize = 64 * 1024;
    while (start > 0 && newlines <= tailLines && size - start < MAX_FULL_LOG_BYTES) {
      const from = Math.max(0, start - chunkSize);
      const buf = Buffer.alloc(start - from);
      await handle.read(buf, 0, buf.length, from);
      chunks = [buf, ...chunks];
      for (const b of buf) if (b === 10) newlines++;
      start = from;
    }
    const text = lastLines(Buffer.concat(chunks).toString('utf8'), tailLines);
    return { size_bytes: size, truncated: start > 0 || text.length < size, text };
  } finally {
    await handle.close();
  }
}

function lastLines(text: string, n: number): string {
  const trimmed = text.endsWith('\n') ? text.slice(0, -1) : text;
  const lines = trimmed.split('\n');
  return lines.slice(-n).join('\n') + (text.endsWith('\n') ? '\n' : '');
}

function lastLine(text: string | null): string | null {
  if (!text) return null;
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  return lines.length ? lines[lines.length - 1] : null;
}

// ---------------------------------------------------------------- template summary

const FAILED = new Set(['E', 'F', 'U', 'Z', 'X', 'W']);

/**
 * The latest ≤ 5,000 ended instances of one template in one workflow, summarised: the most
 * frequent distinct last lines of stdout and stderr (normalised like error patterns) with their
 * counts among failed and successful instances, and what sets failed instances apart.
 */
export async function summarizeTemplateLogs(db: Db, workflowId: number, template: string): Promise<TemplateLogSummary> {
  const rows = await endedInstances(db, await templateArrayIds(db, workflowId, template));
  const stdout = groupLastLines(rows, 'stdout_tail');
  const stderr = groupLastLines(rows, 'stderr_tail');
  const failedRows = rows.filter((r) => FAILED.has(r.status));
  const okRows = rows.filter((r) => !FAILED.has(r.status));

  const onlyFailed = [
    ...stdout.map((g) => ({ stream: 'stdout' as const, ...g })),
    ...stderr.map((g) => ({ stream: 'stderr' as const, ...g })),
  ]
    .filter((g) => g.failed > 0 && g.succeeded === 0)
    .sort((a, b) => b.failed - a.failed)
    .slice(0, 10)
    .map((g) => ({ stream: g.stream, pattern: g.pattern, example: g.example, failed: g.failed }));

  const exitCodes = new Map<string, number>();
  for (const r of failedRows) exitCodes.set(String(r.exit_code), (exitCodes.get(String(r.exit_code)) ?? 0) + 1);
  const nodes = nodeCounts(rows);
  const medians = {
    wall: { succeeded: median(okRows, 'wallclock_s'), failed: median(failedRows, 'wallclock_s') },
    rss: { succeeded: median(okRows, 'maxrss_bytes'), failed: median(failedRows, 'maxrss_bytes') },
  };

  return {
    workflow_id: workflowId,
    template,
    instances: rows.length,
    succeeded: okRows.length,
    failed: failedRows.length,
    stdout_last_lines: stdout,
    stderr_last_lines: stderr,
    differences: {
      only_in_failed: onlyFailed,
      exit_codes_of_failed: [...exitCodes.entries()]
        .map(([code, count]) => ({ exit_code: code === 'null' ? null : Number(code), count }))
        .sort((a, b) => b.count - a.count),
      nodes: [...nodes.entries()]
        .map(([nodename, n]) => ({ nodename, ...n }))
        .sort((a, b) => b.failed - a.failed)
        .slice(0, 20),
      median_wallclock_s: medians.wall,
      median_maxrss_bytes: medians.rss,
      notes: differenceNotes(failedRows.length, okRows.length, medians, nodes, onlyFailed),
    },
  };
}

/** An ended instance as the summary reads it (tails cut to their last 2,000 characters). */
interface EndedInstance {
  id: number;
  status: string;
  exit_code: number | null;
  nodename: string | null;
  wallclock_s: number | null;
  maxrss_bytes: number | null;
  stdout_tail: string | null;
  stderr_tail: string | null;
}
type Medians = Record<'wall' | 'rss', { succeeded: number | null; failed: number | null }>;

/** The arrays of the template in the workflow; 404 naming the workflow or the template when there are none. */
async function templateArrayIds(db: Db, workflowId: number, template: string): Promise<number[]> {
  const { rows: arrays } = await sql<{ id: number }>`
    select a.id from array_ a join task_template_version v on v.id = a.task_template_version_id
      join task_template tt on tt.id = v.task_template_id
     where a.workflow_id = ${workflowId} and tt.name = ${template}`.execute(db);
  if (!arrays.length) {
    const { rows } = await sql`select 1 from workflow where id = ${workflowId}`.execute(db);
    if (!rows.length) throw notFound('workflow', workflowId, 'id');
    throw new JobmonError(
      'not_found',
      `workflow ${workflowId} has no template named ${JSON.stringify(template)}`,
      'template',
      'not_found',
    );
  }
  return arrays.map((a) => a.id);
}

/** The latest ≤ 5,000 ended instances of these arrays, newest first. */
async function endedInstances(db: Db, arrayIds: number[]): Promise<EndedInstance[]> {
  const { rows } = await sql<EndedInstance>`
    select id, status, exit_code, nodename, wallclock_s, maxrss_bytes, right(stdout_tail, 2000) as stdout_tail, right(stderr_tail, 2000) as stderr_tail
      from task_instance
     where array_id = any(${arrayIds}::int[]) and status in ('D','E','F','U','Z','X','W')
     order by id desc limit 5000`.execute(db);
  return rows;
}

/** The 20 most frequent last lines of one stream (by normalised pattern), counted among failed and succeeded. */
function groupLastLines(rows: EndedInstance[], key: 'stdout_tail' | 'stderr_tail'): LastLineGroup[] {
  const groups = new Map<string, LastLineGroup>();
  for (const r of rows) {
    const line = lastLine(r[key]);
    if (line === null) continue;
    const pattern = normalizeMessage(line);
    let g = groups.get(pattern);
    if (!g) {
      g = { pattern, example: line.slice(0, 500), failed: 0, succeeded: 0, example_task_instance_ids: [] };
      groups.set(pattern, g);
    }
    if (FAILED.has(r.status)) g.failed++;
    else g.succeeded++;
    if (g.example_task_instance_ids.length < 3) g.example_task_instance_ids.push(Number(r.id));
  }
  return [...groups.values()].sort((a, b) => b.failed + b.succeeded - (a.failed + a.succeeded)).slice(0, 20);
}

/** Failed and succeeded instances per node. */
function nodeCounts(rows: EndedInstance[]): Map<string, { failed: number; succeeded: number }> {
  const nodes = new Map<string, { failed: number; succeeded: number }>();
  for (const r of rows) {
    if (!r.nodename) continue;
    const n = nodes.get(r.nodename) ?? { failed: 0, succeeded: 0 };
    if (FAILED.has(r.status)) n.failed++;
    else n.succeeded++;
    nodes.set(r.nodename, n);
  }
  return nodes;
}

function median(list: EndedInstance[], k: 'wallclock_s' | 'maxrss_bytes'): number | null {
  return quantile(
    list
      .map((r) => r[k])
      .filter((v): v is number => v !== null)
      .map(Number)
      .sort((a, b) => a - b),
    0.5,
  );
}

/** Plain-language hints from the differences: memory, time, a bad node, lines only failures print. */
function differenceNotes(
  failed: number,
  succeeded: number,
  medians: Medians,
  nodes: Map<string, { failed: number; succeeded: number }>,
  onlyFailed: { example: string }[],
): string[] {
  const notes: string[] = [];
  if (failed === 0) notes.push('no failed instances: nothing to compare');
  if (succeeded === 0 && failed)
    notes.push(
      'no instance of this template succeeded yet: the cause is likely common to all tasks (command, environment, inputs)',
    );
  if (medians.rss.failed !== null && medians.rss.succeeded !== null && medians.rss.failed > 1.5 * medians.rss.succeeded)
    notes.push('failed instances used much more memory than successful ones: suspect out-of-memory kills');
  if (
    medians.wall.failed !== null &&
    medians.wall.succeeded !== null &&
    medians.wall.failed > 1.5 * medians.wall.succeeded
  )
    notes.push('failed instances ran much longer than successful ones: suspect time limits');
  const badNodes = [...nodes.entries()].filter(([, n]) => n.failed >= 2 && n.succeeded === 0);
  if (badNodes.length && nodes.size > badNodes.length)
    notes.push(
      `failures only on node${badNodes.length === 1 ? '' : 's'} ${badNodes.map(([n]) => n).join(', ')}: suspect the node`,
    );
  if (onlyFailed.length)
    notes.push(
      `failed instances end with lines never seen in successful ones (first: ${JSON.stringify(onlyFailed[0].example)})`,
    );
  return notes;
}
