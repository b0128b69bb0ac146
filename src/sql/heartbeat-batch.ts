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
 *
 * A heartbeat names its job (`distributor_id`), as `running` does: one for an instance that
 * belongs to another job is refused (409 `wrong_job`) and keeps nothing alive.
 */
import { sql } from 'kysely';
import { conflict } from '../domain/errors';
import type { TaskInstanceStatus } from '../domain/statuses';
import type { Db } from './db';

type Waiter = { resolve: (s: TaskInstanceStatus | undefined) => void; reject: (err: unknown) => void };
/** Waiters of one instance, by the job they named ('' = none named: an admin's manual heartbeat). */
type ByJob = Map<string, Waiter[]>;

/** Most instances in one statement (keeps the statement and its lock set small). */
const MAX_PER_WRITE = 2_000;

export class HeartbeatWriter {
  #pending = new Map<number, ByJob>();
  #writing = false;

  constructor(
    private readonly db: Db,
    private readonly reportBySeconds: number,
  ) {}

  /** Record a heartbeat; resolves to the instance's status (undefined: no such instance). */
  beat(taskInstanceId: number, distributorId?: string): Promise<TaskInstanceStatus | undefined> {
    return new Promise((resolve, reject) => {
      let byJob = this.#pending.get(taskInstanceId);
      if (!byJob) this.#pending.set(taskInstanceId, (byJob = new Map()));
      const job = distributorId ?? '';
      const waiters = byJob.get(job);
      if (waiters) waiters.push({ resolve, reject });
      else byJob.set(job, [{ resolve, reject }]);
      if (!this.#writing) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#pending.size > 0) await this.#writeOne();
    } finally {
      this.#writing = false;
    }
  }

  /** One statement: each instance once, with one of the jobs that named it (others wait a round). */
  async #writeOne(): Promise<void> {
    const batch: { id: number; job: string; waiters: Waiter[] }[] = [];
    for (const [id, byJob] of this.#pending) {
      if (batch.length >= MAX_PER_WRITE) break;
      const [job, waiters] = byJob.entries().next().value as [string, Waiter[]];
      batch.push({ id, job, waiters });
      byJob.delete(job);
      if (byJob.size === 0) this.#pending.delete(id);
    }
    try {
      const results = await writeJobHeartbeats(
        this.db,
        batch.map((b) => ({ id: b.id, distributorId: b.job || null })),
        this.reportBySeconds,
      );
      for (const { id, job, waiters } of batch) {
        const r = results.get(id);
        const wrongJob = r && !r.written && job !== '' && r.distributorId !== null && r.distributorId !== job;
        for (const w of waiters) {
          if (wrongJob) {
            w.reject(conflict(`task instance ${id} belongs to job ${r.distributorId}, not ${job}`, 'wrong_job'));
          } else w.resolve(r?.status);
        }
      }
    } catch (err) {
      for (const b of batch) for (const w of b.waiters) w.reject(err);
    }
  }
}

/** Heartbeats by id, any job (an admin's manual repair, tests). */
export async function writeHeartbeats(
  db: Db,
  ids: number[],
  reportBySeconds: number,
): Promise<Map<number, TaskInstanceStatus>> {
  const results = await writeJobHeartbeats(
    db,
    ids.map((id) => ({ id, distributorId: null })),
    reportBySeconds,
  );
  return new Map([...results].map(([id, r]) => [id, r.status]));
}

export interface HeartbeatResult {
  status: TaskInstanceStatus;
  written: boolean;
  /** The instance's job, for an instance not written (to tell a wrong job from an ended instance). */
  distributorId: string | null;
}

/**
 * One statement for many heartbeats: push report_by forward for live instances of the job that
 * names them (a heartbeat from an instance being triaged proves it alive again: Jobmon's T → R)
 * and return every instance's status, written or not (an instance already ended or killed answers
 * with that status). `distributorId: null` matches any job; an instance not yet given a job
 * (before `running`) matches every heartbeat, as `running` itself accepts it.
 */
export async function writeJobHeartbeats(
  db: Db,
  beats: readonly { id: number; distributorId: string | null }[],
  reportBySeconds: number,
): Promise<Map<number, HeartbeatResult>> {
  const ids = beats.map((b) => b.id);
  const jobs = beats.map((b) => b.distributorId);
  const { rows } = await sql<{
    id: number;
    status: TaskInstanceStatus;
    written: boolean;
    distributor_id: string | null;
  }>`
    with beat as (
      update task_instance ti
         set report_by_date = now() + make_interval(secs => ${reportBySeconds}),
             status = case when ti.status = 'T' then 'R' else ti.status end
        from unnest(${ids}::bigint[], ${jobs}::text[]) as u(id, job)
       where ti.id = u.id and ti.status in ('R', 'T', 'O', 'I', 'Q')
         and (u.job is null or ti.distributor_id is null or ti.distributor_id = u.job)
       returning ti.id, ti.status
    )
    select id, status, true as written, null::text as distributor_id from beat
    union all
    select id, status, false, distributor_id from task_instance
     where id = any(${ids}::bigint[]) and id not in (select id from beat)`.execute(db);
  return new Map(
    rows.map((r) => [Number(r.id), { status: r.status, written: r.written, distributorId: r.distributor_id }]),
  );
}
