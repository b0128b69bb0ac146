/**
 * The bash script every array task runs: map SLURM_ARRAY_TASK_ID to its task instance (the mapping
 * is in the script, so nothing has to be looked up at start) and exec the worker-node wrapper with
 * `--distributor-id <array job>_<task>`, the id the monitor recorded at submission.
 *
 * It also tells the wrapper what a termination signal means here (src/worker-node/batch-signal.ts):
 * at or after the time limit it is the limit (resource error Z); before it, a cancel from outside
 * the workflow (F: reported, not retried) — unless slurmstepd wrote in the job's stderr, just before
 * the signal, that Slurm itself ended the job (requeue, preemption, node failure, time limit).
 * Slurm's time-limit sweep signals between the limit and 30 s after it; the 5 s margin covers the
 * script starting a moment after Slurm's start time.
 */
const TIME_LIMIT_MARGIN_S = 5;

export interface EntryScriptSpec {
  batchId: number;
  chunk: number;
  /** Task instance id of array index i + 1. */
  taskInstanceIds: number[];
  nodeBin: string;
  wrapperPath: string;
  apiUrl: string;
  /** The job's time limit in seconds as Slurm enforces it (whole minutes), if one is set. */
  timeLimitS?: number;
}

export const CANCEL_REASON =
  'the job was cancelled from outside the workflow (scancel or a REST DELETE): reported, not retried';

/** Single-quote for bash. */
export const shq = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

export function entryScript(spec: EntryScriptSpec): string {
  const ids = spec.taskInstanceIds.map(String);
  // 20 ids per line keeps a 500-task script readable in `scontrol write batch_script`.
  const rows: string[] = [];
  for (let i = 0; i < ids.length; i += 20) rows.push(`  ${ids.slice(i, i + 20).join(' ')}`);
  const limit =
    spec.timeLimitS === undefined
      ? ''
      : `export JMT_TIME_LIMIT_AT=$(( $(date +%s) + ${spec.timeLimitS} - ${TIME_LIMIT_MARGIN_S} ))\n`;
  return `#!/bin/bash
# jobmon-temporal batch ${spec.batchId}, array chunk ${spec.chunk}: array task i runs task instance ids[i].
ids=(0
${rows.join('\n')}
)
i=\${SLURM_ARRAY_TASK_ID:?jobmon-temporal: not an array task}
ti=\${ids[$i]:-}
if [[ -z $ti || $ti == 0 ]]; then
  echo "jobmon-temporal: array task $i of job \${SLURM_ARRAY_JOB_ID:-?} has no task instance" >&2
  exit 64
fi
${limit}export JMT_SIGNAL_ERROR_STATE=F
export JMT_SIGNAL_ERROR_REASON=${shq(CANCEL_REASON)}
export JMT_SIGNAL_BANNER_FILE=$(readlink /proc/$$/fd/2 2>/dev/null)
exec ${shq(spec.nodeBin)} ${shq(spec.wrapperPath)} --task-instance-id "$ti" --api-url ${shq(spec.apiUrl)} --distributor-id "\${SLURM_ARRAY_JOB_ID}_$i"
`;
}
