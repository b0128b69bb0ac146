/**
 * slurmrestd with a JWT: submission, array status, cancel, throttle, partitions, nodes and (v0.0.40+
 * with slurmdbd) accounting. The OpenAPI version is chosen from what the server lists at
 * `/openapi/v3` (rest-schema.ts): the highest we both speak, or the configured one if the server
 * offers it. Error shapes as verified on Slurm 22.05 and 24.11 (docs/slurm.md): an unknown job id
 * answers HTTP 500 with error_number 2017; a 500 on submit may still have created a job (its id is
 * then in the body). v0.0.38 has no route for ArrayTaskThrottle, so there it goes through scontrol.
 */
import { OUTPUT_PATTERN, UNKNOWN_JOB, type ArraySubmission, type PartitionInfo, type SlurmBackend } from './backend';
import { decodeWaitStatus, expandOutputPattern, expandTaskString, type SlurmJobRecord } from './job-record';
import type { SlurmSettings } from './settings';
import type { TokenCache } from './token';
import { run } from './commands';
import { redactSecrets } from './redact';
import {
  baseState,
  chooseRestVersion,
  exitOf,
  isCurrentFamily,
  noVal,
  offeredVersions,
  offersSlurmdb,
  setNumber,
  type DbJob4x,
  type RestJob38,
  type RestJob4x,
  type RestVersion,
} from './rest-schema';

/** Slurm's ESLURM_INVALID_JOB_ID. */
const INVALID_JOB_ID = 2017;
const REQUEST_TIMEOUT_MS = 30_000;

interface RestError {
  error?: string;
  error_number?: number;
  error_code?: number;
  description?: string;
}

/** What the server offers, read once from `/openapi/v3`. */
export interface RestServerInfo {
  offered: string[];
  version: RestVersion;
  /** `/slurmdb/<version>/` paths are served (slurmrestd talks to slurmdbd). */
  accounting: boolean;
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
  #server: Promise<RestServerInfo> | undefined;

  constructor(
    private readonly settings: SlurmSettings,
    private readonly tokens: TokenCache,
    private readonly scontrol: string,
  ) {}

  /**
   * The version spoken with this server, chosen once from `/openapi/v3` (as `asUser`: slurmrestd
   * authenticates every path). A failed read is not remembered, so the next call asks again.
   */
  server(asUser: string | undefined): Promise<RestServerInfo> {
    if (!this.#server) {
      this.#server = this.#call('GET', '/openapi/v3', 'OpenAPI description', asUser)
        .then((doc) => {
          const offered = offeredVersions(doc);
          const version = chooseRestVersion(offered, this.settings.restVersion);
          return { offered, version, accounting: isCurrentFamily(version) && offersSlurmdb(doc, version) };
        })
        .catch((err: unknown) => {
          this.#server = undefined;
          throw err;
        });
    }
    return this.#server;
  }

