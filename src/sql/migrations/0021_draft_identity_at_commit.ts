/**
 * A draft's keys and node args are checked unique at commit, not by two unique indexes on
 * `bind_draft_task` (issue 18). Kept up to date row by row, the indexes `(draft_id, key)` and
 * `(draft_id, template, node_args_hash)` were half of a chunk's staging cost: at 100,000 tasks,
 * staging took 1.9–2.2 s with them and 0.9–1.2 s without (docs/benchmarks.md, "Bind"). Commit's
 * two hash aggregates over the draft find any repeat in ~0.17 s (sql/bind-dag.ts,
 * `checkStagedIdentity`). Within one chunk, repeats are still refused as the chunk arrives
 * (domain/bind-plan.ts, `planChunk`).
 */
import { type Kysely, sql } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    drop index bind_draft_task_key;
    drop index bind_draft_task_node;
  `.execute(db);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  // Drafts that already hold a repeat would stop the index builds; they are transient, so go.
  await sql`
    delete from bind_draft;
    create unique index bind_draft_task_key on bind_draft_task (draft_id, key);
    create unique index bind_draft_task_node on bind_draft_task (draft_id, template, node_args_hash);
  `.execute(db);
}
