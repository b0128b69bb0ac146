/**
 * What to do about a batch system's pending reason (Slurm's reason codes, as squeue's %r prints
 * them), for the progress risk that shows it. The reason itself is always shown as Slurm gave it;
 * this only adds the advice a user needs to act on it without reading Slurm's manual.
 */
const ADVICE: [RegExp, string][] = [
  [/^Resources$/, 'no node has the requested cores/memory free right now: wait, or ask for less'],
  [/^Priority$/, 'jobs with a higher priority go first: wait (sprio shows the factors)'],
  [
    /^ReqNodeNotAvail|^NodeDown|^PartitionDown|^PartitionInactive/,
    'the nodes or partition the jobs need are down or drained (sinfo -R says why): ask the cluster admin, or use another queue',
  ],
  [
    /^QOS|^AssocGrp|^AssocMax/,
    'a QOS or account limit holds the jobs: lower the workflow’s concurrency, or ask for a higher limit',
  ],
  [/^JobHeld|^launch_failed/i, 'the jobs are held: `scontrol release <job id>` lets them start'],
  [/^BadConstraints|^ReqNodeNotAvail/, 'no node has the requested features: check `constraints`'],
  [
    /^PartitionTimeLimit|^PartitionNodeLimit/,
    'the request exceeds the partition’s limits: ask for less or use another queue',
  ],
];

export function pendingAdvice(reason: string): string {
  const hit = ADVICE.find(([re]) => re.test(reason));
  return hit ? hit[1] : 'see the batch system’s pending reasons (Slurm: squeue -j <job id> -o %r, and its manual)';
}