  /** One call as `asUser` (their JWT) to a `/slurm/<version>` route. */
  async #request(method: string, route: string, what: string, asUser: string | undefined, body?: unknown) {
    const { version } = await this.server(asUser);
    return this.#call(method, `/slurm/${version}${route}`, what, asUser, body);
  }

  /** One call as `asUser`; the token travels in a header only, never in a message. */
  async #call(
    method: string,
    route: string,
    what: string,
    asUser: string | undefined,
    body?: unknown,
  ): Promise<Record<string, unknown>> {
    if (asUser === undefined) throw new Error(`slurmrestd ${what}: no account to act as (the jobs' owner is unknown)`);
    for (let attempt = 0; ; attempt++) {
      const res = await fetch(`${this.settings.restUrl}${route}`, {
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
    const { version } = await this.server(s.user);
    const json = await this.#request(
      'POST',
      '/job/submit',
      `submit of ${s.name} as ${s.user}`,
      s.user,
      submitBody(version, s),
    );
    if (typeof json.job_id !== 'number') throw new Error(`slurmrestd accepted ${s.name} but returned no job id`);
    return String(json.job_id);
  }

  async arrayJobs(arrayJobId: string, asUser?: string): Promise<SlurmJobRecord[] | typeof UNKNOWN_JOB> {
    const { version } = await this.server(asUser);
    let json: Record<string, unknown>;
    try {
      json = await this.#request('GET', `/job/${encodeURIComponent(arrayJobId)}`, `status of ${arrayJobId}`, asUser);
    } catch (err) {
      if (err instanceof SlurmRestError && err.invalidJob) return UNKNOWN_JOB;
      throw err;
    }
    const jobs = Array.isArray(json.jobs) ? json.jobs : [];
    return jobs.flatMap((j) => (isCurrentFamily(version) ? recordsOf4x(j as RestJob4x) : recordsOf38(j as RestJob38)));
  }

  /**
   * What slurmdbd recorded about a job or array task (`<array>_<task>`), for jobs slurmctld no
   * longer holds; undefined when the server has no accounting paths or slurmdbd does not know it.
   */
  async accountingRecord(id: string, asUser?: string): Promise<SlurmJobRecord | undefined> {
    const server = await this.server(asUser);
    if (!server.accounting) return undefined;
    let json: Record<string, unknown>;
    try {
      json = await this.#call(
        'GET',
        `/slurmdb/${server.version}/job/${encodeURIComponent(id)}`,
        `accounting of ${id}`,
        asUser,
      );
    } catch (err) {
      if (err instanceof SlurmRestError && (err.invalidJob || err.status === 404)) return undefined;
      throw err;
    }
    const jobs = (Array.isArray(json.jobs) ? json.jobs : []) as DbJob4x[];
    return jobs.map(recordOfDb).find((r) => r.key === id || r.jobId === id);
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

  /**
   * v0.0.40+: `POST /job/{id}` with `array` set to the limit (slurmctld reads an update's array
   * expression of a job array as its new ArrayTaskThrottle), as the array's owner. v0.0.38 has no
   * such route: scontrol (the worker must then be a Slurm client host).
   */
  async setThrottle(arrayJobId: string, limit: number, asUser?: string): Promise<void> {
    const { version } = await this.server(asUser);
    if (isCurrentFamily(version)) {
      await this.#request('POST', `/job/${encodeURIComponent(arrayJobId)}`, `throttle of ${arrayJobId}`, asUser, {
        array: String(limit),
      });
      return;
    }
    await run(this.scontrol, ['update', `JobId=${arrayJobId}`, `ArrayTaskThrottle=${limit}`], { timeoutMs: 15_000 });
  }

  async partition(name: string, asUser?: string): Promise<PartitionInfo | undefined> {
    const { version } = await this.server(asUser);
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
    return isCurrentFamily(version) ? partitionOf4x(name, p) : partitionOf38(name, p);
  }

  async slurmdStartTime(node: string, asUser?: string): Promise<number | undefined> {
    const json = await this.#request('GET', `/node/${encodeURIComponent(node)}`, `node ${node}`, asUser);
    const n = (Array.isArray(json.nodes) ? json.nodes[0] : undefined) as Record<string, unknown> | undefined;
    const t = noVal(n?.slurmd_start_time as number | undefined);
    return t !== undefined && t > 0 ? t : undefined;
  }

  /** Every node with its state flags (for `jmt doctor`). */
  async nodes(asUser?: string): Promise<{ name: string; state: string[] }[]> {
    const json = await this.#request('GET', '/nodes', 'node list', asUser);
    const nodes = (Array.isArray(json.nodes) ? json.nodes : []) as { name?: string; state?: string[] | string }[];
    return nodes.map((n) => ({
      name: n.name ?? '?',
      state: (Array.isArray(n.state) ? n.state : String(n.state ?? 'UNKNOWN').split('+')).map((x) => x.toUpperCase()),
    }));
  }

  /** Slurm's release as the server reports it in `meta` (e.g. "24.11.5"). */
  async release(asUser?: string): Promise<string | undefined> {
    const json = await this.#request('GET', '/ping', 'ping', asUser);
    const meta = json.meta as
      | {
          slurm?: { release?: string; version?: { major?: unknown; minor?: unknown; micro?: unknown } };
          Slurm?: { release?: string };
        }
      | undefined;
    return meta?.slurm?.release ?? meta?.Slurm?.release;
  }
}

