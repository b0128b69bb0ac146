/**
 * Heartbeats of many task instances written together.
 *
 * Why: 10,000 running instances heartbeating every 10 s are 1,000 requests a second; one UPDATE
 * each costs a Postgres round trip and ~0.5 ms of its CPU. Heartbeats arriving within a few
 * milliseconds of each other are instead written by one `update ... from unnest(ids)`, which costs
 * little more than one of them. Each caller still gets its own instance's status back (the wrapper
 * obeys K), and a heartbeat is answered only after it is written, as before.
 *
 * The first heartbeat of a quiet period is written at once (no added latency when there is no
 * load); while a write is in flight, the next ones gather and go out together when it returns.
 */
import { sql } from 'kysely';
import type { TaskInstanceStatus } from '../domain/statuses';
import type { Db } from './db';

type Waiter = { resolve: (s: TaskInstanceStatus | undefined) => void; reject: (err: unknown) => void };

/** Most instances in one statement (keeps the statement and its lock set small). */
const MAX_PER_WRITE = 2_000;

export class HeartbeatWriter {
  #pending = new Map<number, Waiter[]>();
  #writing = false;

  constructor(
    private readonly db: Db,
    private readonly reportBySeconds: number,
  ) {}

  /** Record a heartbeat; resolves to the instance's status (undefined: no such instance). */
  beat(taskInstanceId: number): Promise<TaskInstanceStatus | undefined> {
    return new Promise((resolve, reject) => {
      const waiters = this.#pending.get(taskInstanceId);
      if (waiters) waiters.push({ resolve, reject });
      else this.#pending.set(taskInstanceId, [{ resolve, reject }]);
      if (!this.#writing) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#pending.size > 0) {
        const batch = new Map<number, Waiter[]>();
        for (const [id, waiters] of this.#pending) {
          if (batch.size >= MAX_PER_WRITE) break;
          batch.set(id, waiters);
        }
        for (const id of batch.keys()) this.#pending.delete(id);
        try {
          const statuses = await writeHeartbeats(this.db, [...batch.keys()], this.reportBySeconds);
          for (const [id, waiters] of batch) for (const w of waiters) w.resolve(statuses.get(id));
        } catch (err) {
          for (const waiters of batch.values()) for (const w of waiters) w.reject(err);
        }
      }
    } finally {
      this.#writing = false;
    }
  }
}

/**
 * One statement for many heartbeats: push report_by forward for live instances (a heartbeat from an
 * instance being triaged proves it alive again: Jobmon's T → R) and return every instance's status,
 * written or not (an instance already ended or killed answers with that status).
 */
export async function writeHeartbeats(
  db: Db,
  ids: number[],
  reportBySeconds: number,
): Promise<Map<number, TaskInstanceStatus>> {
  const { rows } = await sql<{ id: number; status: TaskInstanceStatus }>`
    with beat as (
      update task_instance
         set report_by_date = now() + make_interval(secs => ${reportBySeconds}),
             status = case when status = 'T' then 'R' else status end
       where id = any(${ids}::bigint[]) and status in ('R', 'T', 'O', 'I', 'Q')
       returning id, status
    )
    select id, status from beat
    union all
    select id, status from task_instance
     where id = any(${ids}::bigint[]) and id not in (select id from beat)`.execute(db);
  return new Map(rows.map((r) => [Number(r.id), r.status]));
}
