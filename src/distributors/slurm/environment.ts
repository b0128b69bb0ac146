/**
 * The environment a job starts with. Slurm's REST API gives a job exactly the environment in the
 * request, and sbatch is run with exactly this one (`--export=ALL`), so both modes agree:
 *
 * - `propagate` (default): the worker's own environment, so PATH, an activated conda environment
 *   (CONDA_PREFIX, CONDA_DEFAULT_ENV, ...) and the like reach the task, as with sbatch's default;
 *   minus what is the worker's and not the job's (database URL, API token list, the worker's own
 *   SLURM_* variables if it runs inside a job, NODE_OPTIONS of the worker's Node).
 * - `sealed` (container mode): only the variables named in `pass_env`, plus a minimal PATH when
 *   PATH is not among them.
 *
 * Either way the wrapper gets JMT_TOKEN (its batch's job token, never the worker's) and, when the
 * job runs as another user, that user's HOME, USER and LOGNAME.
 */
export const SEALED_DEFAULT_PATH = '/usr/local/bin:/usr/bin:/bin';

const NEVER_PROPAGATED =
  /^(SLURM_|SBATCH_|SRUN_|SALLOC_)|^(DATABASE_URL|PGPASSWORD|JMT_TOKENS|JMT_TOKEN|NODE_OPTIONS|NODE_V8_COVERAGE|VITEST.*|_)$/;

export interface JobIdentity {
  user: string;
  home: string;
}

export function jobEnvironment(opts: {
  mode: 'propagate' | 'sealed';
  passEnv: readonly string[];
  base: NodeJS.ProcessEnv;
  token?: string;
  identity?: JobIdentity;
}): Record<string, string> {
  const env: Record<string, string> = {};
  if (opts.mode === 'propagate') {
    for (const [k, v] of Object.entries(opts.base)) if (v !== undefined && !NEVER_PROPAGATED.test(k)) env[k] = v;
  } else {
    for (const name of opts.passEnv) {
      const v = opts.base[name];
      if (v !== undefined) env[name] = v;
    }
    env.PATH ??= SEALED_DEFAULT_PATH;
  }
  if (opts.identity) {
    env.HOME = opts.identity.home;
    env.USER = opts.identity.user;
    env.LOGNAME = opts.identity.user;
  }
  if (opts.token) env.JMT_TOKEN = opts.token;
  return env;
}