/** The submit body of one array, in the version's shape. */
export function submitBody(version: RestVersion, s: ArraySubmission): Record<string, unknown> {
  const current = isCurrentFamily(version);
  const job: Record<string, unknown> = {
    name: s.name,
    partition: s.partition,
    current_working_directory: s.workDir,
    environment: current ? Object.entries(s.env).map(([k, v]) => `${k}=${v}`) : s.env,
    standard_output: s.outputPath ?? `${s.workDir}/${OUTPUT_PATTERN}`,
    standard_error: s.errorPath ?? s.outputPath ?? `${s.workDir}/${OUTPUT_PATTERN}`,
    array: `1-${s.size}${s.throttle ? `%${s.throttle}` : ''}`,
    requeue: false,
  };
  const number = (n: number) => (current ? setNumber(n) : n);
  if (s.memoryMb !== undefined) job.memory_per_node = number(s.memoryMb);
  if (s.timeLimitMin !== undefined) job.time_limit = number(s.timeLimitMin);
  if (s.cpusPerTask !== undefined) job.cpus_per_task = s.cpusPerTask;
  if (s.account) job.account = s.account;
  if (s.qos) job.qos = s.qos;
  if (s.constraints) job.constraints = s.constraints;
  if (current) return { job: { ...job, script: s.script } };
  return { script: s.script, job };
}

type RecordBase = Omit<SlurmJobRecord, 'key' | 'arrayTaskId' | 'stdoutPath' | 'stderrPath'>;

/** Slurm's output and error patterns of a job (`%A_%a.out`, ...), as its REST entry gives them. */
type OutputPatterns = { stdout?: string; stderr?: string };

/** One REST job entry → records: one per array task, the not yet split pending remainder expanded. */
function records(
  base: RecordBase,
  taskId: number | undefined,
  taskString: string | undefined,
  patterns: OutputPatterns,
  name: string | undefined,
): SlurmJobRecord[] {
  const withOutput = (t: number | undefined): SlurmJobRecord => {
    const expand = (p: string | undefined) =>
      p ? expandOutputPattern(p, { ...base, arrayTaskId: t, name }) : undefined;
    const stdoutPath = expand(patterns.stdout);
    const stderrPath = expand(patterns.stderr);
    return {
      ...base,
      key: base.arrayJobId && t !== undefined ? `${base.arrayJobId}_${t}` : base.jobId,
      arrayTaskId: t,
      stdoutPath,
      stderrPath: stderrPath !== stdoutPath ? stderrPath : undefined,
    };
  };
  if (base.arrayJobId && taskId === undefined && taskString) return expandTaskString(taskString).map(withOutput);
  return [withOutput(taskId)];
}

// As scontrol prints it: the description, when there is one, in place of the reason code.
const reasonOf = (j: { state_description?: string; state_reason?: string }): string =>
  j.state_description ? j.state_description.replace(/ /g, '_') : (j.state_reason ?? '');

export function recordsOf38(j: RestJob38): SlurmJobRecord[] {
  const isArray = typeof j.array_job_id === 'number' && j.array_job_id > 0;
  const base: RecordBase = {
    jobId: String(j.job_id),
    arrayJobId: isArray ? String(j.array_job_id) : undefined,
    state: baseState(j.job_state),
    reason: reasonOf(j),
    ...decodeWaitStatus(j.exit_code),
    workDir: j.current_working_directory,
    user: j.user_name,
    throttle: j.array_max_tasks,
    partition: j.partition,
    timeLimitMin: j.time_limit,
    memoryMb: j.memory_per_node,
    batchHost: j.batch_host || undefined,
    nodes: j.nodes || undefined,
    startTime: typeof j.start_time === 'number' && j.start_time > 0 ? j.start_time : undefined,
  };
  const taskId = typeof j.array_task_id === 'number' ? j.array_task_id : undefined;
  return records(base, taskId, j.array_task_string, { stdout: j.standard_output, stderr: j.standard_error }, j.name);
}

