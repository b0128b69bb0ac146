/**
 * The `slurm` cluster's `connection_parameters` (the cluster row in Postgres), checked once when the
 * distributor is built. Every key is optional; the defaults fit the one-node cluster that
 * `scripts/slurm-up.sh` starts.
 *
 * ```json
 * { "mode": "rest", "rest_url": "http://127.0.0.1:6820", "user_map": { "alice": "asmith" },
 *   "deny_users": ["backup"], "partition_map": { "all.q": "long" }, "environment": "propagate",
 *   "pass_env": ["PATH"], "jobcomp_log": "/var/lib/jmt-slurm/log/jobcomp.log", "token_lifespan_s": 3600 }
 * ```
 *
 * Who a job runs as is the workflow owner's account (identity.ts): `user_map[owner]`, else the
 * owner's name itself. `user` (the older single job account) maps every owner to one account; it
 * is kept for single-tenant installs and is still subject to the deny rules.
 */
import os from 'node:os';

export type SlurmMode = 'rest' | 'cli';

export interface SlurmSettings {
  /** `rest`: slurmrestd with a JWT (default); `cli`: sbatch/squeue/scontrol/scancel. */
  mode: SlurmMode;
  restUrl: string;
  /**
   * OpenAPI version to speak (v0.0.38, v0.0.40–v0.0.42); undefined: the highest the server lists at
   * `/openapi/v3` that we speak. A configured one is checked against that list.
   */
  restVersion?: string;
  /** Directory holding the Slurm commands to use first (a release's client tools); else PATH. */
  binDir?: string;
  /**
   * API user (workflow owner) → Unix/Slurm account, for owners whose account has another name.
   * Owners not listed run as the account of their own name.
   */
  userMap: Record<string, string>;
  /**
   * Legacy `user`: one account for every owner (single-tenant installs). Undefined: per owner.
   * Never a fallback: when set, `user_map` entries still win, and the deny rules apply to it too.
   */
  sharedUser?: string;
  /** Accounts no job may run as, besides root (uid 0), the worker's own account and SlurmUser. */
  denyUsers: string[];
  /**
   * A personal install (worker, API and jobs all under one person's login): owners may map to the
   * worker's own account. Off by default; root stays denied either way.
   */
  allowWorkerAccount: boolean;
  /**
   * CLI mode: how the worker becomes the owner for sbatch/scancel. `runuser` needs root; `sudo`
   * (`sudo -n -u <user>`) needs a sudoers rule for the worker's account. Default: runuser as root,
   * else sudo.
   */
  switchUser: 'runuser' | 'sudo';
  /** Queue name (the project's) → partition name (Slurm's); unmapped queues are used as is. */
  partitionMap: Record<string, string>;
  /** `propagate`: the worker's environment reaches the job; `sealed`: only `passEnv` names do. */
  environment: 'propagate' | 'sealed';
  passEnv: string[];
  /** Where jobs write Slurm's own output (entry script, memory-kill notices); default under logDir. */
  scriptDir?: string;
  /**
   * slurmd's log as the worker can read it, `%n` = node name (the test cluster's nodes share this
   * machine); when set, a launch failure is reported with slurmd's own message.
   */
  slurmdLog?: string;
  /** jobcomp/filetxt log, the record of jobs slurmctld has purged (no slurmdbd needed). */
  jobcompLog?: string;
  tokenLifespanS: number;
  /** Seconds between full status reads of one array; more frequent asks reuse the last answer. */
  statusCacheS: number;
  /**
   * Node binary the job runs the wrapper with (same path on the compute nodes): `node_bin`, else
   * JMT_SLURM_NODE_BIN, else the services' own. Its start-up cost is most of a short job's overhead:
   * a build without V8's start-up snapshot (Debian's) spends ~30 ms more CPU per job than the
   * nodejs.org build (docs/slurm.md).
   */
  nodeBin: string;
  /** Largest array index Slurm accepts + 1 (slurm.conf MaxArraySize). */
  maxArraySize: number;
}

export class SlurmConfigError extends Error {
  constructor(message: string) {
    super(`slurm cluster configuration: ${message}`);
    this.name = 'SlurmConfigError';
  }
}

