/**
 * The slurmrestd OpenAPI versions this distributor speaks, typed per version, and the choice among
 * what a server offers. Two families:
 *
 * - v0.0.38 (Slurm 22.05–23.11): plain numbers, `job_state` a string, `exit_code` the raw wait
 *   status, `environment` an object, the script beside `job`.
 * - v0.0.40–v0.0.42 (Slurm 23.11–26.05; 24.11 serves all three): numbers as `{set, infinite,
 *   number}`, `job_state` an array of flags, `exit_code` an object (`return_code`, `signal.id`),
 *   `environment` a list of `NAME=value`, the script inside `job`, job updates (the array throttle)
 *   through `POST /job/{id}`, and slurmdbd under `/slurmdb/<version>/` when accounting is on.
 *
 * The shapes below are the fields we read, as recorded from Slurm 22.05.8 and 24.11.5
 * (test/fixtures/slurm-rest/), not the whole schemas.
 */

export const REST_VERSIONS = ['v0.0.42', 'v0.0.41', 'v0.0.40', 'v0.0.38'] as const;
export type RestVersion = (typeof REST_VERSIONS)[number];
export const isCurrentFamily = (v: RestVersion): boolean => v !== 'v0.0.38';

/** `{set, infinite, number}` (v0.0.40+): the number when set and finite. */
export interface NoVal {
  set?: boolean;
  infinite?: boolean;
  number?: number;
}
export type MaybeNoVal = number | NoVal | null | undefined;

export function noVal(v: MaybeNoVal): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (!v || typeof v !== 'object') return undefined;
  if (v.infinite || v.set === false || typeof v.number !== 'number') return undefined;
  return v.number;
}
export const setNumber = (n: number): NoVal => ({ set: true, infinite: false, number: n });

export interface RestJob38 {
  job_id: number;
  array_job_id?: number;
  array_task_id?: number | null;
  array_task_string?: string;
  array_max_tasks?: number;
  job_state?: string;
  state_reason?: string;
  state_description?: string;
  exit_code?: number;
  standard_output?: string;
  standard_error?: string;
  current_working_directory?: string;
  user_name?: string;
  name?: string;
  partition?: string;
  time_limit?: number;
  memory_per_node?: number;
  batch_host?: string;
  nodes?: string;
  start_time?: number;
}

export interface ExitCode4x {
  status?: string[] | string;
  return_code?: MaybeNoVal;
  signal?: { id?: MaybeNoVal; name?: string };
}

export interface RestJob4x {
  job_id: number;
  array_job_id?: MaybeNoVal;
  array_task_id?: MaybeNoVal;
  array_task_string?: string;
  array_max_tasks?: MaybeNoVal;
  job_state?: string[] | string;
  state_reason?: string;
  state_description?: string;
  exit_code?: ExitCode4x;
  standard_output?: string;
  standard_error?: string;
  current_working_directory?: string;
  user_name?: string;
  name?: string;
  partition?: string;
  time_limit?: MaybeNoVal;
  memory_per_node?: MaybeNoVal;
  batch_host?: string;
  nodes?: string;
  start_time?: MaybeNoVal;
}

/** One job as slurmdbd keeps it (`GET /slurmdb/v0.0.4x/job/{id}`), the fields we read. */
export interface DbJob4x {
  job_id: number;
  name?: string;
  user?: string;
  partition?: string;
  nodes?: string;
  working_directory?: string;
  stdout_expanded?: string;
  stdout?: string;
  /** '' when stderr went to the stdout file. */
  stderr_expanded?: string;
  array?: { job_id?: number; task_id?: MaybeNoVal; task?: string };
  state?: { current?: string[] | string; reason?: string };
  exit_code?: ExitCode4x;
  time?: { elapsed?: number; start?: number; end?: number; limit?: MaybeNoVal };
  required?: { memory_per_node?: MaybeNoVal; memory_per_cpu?: MaybeNoVal };
  steps?: {
    step?: { id?: string | { job_id?: number; step_id?: string | number }; name?: string };
    tres?: { requested?: { max?: { type?: string; count?: number }[] } };
  }[];
}

/** The first state flag (`["FAILED", "REQUEUED"]` → FAILED; "COMPLETED+" → COMPLETED). */
export function baseState(s: string[] | string | undefined): string {
  const first = Array.isArray(s) ? s[0] : s;
  return (first ?? 'UNKNOWN').split(/[ +]/)[0] || 'UNKNOWN';
}

/** Exit code and signal of a v0.0.4x `exit_code` object. */
export function exitOf(e: ExitCode4x | undefined): { exitCode?: number; signal?: number } {
  if (!e) return {};
  const signal = noVal(e.signal?.id);
  return { exitCode: noVal(e.return_code), signal: signal === undefined ? undefined : signal };
}

/** Versions a server lists at `/openapi/v3` (path prefixes `/slurm/<v>/`). */
export function offeredVersions(openapi: unknown): string[] {
  const paths = (openapi as { paths?: Record<string, unknown> } | null)?.paths ?? {};
  const found = new Set<string>();
  for (const p of Object.keys(paths)) {
    const m = /^\/slurm\/(v\d+\.\d+\.\d+)\//.exec(p);
    if (m) found.add(m[1]);
  }
  return [...found].sort(compareVersions).reverse();
}

/** Accounting paths are offered (slurmrestd loaded the slurmdbd plugins) for this version. */
export const offersSlurmdb = (openapi: unknown, version: string): boolean =>
  Object.keys((openapi as { paths?: Record<string, unknown> } | null)?.paths ?? {}).some((p) =>
    p.startsWith(`/slurmdb/${version}/job/`),
  );

function compareVersions(a: string, b: string): number {
  const pa = a.slice(1).split('.').map(Number);
  const pb = b.slice(1).split('.').map(Number);
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return pa[i] - pb[i];
  return 0;
}

export class RestVersionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RestVersionError';
  }
}

/**
 * The version to speak: the configured one when the server offers it and we speak it, else the
 * highest both sides have. One line naming both sets when there is none.
 */
export function chooseRestVersion(offered: string[], configured?: string): RestVersion {
  const ours = REST_VERSIONS as readonly string[];
  const list = (vs: readonly string[]) => (vs.length ? vs.join(', ') : 'none');
  if (configured !== undefined) {
    if (!ours.includes(configured))
      throw new RestVersionError(
        `rest_version ${configured} is not one this worker speaks (${list(ours)}); the server offers ${list(offered)}`,
      );
    if (!offered.includes(configured))
      throw new RestVersionError(
        `rest_version ${configured} is not offered by slurmrestd (it offers ${list(offered)}); remove rest_version to pick the highest common one`,
      );
    return configured as RestVersion;
  }
  const common = REST_VERSIONS.find((v) => offered.includes(v));
  if (!common)
    throw new RestVersionError(
      `slurmrestd offers OpenAPI ${list(offered)}; this worker speaks ${list(ours)}: no version in common (use "mode": "cli", or a Slurm release serving one of ours)`,
    );
  return common;
}
