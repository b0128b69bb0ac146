/**
 * slurmrestd (OpenAPI v0.0.38) with a JWT: submission, array status, cancel, partitions. Field
 * names and error shapes as verified on Slurm 22.05 (docs/slurm.md): `environment` is required and
 * an object; `exit_code` is the raw wait status; an unknown job id answers HTTP 500 with
 * error_number 2017; a 500 on submit may still have created a job (its id is then in the body).
 * ArrayTaskThrottle has no REST route in v0.0.38, so throttle changes go through scontrol.
 */
import { OUTPUT_PATTERN, UNKNOWN_JOB, type ArraySubmission, type PartitionInfo, type SlurmBackend } from './backend';
import { decodeWaitStatus, expandOutputPattern, expandTaskString, type SlurmJobRecord } from './job-record';
import type { SlurmSettings } from './settings';
import type { TokenCache } from './token';
import { run } from './commands';
import { redactSecrets } from './redact';

/** Slurm's ESLURM_INVALID_JOB_ID. */
const INVALID_JOB_ID = 2017;
const REQUEST_TIMEOUT_MS = 30_000;

interface RestError {
  error?: string;
  error_number?: number;
  error_code?: number;
  description?: string;
}
interface RestJob {
  job_id: number;
  array_job_id?: number;
  array_task_id?: number | null;
  array_task_string?: string;
  array_max_tasks?: number;
  job_state?: string;
  state_reason?: string;
  /** Slurm's own words when they say more than the reason code ("launch failed requeued held"). */
  state_description?: string;
  exit_code?: number;
  standard_output?: string;
  current_working_directory?: string;
  user_name?: string;
  name?: string;
  partition?: string;
  time_limit?: number;
  memory_per_node?: number;
  batch_host?: string;
  start_time?: number;
}

export class SlurmRestError extends Error {
  constructor(
    readonly status: number,
    readonly errors: RestError[],
    what: string,
  ) {
    super(
      redactSecrets(
        `slurmrestd ${what}: HTTP ${status} ${errors.map((e) => e.error ?? e.description ?? JSON.stringify(e)).join('; ') || ''}`.trim(),
      ),
    );
    this.name = 'SlurmRestError';
  }
  get invalidJob(): boolean {
    return this.errors.some((e) => (e.error_number ?? e.error_code) === INVALID_JOB_ID);
  }
}

export class SlurmRestBackend implements SlurmBackend {
  readonly mode = 'rest' as const;
  readonly #base: string;

  constructor(
    private readonly settings: SlurmSettings,
    private readonly tokens: TokenCache,
    private readonly scontrol: string,
  ) {
    this.#base = `${settings.restUrl}/slurm/${settings.restVersion}`;
  }

