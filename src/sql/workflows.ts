/**
 * Small reads of one workflow row that the control operations and the operator routes need before
 * they act: whether it exists, who owns it, and the names a run is labelled with in Temporal.
 * Each answers undefined/false for an unknown id; the caller says how that is a 404.
 */
import type { Db } from './db';

export async function workflowExists(db: Db, workflowId: number): Promise<boolean> {
  const row = await db.selectFrom('workflow').select('id').where('id', '=', workflowId).executeTakeFirst();
  return row !== undefined;
}

/** The user who bound the workflow. */
export async function workflowOwner(db: Db, workflowId: number): Promise<string | undefined> {
  const row = await db.selectFrom('workflow').select('user').where('id', '=', workflowId).executeTakeFirst();
  return row?.user;
}

/** The workflow's name and its tool's name (search attributes of its runs). */
export async function workflowLabels(
  db: Db,
  workflowId: number,
): Promise<{ id: number; name: string; tool: string } | undefined> {
  return db
    .selectFrom('workflow')
    .innerJoin('tool_version', 'tool_version.id', 'workflow.tool_version_id')
    .innerJoin('tool', 'tool.id', 'tool_version.tool_id')
    .select(['workflow.id', 'workflow.name', 'tool.name as tool'])
    .where('workflow.id', '=', workflowId)
    .executeTakeFirst();
}