export function recordsOf4x(j: RestJob4x): SlurmJobRecord[] {
  const arrayJobId = noVal(j.array_job_id);
  const start = noVal(j.start_time);
  const base: RecordBase = {
    jobId: String(j.job_id),
    arrayJobId: arrayJobId !== undefined && arrayJobId > 0 ? String(arrayJobId) : undefined,
    state: baseState(j.job_state),
    reason: reasonOf(j),
    ...exitOf(j.exit_code),
    workDir: j.current_working_directory,
    user: j.user_name,
    throttle: noVal(j.array_max_tasks),
    partition: j.partition,
    timeLimitMin: noVal(j.time_limit),
    memoryMb: noVal(j.memory_per_node),
    batchHost: j.batch_host || undefined,
    nodes: j.nodes || undefined,
    startTime: start !== undefined && start > 0 ? start : undefined,
  };
  return records(
    base,
    noVal(j.array_task_id),
    j.array_task_string,
    { stdout: j.standard_output, stderr: j.standard_error },
    j.name,
  );
}

/** slurmdbd's record: state, exit, node, elapsed and the batch step's MaxRSS. */
export function recordOfDb(j: DbJob4x): SlurmJobRecord {
  const arrayJobId = j.array?.job_id && j.array.job_id > 0 ? String(j.array.job_id) : undefined;
  const taskId = noVal(j.array?.task_id);
  const key = arrayJobId && taskId !== undefined ? `${arrayJobId}_${taskId}` : String(j.job_id);
  let maxRssBytes: number | undefined;
  for (const step of j.steps ?? []) {
    for (const t of step.tres?.requested?.max ?? []) {
      if (t.type === 'mem' && typeof t.count === 'number') maxRssBytes = Math.max(maxRssBytes ?? 0, t.count);
    }
  }
  const start = j.time?.start;
  return {
    key,
    jobId: String(j.job_id),
    arrayJobId,
    arrayTaskId: arrayJobId ? taskId : undefined,
    state: baseState(j.state?.current),
    reason: j.state?.reason && j.state.reason !== 'None' ? j.state.reason : 'from slurmdbd',
    ...exitOf(j.exit_code),
    workDir: j.working_directory,
    user: j.user,
    partition: j.partition,
    nodes: j.nodes && j.nodes !== 'None assigned' ? j.nodes : undefined,
    batchHost: j.nodes && j.nodes !== 'None assigned' ? j.nodes.split(',')[0] : undefined,
    timeLimitMin: noVal(j.time?.limit),
    memoryMb: noVal(j.required?.memory_per_node),
    startTime: typeof start === 'number' && start > 0 ? start : undefined,
    elapsedS: j.time?.elapsed,
    maxRssMb: maxRssBytes === undefined ? undefined : Math.round((maxRssBytes / 1024 / 1024) * 10) / 10,
    stdoutPath: j.stdout_expanded || undefined,
    stderrPath: j.stderr_expanded && j.stderr_expanded !== j.stdout_expanded ? j.stderr_expanded : undefined,
    fromAccounting: true,
  };
}

export function partitionOf38(name: string, p: Record<string, unknown>): PartitionInfo {
  const pos = (v: unknown): number | undefined => (typeof v === 'number' && v > 0 ? v : undefined);
  return {
    name,
    maxTimeMin: pos(p.max_time_limit),
    maxMemoryMb: pos(p.maximum_memory_per_node),
    totalCpus: pos(p.total_cpus),
    maxCpusPerNode: pos(p.maximum_cpus_per_node),
  };
}

export function partitionOf4x(name: string, p: Record<string, unknown>): PartitionInfo {
  const maximums = (p.maximums ?? {}) as Record<string, unknown>;
  const cpus = (p.cpus ?? {}) as Record<string, unknown>;
  const pos = (v: unknown): number | undefined => {
    const n = noVal(v as number | undefined);
    return n !== undefined && n > 0 ? n : undefined;
  };
  return {
    name,
    maxTimeMin: pos(maximums.time),
    maxMemoryMb: pos(maximums.partition_memory_per_node),
    totalCpus: pos(cpus.total),
    maxCpusPerNode: pos(maximums.cpus_per_node),
  };
}