const str = (params: Record<string, unknown>, key: string, fallback: string): string => {
  const v = params[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'string' || v.length === 0) throw new SlurmConfigError(`"${key}" must be a non-empty string`);
  return v;
};

const num = (params: Record<string, unknown>, key: string, fallback: number): number => {
  const v = params[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0)
    throw new SlurmConfigError(`"${key}" must be a positive number`);
  return v;
};

const bool = (params: Record<string, unknown>, key: string, fallback: boolean): boolean => {
  const v = params[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'boolean') throw new SlurmConfigError(`"${key}" must be true or false`);
  return v;
};

export function parseSlurmSettings(
  params: Record<string, unknown> = {},
  env: NodeJS.ProcessEnv = process.env,
): SlurmSettings {
  const mode = str(params, 'mode', env.JMT_SLURM_MODE ?? 'rest');
  if (mode !== 'rest' && mode !== 'cli') throw new SlurmConfigError(`"mode" must be "rest" or "cli", not "${mode}"`);
  const environment = str(params, 'environment', 'propagate');
  if (environment !== 'propagate' && environment !== 'sealed') {
    throw new SlurmConfigError(`"environment" must be "propagate" or "sealed", not "${environment}"`);
  }
  const passEnv = params.pass_env ?? [];
  if (!Array.isArray(passEnv) || passEnv.some((n) => typeof n !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(n))) {
    throw new SlurmConfigError('"pass_env" must be a list of environment variable names');
  }
  const partitionMap = params.partition_map ?? {};
  if (
    typeof partitionMap !== 'object' ||
    Array.isArray(partitionMap) ||
    Object.values(partitionMap).some((p) => typeof p !== 'string')
  ) {
    throw new SlurmConfigError('"partition_map" must map queue names to partition names');
  }
  const userMap = params.user_map ?? {};
  if (
    typeof userMap !== 'object' ||
    userMap === null ||
    Array.isArray(userMap) ||
    Object.values(userMap).some((u) => typeof u !== 'string' || u.length === 0)
  ) {
    throw new SlurmConfigError('"user_map" must map API user names to Unix account names');
  }
  const denyUsers = params.deny_users ?? [];
  if (!Array.isArray(denyUsers) || denyUsers.some((u) => typeof u !== 'string' || u.length === 0)) {
    throw new SlurmConfigError('"deny_users" must be a list of Unix account names');
  }
  const currentUser = safeUser();
  const switchUser = str(params, 'switch_user', currentUser === 'root' ? 'runuser' : 'sudo');
  if (switchUser !== 'runuser' && switchUser !== 'sudo') {
    throw new SlurmConfigError(`"switch_user" must be "runuser" or "sudo", not "${switchUser}"`);
  }
  return {
    mode,
    restUrl: str(params, 'rest_url', env.JMT_SLURM_REST_URL ?? 'http://127.0.0.1:6820').replace(/\/+$/, ''),
    restVersion: params.rest_version === undefined ? undefined : str(params, 'rest_version', ''),
    binDir: params.bin_dir === undefined ? env.JMT_SLURM_BIN || undefined : str(params, 'bin_dir', ''),
    userMap: userMap as Record<string, string>,
    sharedUser: params.user === undefined || params.user === null ? undefined : str(params, 'user', ''),
    denyUsers: denyUsers as string[],
    allowWorkerAccount: bool(params, 'allow_worker_account', false),
    switchUser,
    partitionMap: partitionMap as Record<string, string>,
    environment,
    passEnv: passEnv as string[],
    scriptDir: params.script_dir === undefined ? undefined : str(params, 'script_dir', ''),
    slurmdLog: params.slurmd_log === undefined ? env.JMT_SLURM_SLURMD_LOG || undefined : str(params, 'slurmd_log', ''),
    jobcompLog: params.jobcomp_log === undefined ? env.JMT_SLURM_JOBCOMP_LOG : str(params, 'jobcomp_log', ''),
    tokenLifespanS: num(params, 'token_lifespan_s', 3600),
    statusCacheS: num(params, 'status_cache_s', 2),
    nodeBin: str(params, 'node_bin', env.JMT_SLURM_NODE_BIN || process.execPath),
    maxArraySize: num(params, 'max_array_size', 100_001),
  };
}

export function safeUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return String(process.getuid?.() ?? 'unknown');
  }
}
