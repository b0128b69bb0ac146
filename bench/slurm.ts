/**
 * `npm run bench:slurm`: the Slurm path on this machine's Slurm (default 24.11, two nodes; `npm run
 * slurm:up` must have run; root). Not a test: figures are printed and saved as JSON under
 * bench/results/. Scheduler load is measured with sdiag (reset before each part): the RPCs
 * slurmctld served per task, by message type and by user, for the project and for the hand-made
 * array on the same slots (`--oversubscribe N` sets the debug partition's OverSubscribe=FORCE:N for
 * the run and puts it back afterwards; default 8: 32 slots on 2 nodes × 2 CPUs).
 *
 *  1. project: 1,000 `true` tasks of one template through the project (Temporal + Postgres + the
 *     slurm distributor, REST mode): two job arrays of 500; bind s, run s, tasks/s, submit ms.
 *  1b. official-node: the same through the project with the jobs running this process's Node (the
 *     nodejs.org build, copied under /tmp) instead of the compute root's Debian build (no V8
 *     start-up snapshot): how much of the gap is the job's Node start (docs/slurm.md).
 *  2. hand: the same 1,000 `true` as one `sbatch --array=1-1000 --wrap true` as the job user, until
 *     slurmctld lists none of them pending or running; ratio project / hand.
 *  3. submission cost: N single jobs through slurmrestd (one keep-alive connection) vs N sbatch runs.
 *
 *   node dist/bench/slurm.js [--tasks 1000] [--submissions 100] [--parts project,official-node,hand,submission]
 *                            [--if-available]
 *
 * --if-available (how `npm run bench` runs it, between the other benchmarks): not root → print a
 * note and exit 0; Slurm not answering → bring it up with scripts/slurm-up.sh, and stop it again
 * afterwards (scripts/slurm-down.sh); bring-up failing → print a note and exit 0. Without the flag
 * Slurm must already be up (`npm run bench:slurm`, unchanged).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { Tool } from '../src/client';
import { projectRoot } from '../src/config';
import { startStack } from './environment';
import { round, until } from './support';
import { submitBody } from '../src/distributors/slurm/rest-backend';
import { chooseRestVersion, offeredVersions } from '../src/distributors/slurm/rest-schema';

const STATE = process.env.JMT_SLURM_STATE ?? '/var/lib/jmt-slurm';
const DEFAULT_BIN = path.join(STATE, '24.11', 'bin');

/**
 * What slurm-up wrote for clients of the release (JMT_SLURM_BIN, _REST_URL, _SLURMD_LOG, ...), for
 * the services process: without it the 24.11 worker looked for `scontrol` on the host's PATH (there
 * is none: 24.11's commands run in its root), could not mint a token, and every submission failed —
 * the project run that "ended E" on 24.11.
 */
function slurmClientEnv(): Record<string, string> {
  const file = path.join(STATE, process.env.SLURM_RELEASE ?? '24.11', 'env');
  const vars: Record<string, string> = {};
  if (!existsSync(file)) return vars;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^(JMT_SLURM_[A-Z_]+)="?(.*?)"?$/.exec(line.trim());
    if (m) vars[m[1]] = m[2];
  }
  return vars;
}

const JOB_USER = process.env.JMT_SLURM_JOB_USER ?? 'jmtuser';
/** Slurm 24.11's commands run in its root (scripts/slurm-up-24.11.sh); else the host's. */
const BIN_DIR = process.env.JMT_SLURM_BIN ?? (existsSync(DEFAULT_BIN) ? DEFAULT_BIN : '');
const bin = (name: string): string => (BIN_DIR ? path.join(BIN_DIR, name) : name);
const REST_BASE = process.env.JMT_SLURM_REST_URL ?? 'http://127.0.0.1:6820';
const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const token = (): string =>
  execFileSync(bin('scontrol'), ['token', `username=${JOB_USER}`, 'lifespan=3600'], { encoding: 'utf8' })
    .trim()
    .replace(/^SLURM_JWT=/, '');

