/**
 * What a termination signal to the wrapper means, as the batch system's entry script declared it in
 * the environment (the wrapper itself stays cluster-agnostic):
 *
 * - `JMT_TIME_LIMIT_AT` (Unix seconds): from then on a SIGTERM is the time limit, a resource error
 *   (Z: the retry gets more runtime). Slurm's entry script sets it a few seconds before the job's
 *   limit, because slurmctld's time-limit sweep sends SIGTERM at the limit or up to 30 s later.
 * - `JMT_SIGNAL_ERROR_STATE` (`E`, `U` or `F`): what a signal before that time is. Slurm's entry sets
 *   F: a job cancelled from outside the workflow (scancel) is reported and not retried behind the
 *   operator's back. Unset (local distributors): E, an ordinary retryable error.
 */
export interface SignalVerdict {
  state: 'E' | 'U' | 'F' | 'Z';
  reason: string;
}

export function batchSignalVerdict(env: NodeJS.ProcessEnv, nowMs = Date.now()): SignalVerdict | undefined {
  const limitAt = Number(env.JMT_TIME_LIMIT_AT);
  if (Number.isFinite(limitAt) && limitAt > 0 && nowMs / 1000 >= limitAt) {
    return { state: 'Z', reason: 'the job reached its time limit (resource error: runtime)' };
  }
  const state = env.JMT_SIGNAL_ERROR_STATE;
  if (state === 'E' || state === 'U' || state === 'F') {
    return {
      state,
      reason: env.JMT_SIGNAL_ERROR_REASON || 'the job was signalled by its batch system before its time limit',
    };
  }
  return undefined;
}
