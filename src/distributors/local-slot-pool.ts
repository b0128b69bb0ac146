/**
 * The queue in front of a laptop's cores: jobs wait in memory until one of `slots` is free, then
 * are started. One pool per worker process and local cluster type (`sharedPool`), so several
 * workflow runs in one worker share the machine instead of each assuming it has all of it.
 *
 * Queued jobs live only in memory: if the worker dies they were never started, and the batch
 * monitor finds them missing and retries them. Started jobs outlive the worker (see local-process.ts).
 */

export interface StartedProcess {
  pid: number;
  /** Settles when the process has exited. */
  exited: Promise<unknown>;
}

export interface LocalJob {
  id: string;
  /** Jobs of one batch share `batchLimit` (the batch's concurrency limit). */
  batchKey: string;
  batchLimit?: number;
  /** Whoever enqueued it, so a closing distributor can withdraw its own queued jobs. */
  owner: object;
  /** Start the process; throws when it cannot be started (the job is then dropped). */
  start(): StartedProcess;
}

/** How often processes adopted from a previous worker are checked for having exited. */
const ADOPTED_POLL_MS = 1_000;

export class LocalSlotPool {
  #slots: number;
  readonly #queue: LocalJob[] = [];
  readonly #running = new Map<string, { pid: number; batchKey: string }>();
  /** Processes started by a previous worker that still run: they hold slots too. */
  readonly #adopted = new Map<string, { pid: number; isAlive: () => boolean }>();
  #pollTimer: NodeJS.Timeout | undefined;

  constructor(slots: number) {
    this.#slots = validSlots(slots);
  }

  get slots(): number {
    return this.#slots;
  }

  setSlots(slots: number): void {
    this.#slots = validSlots(slots);
    this.#pump();
  }

  get occupied(): number {
    let both = 0;
    for (const id of this.#adopted.keys()) if (this.#running.has(id)) both++;
    return this.#running.size + this.#adopted.size - both;
  }

  get queued(): number {
    return this.#queue.length;
  }

  enqueue(jobs: LocalJob[]): void {
    this.#queue.push(...jobs);
    this.#pump();
  }

  isQueued(id: string): boolean {
    return this.#queue.some((j) => j.id === id);
  }

  /** Pid of a job this pool started (or adopted) that has not exited yet. */
  runningPid(id: string): number | undefined {
    return this.#running.get(id)?.pid ?? this.#adopted.get(id)?.pid;
  }

  /** Drop a queued job; false when it is not queued (running, finished or unknown). */
  removeQueued(id: string): boolean {
    const i = this.#queue.findIndex((j) => j.id === id);
    if (i < 0) return false;
    this.#queue.splice(i, 1);
    return true;
  }

  removeQueuedOf(owner: object): number {
    let removed = 0;
    for (let i = this.#queue.length - 1; i >= 0; i--) {
      if (this.#queue[i].owner === owner) {
        this.#queue.splice(i, 1);
        removed++;
      }
    }
    return removed;
  }

  /**
   * Count a live process started by a previous worker against the slots until it exits; without
   * this a restarted worker would start a full set of new jobs next to the old ones.
   */
  adopt(id: string, pid: number, isAlive: () => boolean): void {
    // A running job may be adopted too: the local executor's, when the connection that would have
    // said it ended was lost (it stays counted while isAlive says so).
    if (this.#adopted.has(id)) return;
    this.#adopted.set(id, { pid, isAlive });
    if (!this.#pollTimer) {
      this.#pollTimer = setInterval(() => this.#pollAdopted(), ADOPTED_POLL_MS);
      this.#pollTimer.unref();
    }
  }

  #pollAdopted(): void {
    for (const [id, a] of this.#adopted) if (!a.isAlive()) this.#adopted.delete(id);
    if (this.#adopted.size === 0 && this.#pollTimer) {
      clearInterval(this.#pollTimer);
      this.#pollTimer = undefined;
    }
    this.#pump();
  }

  #pump(): void {
    for (let i = 0; i < this.#queue.length && this.occupied < this.#slots;) {
      const job = this.#queue[i];
      if (job.batchLimit !== undefined && this.#runningInBatch(job.batchKey) >= job.batchLimit) {
        i++;
        continue;
      }
      this.#queue.splice(i, 1);
      let started: StartedProcess;
      try {
        started = job.start();
      } catch {
        continue; // the job's start() recorded why; the monitor will find it lost
      }
      this.#running.set(job.id, { pid: started.pid, batchKey: job.batchKey });
      void started.exited.finally(() => {
        this.#running.delete(job.id);
        this.#pump();
      });
    }
  }

  #runningInBatch(batchKey: string): number {
    let n = 0;
    for (const r of this.#running.values()) if (r.batchKey === batchKey) n++;
    return n;
  }
}

function validSlots(slots: number): number {
  if (!Number.isInteger(slots) || slots < 1) throw new Error(`a local distributor needs at least 1 slot, got ${slots}`);
  return slots;
}

const SHARED_POOLS = new Map<string, LocalSlotPool>();

/** The process-wide pool for `name`; a later call with other slots resizes it (latest config wins). */
export function sharedPool(name: string, slots: number): LocalSlotPool {
  let pool = SHARED_POOLS.get(name);
  if (!pool) SHARED_POOLS.set(name, (pool = new LocalSlotPool(slots)));
  else if (pool.slots !== slots) pool.setSlots(slots);
  return pool;
}