/** Array tasks of these jobs still pending/running (plain squeue lists only those). */
const activeCount = (ids: string[]): number => {
  try {
    const out = execFileSync(bin('squeue'), ['-h', '-r', '-j', ids.join(','), '-o', '%i'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return out.trim() ? out.trim().split('\n').length : 0;
  } catch {
    return 0; // every id purged or finished
  }
};

interface RpcCount {
  message_type?: string;
  user?: string;
  count: number;
}
/** slurmctld's RPC counters since the last reset, as `sdiag --json` has them (24.11). */
function sdiagCounts(): { byType: Record<string, number>; byUser: Record<string, number>; total: number } {
  const stats = (
    JSON.parse(execFileSync(bin('sdiag'), ['--json'], { encoding: 'utf8' })) as {
      statistics: { rpcs_by_message_type?: RpcCount[]; rpcs_by_user?: RpcCount[] };
    }
  ).statistics;
  const byType = Object.fromEntries(
    (stats.rpcs_by_message_type ?? []).filter((r) => r.count > 0).map((r) => [r.message_type ?? '?', r.count]),
  );
  const byUser = Object.fromEntries((stats.rpcs_by_user ?? []).map((r) => [r.user ?? '?', r.count]));
  return { byType, byUser, total: Object.values(byType).reduce((a, b) => a + b, 0) };
}

/** The RPCs slurmctld served while `body` ran (sdiag reset first), per task. */
async function withRpcs<T>(
  tasks: number,
  body: () => Promise<T>,
): Promise<T & { rpcs: ReturnType<typeof rpcSummary> }> {
  execFileSync(bin('sdiag'), ['--reset']);
  const out = await body();
  return { ...out, rpcs: rpcSummary(sdiagCounts(), tasks) };
}

function rpcSummary(c: ReturnType<typeof sdiagCounts>, tasks: number) {
  const jobUser = c.byUser[JOB_USER] ?? 0;
  return {
    total: c.total,
    perTask: round(c.total / tasks, 2),
    // What the submitter asked (submit, status reads, cancels) as opposed to slurmd's own traffic.
    byJobUser: jobUser,
    byJobUserPerTask: round(jobUser / tasks, 3),
    byUser: c.byUser,
    byType: c.byType,
  };
}

/** The Node a job runs the wrapper with, asked on a compute node as the job user. */
function jobNode(nodeBin: string): { bin: string; version?: string; startupSnapshot?: boolean } {
  const probe = 'console.log(JSON.stringify([process.version, process.config.variables.node_use_node_snapshot]))';
  try {
    const out = execFileSync(
      bin('runuser'),
      ['-u', JOB_USER, '--', bin('srun'), '-p', 'debug', '-n1', '-t', '1', '--chdir=/tmp', nodeBin, '-e', probe],
      { encoding: 'utf8', timeout: 120_000, stdio: ['ignore', 'pipe', 'ignore'] },
    );
    const [version, snapshot] = JSON.parse(out.trim().split('\n').pop() ?? '[]') as [string, boolean];
    return { bin: nodeBin, version, startupSnapshot: snapshot };
  } catch {
    return { bin: nodeBin };
  }
}

/**
 * This process's Node binary (the nodejs.org build here) copied to a directory the compute nodes
 * see at the same path (/tmp is shared with the 24.11 root), so jobs can run it instead of the
 * root's own Debian build. Removed by the caller.
 */
function officialNodeCopy(): { nodeBin: string; dir: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'jmt-bench-node-'));
  chmodSync(dir, 0o755);
  const nodeBin = path.join(dir, 'node');
  copyFileSync(process.execPath, nodeBin);
  chmodSync(nodeBin, 0o755);
  return { nodeBin, dir };
}