  /** One call as `asUser` (their JWT); the token travels in a header only, never in a message. */
  async #request(
    method: string,
    route: string,
    what: string,
    asUser: string | undefined,
    body?: unknown,
  ): Promise<Record<string, unknown>> {
    if (asUser === undefined) throw new Error(`slurmrestd ${what}: no account to act as (the jobs' owner is unknown)`);
    for (let attempt = 0; ; attempt++) {
      const res = await fetch(`${this.#base}${route}`, {
        method,
        headers: {
          'X-SLURM-USER-NAME': asUser,
          'X-SLURM-USER-TOKEN': await this.tokens.get(asUser),
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      const text = await res.text();
      if (res.status === 401 && attempt === 0) {
        // A token minted before a key change or already expired: mint a new one, once.
        this.tokens.invalidate(asUser);
        continue;
      }
      let json: Record<string, unknown>;
      try {
        json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
      } catch {
        throw new SlurmRestError(res.status, [{ error: redactSecrets(text.slice(0, 300)) }], what);
      }
      const errors = Array.isArray(json.errors) ? (json.errors as RestError[]) : [];
      if (res.status >= 400 || errors.length > 0) {
        // Submit: a refused body may still have made a job record (e.g. BadConstraints).
        if (typeof json.job_id === 'number' && method === 'POST') return json;
        throw new SlurmRestError(res.status, errors, what);
      }
      return json;
    }
  }

  async submitArray(s: ArraySubmission): Promise<string> {
    const job: Record<string, unknown> = {
      name: s.name,
      partition: s.partition,
      current_working_directory: s.workDir,
      environment: s.env,
      standard_output: `${s.workDir}/${OUTPUT_PATTERN}`,
      standard_error: `${s.workDir}/${OUTPUT_PATTERN}`,
      array: `1-${s.size}${s.throttle ? `%${s.throttle}` : ''}`,
      requeue: false,
    };
    if (s.memoryMb !== undefined) job.memory_per_node = s.memoryMb;
    if (s.timeLimitMin !== undefined) job.time_limit = s.timeLimitMin;
    if (s.cpusPerTask !== undefined) job.cpus_per_task = s.cpusPerTask;
    if (s.account) job.account = s.account;
    if (s.qos) job.qos = s.qos;
    if (s.constraints) job.constraints = s.constraints;
    const json = await this.#request('POST', '/job/submit', `submit of ${s.name} as ${s.user}`, s.user, {
      script: s.script,
      job,
    });
    if (typeof json.job_id !== 'number') throw new Error(`slurmrestd accepted ${s.name} but returned no job id`);
    return String(json.job_id);
  }

  async arrayJobs(arrayJobId: string, asUser?: string): Promise<SlurmJobRecord[] | typeof UNKNOWN_JOB> {
    let json: Record<string, unknown>;
    try {
      json = await this.#request('GET', `/job/${encodeURIComponent(arrayJobId)}`, `status of ${arrayJobId}`, asUser);
    } catch (err) {
      if (err instanceof SlurmRestError && err.invalidJob) return UNKNOWN_JOB;
      throw err;
    }
    const jobs = Array.isArray(json.jobs) ? (json.jobs as RestJob[]) : [];
    return jobs.flatMap((j) => recordsOf(j));
  }

  async cancel(ids: string[], asUser?: string): Promise<void> {
    for (const id of ids) {
      try {
        await this.#request('DELETE', `/job/${encodeURIComponent(id)}`, `cancel of ${id}`, asUser);
      } catch (err) {
        if (!(err instanceof SlurmRestError && err.invalidJob)) throw err;
      }
    }
  }

  async setThrottle(arrayJobId: string, limit: number): Promise<void> {
    await run(this.scontrol, ['update', `JobId=${arrayJobId}`, `ArrayTaskThrottle=${limit}`], { timeoutMs: 15_000 });
  }

  async partition(name: string, asUser?: string): Promise<PartitionInfo | undefined> {
    let json: Record<string, unknown>;
    try {
      json = await this.#request('GET', `/partition/${encodeURIComponent(name)}`, `partition ${name}`, asUser);
    } catch (err) {
      if (err instanceof SlurmRestError && err.status < 500) return undefined;
      if (err instanceof SlurmRestError && /invalid partition/i.test(err.message)) return undefined;
      throw err;
    }
    const p = (Array.isArray(json.partitions) ? json.partitions[0] : undefined) as Record<string, unknown> | undefined;
    if (!p) return undefined;
    const pos = (v: unknown): number | undefined => (typeof v === 'number' && v > 0 ? v : undefined);
    return {
      name,
      maxTimeMin: pos(p.max_time_limit),
      maxMemoryMb: pos(p.maximum_memory_per_node),
      totalCpus: pos(p.total_cpus),
      maxCpusPerNode: pos(p.maximum_cpus_per_node),
    };
  }

  async slurmdStartTime(node: string, asUser?: string): Promise<number | undefined> {
    const json = await this.#request('GET', `/node/${encodeURIComponent(node)}`, `node ${node}`, asUser);
    const n = (Array.isArray(json.nodes) ? json.nodes[0] : undefined) as Record<string, unknown> | undefined;
    const t = n?.slurmd_start_time;
    return typeof t === 'number' && t > 0 ? t : undefined;
  }
}

function recordsOf(j: RestJob): SlurmJobRecord[] {
  const isArray = typeof j.array_job_id === 'number' && j.array_job_id > 0;
  const arrayJobId = isArray ? String(j.array_job_id) : undefined;
  const base = {
    jobId: String(j.job_id),
    arrayJobId,
    state: (j.job_state ?? 'UNKNOWN').split(/[ +]/)[0],
    // As scontrol prints it: the description, when there is one, in place of the reason code.
    reason: j.state_description ? j.state_description.replace(/ /g, '_') : (j.state_reason ?? ''),
    ...decodeWaitStatus(j.exit_code),
    workDir: j.current_working_directory,
    user: j.user_name,
    throttle: j.array_max_tasks,
    partition: j.partition,
    timeLimitMin: j.time_limit,
    memoryMb: j.memory_per_node,
    batchHost: j.batch_host || undefined,
    startTime: typeof j.start_time === 'number' && j.start_time > 0 ? j.start_time : undefined,
  };
  const withOutput = (taskId: number | undefined): SlurmJobRecord => ({
    ...base,
    key: arrayJobId && taskId !== undefined ? `${arrayJobId}_${taskId}` : base.jobId,
    arrayTaskId: taskId,
    stdoutPath: j.standard_output
      ? expandOutputPattern(j.standard_output, { ...base, arrayTaskId: taskId, name: j.name })
      : undefined,
  });
  if (isArray && (j.array_task_id === null || j.array_task_id === undefined) && j.array_task_string) {
    // The pending remainder of an array, not yet split into one record per task.
    return expandTaskString(j.array_task_string).map((t) => withOutput(t));
  }
  return [withOutput(typeof j.array_task_id === 'number' ? j.array_task_id : undefined)];
}
