/**
 * The `slurm` cluster's `connection_parameters` (the cluster row in Postgres), checked once when the
 * distributor is built. Every key is optional; the defaults fit the one-node cluster that
 * `scripts/slurm-up.sh` starts.
 *
 * ```json
 * { "mode": "rest", "rest_url": "http://127.0.0.1:6820", "user": "jmtuser",
 *   "partition_map": { "all.q": "long" }, "environment": "propagate", "pass_env": ["PATH"],
 *   "jobcomp_log": "/var/lib/jmt-slurm/log/jobcomp.log", "token_lifespan_s": 3600 }
 * ```
 */
import os from 'node:os';

export type SlurmMode = 'rest' | 'cli';

export interface SlurmSettings {
  /** `rest`: slurmrestd with a JWT (default); `cli`: sbatch/squeue/scontrol/scancel. */
  mode: SlurmMode;
  restUrl: string;
  /** OpenAPI plugin version slurmrestd was started with. */
  restVersion: string;
  /** Who jobs run as. Root may submit for anyone; any other worker only as itself. */
  user: string;
  /** Queue name (the project's) → partition name (Slurm's); unmapped queues are used as is. */
  partitionMap: Record<string, string>;
  /** `propagate`: the worker's environment reaches the job; `sealed`: only `passEnv` names do. */
  environment: 'propagate' | 'sealed';
  passEnv: string[];
  /** Where jobs write Slurm's own output (entry script, memory-kill notices); default under logDir. */
  scriptDir?: string;
  /** jobcomp/filetxt log, the record of jobs slurmctld has purged (no slurmdbd needed). */
  jobcompLog?: string;
  tokenLifespanS: number;
  /** Seconds between full status reads of one array; more frequent asks reuse the last answer. */
  statusCacheS: number;
  /** Node binary the job runs the wrapper with (same path on the compute nodes). */
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
  const currentUser = safeUser();
  return {
    mode,
    restUrl: str(params, 'rest_url', env.JMT_SLURM_REST_URL ?? 'http://127.0.0.1:6820').replace(/\/+$/, ''),
    restVersion: str(params, 'rest_version', 'v0.0.38'),
    // Root submitting as root would run users' commands as root: default to the job user instead.
    user: str(params, 'user', env.JMT_SLURM_USER ?? (currentUser === 'root' ? 'jmtuser' : currentUser)),
    partitionMap: partitionMap as Record<string, string>,
    environment,
    passEnv: passEnv as string[],
    scriptDir: params.script_dir === undefined ? undefined : str(params, 'script_dir', ''),
    jobcompLog: params.jobcomp_log === undefined ? env.JMT_SLURM_JOBCOMP_LOG : str(params, 'jobcomp_log', ''),
    tokenLifespanS: num(params, 'token_lifespan_s', 3600),
    statusCacheS: num(params, 'status_cache_s', 2),
    nodeBin: str(params, 'node_bin', process.execPath),
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