async function projectRun(tasks: number, nodeBin?: string) {
  const env = { ...slurmClientEnv(), ...(nodeBin ? { JMT_SLURM_NODE_BIN: nodeBin } : {}) };
  const stack = await startStack('slurm', { homeMode: 0o755, env });
  try {
    const { config, databaseUrl } = stack;
    const tool = new Tool('bench-slurm', { config, stderr: { write: () => true } });
    const tt = tool.getTaskTemplate({ templateName: 'true', commandTemplate: 'true {i}', nodeArgs: ['i'] });
    const wf = tool.createWorkflow({
      workflowArgs: `bench-slurm-${tasks}`,
      defaultClusterName: 'slurm',
      defaultComputeResources: { queue: 'debug', memory: '100M', runtime: '10m' },
    });
    wf.addTasks(Array.from({ length: tasks }, (_, i) => tt.createTask({ i })));
    const b0 = performance.now();
    const workflowId = await wf.bind();
    const bindSeconds = (performance.now() - b0) / 1000;
    const r0 = performance.now();
    const status = await wf.run({ progress: false, pollIntervalMs: 200 });
    const runSeconds = (performance.now() - r0) / 1000;
    const db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    const batches = await db.query<{ ms: number; size: number; distributor_array_id: string }>(
      `select extract(epoch from submitted_date - created_date) * 1000 as ms, size, distributor_array_id from task_batch where workflow_id = $1 order by id`,
      [workflowId],
    );
    const perInstance = await db.query<{ n: number }>(
      `select count(*)::int as n from task_instance where workflow_id = $1`,
      [workflowId],
    );
    await db.end();
    return {
      tasks,
      status,
      bindSeconds: round(bindSeconds),
      runSeconds: round(runSeconds),
      tasksPerSecond: round(tasks / runSeconds, 1),
      instances: perInstance.rows[0].n,
      arrays: batches.rows.map((b) => ({ id: b.distributor_array_id, size: b.size, submitMs: round(Number(b.ms), 0) })),
    };
  } finally {
    await stack.close();
  }
}

async function byHand(tasks: number) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'jmt-bench-hand-'));
  chmodSync(dir, 0o1777);
  const t0 = performance.now();
  const id = execFileSync(
    bin('runuser'),
    [
      '-u',
      JOB_USER,
      '--',
      bin('sbatch'),
      '--parsable',
      '--no-requeue',
      '-p',
      'debug',
      '--mem=100M',
      '--time=10',
      `--chdir=${dir}`,
      '-o',
      '/dev/null',
      `--array=1-${tasks}`,
      '--wrap',
      'true',
    ],
    { encoding: 'utf8' },
  ).trim();
  const submitMs = performance.now() - t0;
  await until('the hand-submitted array to finish', () => activeCount([id]) === 0, 900_000, 250);
  const seconds = (performance.now() - t0) / 1000;
  rmSync(dir, { recursive: true, force: true });
  return {
    tasks,
    arrayJobId: id,
    submitMs: round(submitMs, 1),
    runSeconds: round(seconds),
    tasksPerSecond: round(tasks / seconds, 1),
  };
}

async function submissionCost(n: number) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'jmt-bench-submit-'));
  chmodSync(dir, 0o1777);
  const jwt = token();
  const headers = { 'X-SLURM-USER-NAME': JOB_USER, 'X-SLURM-USER-TOKEN': jwt, 'Content-Type': 'application/json' };
  const ids: string[] = [];
  const version = chooseRestVersion(
    offeredVersions(await (await fetch(`${REST_BASE}/openapi/v3`, { headers })).json()),
  );
  const r0 = performance.now();
  for (let i = 0; i < n; i++) {
    const body = submitBody(version, {
      user: JOB_USER,
      name: 'bench-rest',
      partition: 'debug',
      script: '#!/bin/bash\ntrue\n',
      workDir: dir,
      size: 1,
      memoryMb: 100,
      timeLimitMin: 5,
      env: { PATH: '/usr/bin:/bin' },
    });
    // One plain job, not an array of one; its output nowhere.
    const job = (body.job ?? body) as Record<string, unknown>;
    delete job.array;
    job.standard_output = job.standard_error = '/dev/null';
    const res = await fetch(`${REST_BASE}/slurm/${version}/job/submit`, {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
    });
    ids.push(String(((await res.json()) as { job_id: number }).job_id));
  }
  const restMs = (performance.now() - r0) / n;
  const s0 = performance.now();
  for (let i = 0; i < n; i++) {
    ids.push(
      execFileSync(
        bin('runuser'),
        [
          '-u',
          JOB_USER,
          '--',
          bin('sbatch'),
          '--parsable',
          '--no-requeue',
          '-p',
          'debug',
          '--mem=100M',
          '--time=5',
          `--chdir=${dir}`,
          '-o',
          '/dev/null',
          '--wrap',
          'true',
        ],
        { encoding: 'utf8' },
      ).trim(),
    );
  }
  const sbatchMs = (performance.now() - s0) / n;
  await until('the single jobs to finish', () => activeCount(ids) === 0, 600_000, 500);
  rmSync(dir, { recursive: true, force: true });
  return {
    jobs: n,
    restMsPerJob: round(restMs),
    sbatchMsPerJob: round(sbatchMs),
    sbatchOverRest: round(sbatchMs / restMs, 1),
  };
}

/** slurmctld answers and the node can run jobs. */
function slurmAnswers(): boolean {
  try {
    return /idle|mix|alloc/.test(execFileSync(bin('sinfo'), ['-h', '-o', '%t'], { encoding: 'utf8', timeout: 10_000 }));
  } catch {
    return false;
  }
}

/**
 * For --if-available: whether to run, and whether this process brought Slurm up (so it stops it).
 * A skip is a printed note, not a failure: the other benchmarks of `npm run bench` still count.
 */
function prepareSlurm(): { run: boolean; startedHere: boolean } {
  // Root even when Slurm is up: the benchmark mints tokens for the job user and submits as it.
  if (process.getuid?.() !== 0) {
    console.log('bench:slurm skipped: not root (it needs root to mint job-user tokens and submit as jmtuser)');
    return { run: false, startedHere: false };
  }
  if (slurmAnswers()) return { run: true, startedHere: false };
  process.stderr.write('bench:slurm: bringing up Slurm (scripts/slurm-up.sh) ...\n');
  let problem: string | undefined;
  try {
    execFileSync('bash', [path.join(projectRoot(), 'scripts', 'slurm-up.sh')], { stdio: 'inherit', timeout: 300_000 });
    if (!slurmAnswers()) problem = 'it came up but does not answer';
  } catch (err) {
    problem = (err as Error).message.split('\n')[0];
  }
  if (problem === undefined) return { run: true, startedHere: true };
  console.log(`bench:slurm skipped: Slurm could not be brought up (${problem})`);
  // Whatever slurm-up.sh did start is stopped again (slurm-down.sh stops only what it recorded).
  execFileSync('bash', [path.join(projectRoot(), 'scripts', 'slurm-down.sh')], { stdio: 'inherit' });
  return { run: false, startedHere: false };
}

async function main(): Promise<void> {
  let startedHere = false;
  if (process.argv.includes('--if-available')) {
    const prep = prepareSlurm();
    if (!prep.run) return;
    startedHere = prep.startedHere;
  }
  try {
    await benchmark();
  } finally {
    if (startedHere) execFileSync('bash', [path.join(projectRoot(), 'scripts', 'slurm-down.sh')], { stdio: 'inherit' });
  }
}

async function benchmark(): Promise<void> {
  const tasks = arg('tasks', 1000);
  const submissions = arg('submissions', 100);
  const partsArg = process.argv.indexOf('--parts');
  const parts = new Set(
    partsArg >= 0 ? process.argv[partsArg + 1].split(',') : ['project', 'official-node', 'hand', 'submission'],
  );
  const over = arg('oversubscribe', 8);
  if (over > 1) execFileSync(bin('scontrol'), ['update', 'PartitionName=debug', `OverSubscribe=FORCE:${over}`]);
  try {
    await measure(tasks, submissions, parts);
  } finally {
    if (over > 1) execFileSync(bin('scontrol'), ['update', 'PartitionName=debug', 'OverSubscribe=NO']);
  }
}

async function measure(tasks: number, submissions: number, parts: Set<string>): Promise<void> {
  const slots = execFileSync(bin('sinfo'), ['-h', '-p', 'debug', '-o', '%D nodes × %c CPUs, OverSubscribe %h'], {
    encoding: 'utf8',
  }).trim();
  /** A project run with the Node its jobs got (asked after the run, outside its RPC count). */
  type ProjectFigures = Awaited<ReturnType<typeof projectRun>> & { node: ReturnType<typeof jobNode> };
  let project: (ProjectFigures & { rpcs: ReturnType<typeof rpcSummary> }) | undefined;
  let officialNode: ProjectFigures | undefined;
  let hand: (Awaited<ReturnType<typeof byHand>> & { rpcs: ReturnType<typeof rpcSummary> }) | undefined;
  let submission: Awaited<ReturnType<typeof submissionCost>> | undefined;
  if (parts.has('project')) {
    process.stderr.write(`bench:slurm: ${tasks} tasks through the project ...\n`);
    // The Node probe's srun comes after the RPC count: it is not the project's traffic.
    project = { ...(await withRpcs(tasks, () => projectRun(tasks))), node: jobNode(process.execPath) };
    console.log(
      `project: ${project.tasks} true tasks in ${project.runSeconds} s = ${project.tasksPerSecond} tasks/s (bind ${project.bindSeconds} s, arrays ${project.arrays.map((a) => `${a.size} submitted in ${a.submitMs} ms`).join(', ')}), status ${project.status}`,
    );
  }
  if (parts.has('official-node')) {
    process.stderr.write(`bench:slurm: ${tasks} tasks through the project, jobs on this process's Node ...\n`);
    const copy = officialNodeCopy();
    try {
      officialNode = { ...(await projectRun(tasks, copy.nodeBin)), node: jobNode(copy.nodeBin) };
    } finally {
      rmSync(copy.dir, { recursive: true, force: true });
    }
    console.log(
      `project, job Node ${officialNode.node.version ?? '?'} (start-up snapshot ${officialNode.node.startupSnapshot}): ${officialNode.runSeconds} s = ${officialNode.tasksPerSecond} tasks/s, status ${officialNode.status}`,
    );
  }
  if (parts.has('hand')) {
    process.stderr.write(`bench:slurm: the same by hand (sbatch --array) ...\n`);
    hand = await withRpcs(tasks, () => byHand(tasks));
    console.log(`by hand: sbatch --array=1-${hand.tasks} in ${hand.runSeconds} s = ${hand.tasksPerSecond} tasks/s`);
  }
  const ratio = project && hand ? round(project.runSeconds / hand.runSeconds) : undefined;
  if (ratio !== undefined) console.log(`ratio project / by hand: ${ratio} (job Node ${project?.node.version ?? '?'})`);
  const ratioOfficialNode = officialNode && hand ? round(officialNode.runSeconds / hand.runSeconds) : undefined;
  if (ratioOfficialNode !== undefined)
    console.log(`ratio project / by hand, job Node ${officialNode?.node.version ?? '?'}: ${ratioOfficialNode}`);
  for (const [what, r] of [
    ['project', project?.rpcs],
    ['by hand', hand?.rpcs],
  ] as const)
    if (r)
      console.log(
        `${what}: ${r.total} slurmctld RPCs = ${r.perTask} per task (${r.byJobUserPerTask} per task by ${JOB_USER}); ${Object.entries(
          r.byType,
        )
          .map(([t, n]) => `${t} ${n}`)
          .join(', ')}`,
      );
  if (parts.has('submission')) {
    process.stderr.write(`bench:slurm: submission cost, ${submissions} jobs each way ...\n`);
    submission = await submissionCost(submissions);
    console.log(
      `submission: REST ${submission.restMsPerJob} ms/job, sbatch ${submission.sbatchMsPerJob} ms/job (×${submission.sbatchOverRest})`,
    );
  }
  const slurmVersion = execFileSync(bin('sinfo'), ['--version'], { encoding: 'utf8' }).trim();
  const record = {
    date: new Date().toISOString(),
    machine: {
      cpus: os.cpus().length,
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
      slurm: slurmVersion,
      loadAverage1mAtEnd: round(os.loadavg()[0]),
      debugPartition: `CPUs/OverSubscribe ${slots}`,
    },
    project,
    projectOfficialNode: officialNode,
    hand,
    ratio,
    ratioOfficialNode,
    submission,
  };
  const dir = path.join(projectRoot(), 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const stamp = record.date.replace(/[:.]/g, '-');
  writeFileSync(path.join(dir, `slurm-${stamp}.json`), `${JSON.stringify(record, null, 2)}\n`);
  console.log(`saved bench/results/slurm-${stamp}.json`);
}

main().catch((err) => {
  console.error(`bench:slurm: ${err instanceof Error ? err.stack : String(err)}`);
  process.exit(1);
});
