/**
 * The `slurm` distributor: each batch (one TaskTemplate, one set of resources, ≤ 500 instances) goes
 * out as one job array (chunked below MaxArraySize), throttled with `%N` by the array's concurrency
 * limit; every array task runs the worker-node wrapper through a bash entry script
 * (entry-script.ts). Slurm is asked about jobs only for instances whose wrapper went silent, one
 * call per array, cached for a couple of seconds and backed off after failures: a poll that fails
 * means "unknown" (the jobs count as alive and get more time), never "failed".
 *
 * Submission goes through slurmrestd (JWT from `scontrol token`) or, with `"mode": "cli"`, sbatch.
 * Every array runs as the workflow owner's account (identity.ts), and every later call about its
 * jobs acts as that account too; an owner without an acceptable account gets nothing submitted.
 *
 * One exception to "Slurm says RUNNING, so alive": a node that crashed with its jobs and whose
 * slurmd came back within ~20 s of a job's start (BatchStartTimeout + MessageTimeout) leaves that
 * job RUNNING in slurmctld with no process behind it, until some later slurmd restart — the monitor
 * would extend its report-by forever. So a RUNNING job whose wrapper stayed silent through two
 * consecutive report-by periods, on a batch host whose slurmd (re)started after the job started, is
 * declared lost (U), cancelled, and retried (docs/slurm.md, "Node crashes").
 */
import { chownSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { wrapperCommand } from '../wrapper-command';
import type { DistributorContext } from '../context';
import type { Distributor, RemoteExitInfo, SubmitRequest, SubmitResult } from '../distributor';
import { OUTPUT_PATTERN, UNKNOWN_JOB, type PartitionInfo, type SlurmBackend } from './backend';
import { SlurmCliBackend } from './cli-backend';
import { resolveBin, run } from './commands';
import { entryScript } from './entry-script';
import { jobEnvironment } from './environment';
import { classifyEnd, describeEarlyEnd, jobcompRecord, readSlurmOutput, slurmdMessage } from './exit-info';
import { IdentityRefusal, JobAccounts, type JobAccount } from './identity';
import { expandOutputPattern, isLive, isStuckPending, parseDistributorId, type SlurmJobRecord } from './job-record';
import { checkJobAccount, jobAccountRefusal, type JobAccountCheck } from './preflight';
import { partitionProblems, toSlurmRequest } from './resources';
import { SlurmRestBackend } from './rest-backend';
import { redactSecrets } from './redact';
import { parseSlurmSettings, safeUser, type SlurmSettings } from './settings';
import { TokenCache } from './token';

/** Concurrency limits at or above this mean "no limit" (Slurm's ArrayTaskThrottle=0). */
const UNLIMITED = 2_147_483_647;
/** Partition limits change rarely; re-read them after this long. */
const PARTITION_CACHE_MS = 60_000;
/** Pending reasons that say nothing about the cluster: not yet scheduled, or the array's own throttle. */
const OWN_PENDING_REASONS = new Set(['None', 'JobArrayTaskLimit']);
/** Longest pause in asking Slurm about an array after repeated failures. */
const MAX_BACKOFF_MS = 60_000;

type Snapshot = { at: number; records: Map<string, SlurmJobRecord> | typeof UNKNOWN_JOB };
/** A RUNNING job seen silent on a node whose slurmd restarted since it started: how many asks in a row. */
type NodeRestartSuspect = { asks: number; lastAskedAt: number };

export interface SlurmDistributorOptions {
  backend?: SlurmBackend;
  /** Logged problems (failed polls); defaults to stderr. Messages are redacted of tokens first. */
  log?: (message: string) => void;
  /** Owner → job account resolution (tests inject account lookups). */
  accounts?: JobAccounts;
}

export class SlurmDistributor implements Distributor {
  readonly clusterType = 'slurm' as const;
  readonly settings: SlurmSettings;
  readonly backend: SlurmBackend;
  readonly #ctx: DistributorContext;
  readonly #log: (message: string) => void;
  readonly #currentUser = safeUser();
  readonly #wrapper: string[];
  readonly #snapshots = new Map<string, Snapshot>();
  readonly #inflight = new Map<string, Promise<Snapshot>>();
  readonly #backoff = new Map<string, { until: number; failures: number }>();
  readonly #partitions = new Map<string, { at: number; info: PartitionInfo | undefined }>();
  readonly #slurmdStarts = new Map<string, { at: number; start: number | undefined }>();
  readonly #nodeRestartSuspects = new Map<string, NodeRestartSuspect>();
  /** Jobs declared lost with their node (and cancelled), by distributor id: the message for remoteExitInfo. */
  readonly #lostWithNode = new Map<string, string>();
  /** Pending jobs Slurm would never start (cancelled), by distributor id: the message for queueingError. */
  readonly #queueingErrors = new Map<string, string>();
  readonly #accounts: JobAccounts;
  readonly #owners = new Map<number, string>();
  /** Array job id → the account its jobs run as (filled at submit, else read from the database). */
  readonly #arrayAccounts = new Map<string, string>();
  /** Array job id → where its submission told Slurm to write (patterns with %A/%a), for exit messages. */
  readonly #arrayOutputs = new Map<string, { stdout: string; stderr?: string }>();
  #jobcompLog: string | undefined | null = null;
  readonly #accountChecks = new Map<string, { at: number; check: JobAccountCheck }>();

  constructor(ctx: DistributorContext, opts: SlurmDistributorOptions = {}) {
    this.#ctx = ctx;
    this.settings = parseSlurmSettings(ctx.connectionParameters ?? {});
    const log = opts.log ?? ((m: string) => process.stderr.write(`slurm distributor: ${m}\n`));
    this.#log = (m) => log(redactSecrets(m));
    this.#accounts =
      opts.accounts ??
      new JobAccounts(this.settings, { serviceUser: this.#currentUser, serviceUid: process.getuid?.() });
    this.#wrapper = wrapperCommand();
    if (!existsSync(this.#wrapper[1])) {
      throw new Error(`the worker-node wrapper is not built (${this.#wrapper[1]} is missing): run \`npx tsc -p .\``);
    }
    const bin = (name: string) => resolveBin(name, process.env, this.settings.binDir);
    const scontrol = bin('scontrol');
    this.backend =
      opts.backend ??
      (this.settings.mode === 'rest'
        ? new SlurmRestBackend(
            this.settings,
            new TokenCache(this.#currentUser, this.settings.tokenLifespanS, scontrol),
            scontrol,
          )
        : new SlurmCliBackend(
            this.settings,
            {
              sbatch: bin('sbatch'),
              scontrol,
              scancel: bin('scancel'),
              sacct: bin('sacct'),
              runuser: bin('runuser'),
              sudo: resolveBin('sudo'),
            },
            this.#currentUser,
          ));
  }

  // Long: one submission's steps in order (identity, job-account and partition checks, entry script,
  // REST or sbatch with its throttle, ids), each already a call; splitting would pass their state around.
  async submit(request: SubmitRequest): Promise<SubmitResult> {
    const distributorIds = new Map<number, string>();
    const errors = new Map<number, string>();
    const failAll = (instances: SubmitRequest['instances'], message: string) => {
      for (const i of instances) errors.set(i.taskInstanceId, redactSecrets(message));
    };
    let account: JobAccount;
    try {
      account = await this.#jobAccount(request.workflowId);
    } catch (err) {
      if (!(err instanceof IdentityRefusal)) throw err;
      this.#log(`workflow ${request.workflowId}, batch ${request.batchId}: ${err.message}`);
      failAll(request.instances, `refused to submit to Slurm: ${err.message}`);
      return { distributorIds, errors };
    }
    const check = this.#checkAccount(account);
    if (!check.ok) {
      const message = `refused to submit to Slurm: ${jobAccountRefusal(check)}`;
      this.#log(`workflow ${request.workflowId}, batch ${request.batchId}: ${message}`);
      failAll(request.instances, message);
      return { distributorIds, errors };
    }
    const req = toSlurmRequest(request.resources, this.settings.partitionMap);
    let problems: string[];
    try {
      problems = partitionProblems(req, await this.#partition(req.partition, account.user));
    } catch (err) {
      // Cannot ask Slurm now: submit anyway; Slurm itself refuses what it cannot run.
      this.#log(`could not read partition ${req.partition} (${(err as Error).message}); submitting unchecked`);
      problems = [];
    }
    if (problems.length > 0) {
      failAll(request.instances, `impossible request for Slurm: ${problems.join('; ')}`);
      return { distributorIds, errors };
    }

    const root = this.settings.scriptDir ?? path.join(this.#ctx.config.logDir, 'slurm');
    const workDir = path.join(root, `batch-${request.batchId}`);
    const output = this.#entryOutput(request);
    try {
      // Slurm cannot start a job whose output directory is missing (JobLaunchFailure).
      for (const dir of output.dirs) if (!existsSync(dir)) this.#ensureDir(dir, account);
      this.#ensureDir(root);
      this.#ensureDir(workDir, account);
      // The wrapper (running as the owner's account) writes the task's stdout/stderr here.
      this.#ensureDir(this.#ctx.config.logDir);
      this.#ensureDir(path.join(this.#ctx.config.logDir, `workflow-${request.workflowId}`), account);
    } catch (err) {
      failAll(
        request.instances,
        `cannot prepare ${workDir} for the job account ${account.user}: ${(err as Error).message}`,
      );
      return { distributorIds, errors };
    }
    const env = jobEnvironment({
      mode: this.settings.environment,
      passEnv: this.settings.passEnv,
      base: process.env,
      // The batch's job token: it authorises this batch's callbacks only (the owner can read it).
      token: request.jobToken,
      identity: account.user === this.#currentUser ? undefined : { user: account.user, home: account.home },
    });

    const chunkSize = Math.max(1, Math.floor(this.settings.maxArraySize) - 1);
    const arrayIds: string[] = [];
    for (let start = 0, chunk = 1; start < request.instances.length; start += chunkSize, chunk++) {
      const instances = request.instances.slice(start, start + chunkSize);
      const throttle =
        request.concurrencyLimit !== undefined && request.concurrencyLimit > 0 && request.concurrencyLimit < UNLIMITED
          ? Math.min(request.concurrencyLimit, instances.length)
          : undefined;
      const script = entryScript({
        batchId: request.batchId,
        chunk,
        taskInstanceIds: instances.map((i) => i.taskInstanceId),
        nodeBin: this.settings.nodeBin,
        wrapperPath: this.#wrapper[1],
        apiUrl: this.#ctx.apiUrl,
        timeLimitS: req.timeLimitMin === undefined ? undefined : req.timeLimitMin * 60,
      });
      try {
        const arrayJobId = await this.backend.submitArray({
          user: account.user,
          name: chunk === 1 ? request.jobName : `${request.jobName}-${chunk}`,
          partition: req.partition,
          script,
          workDir,
          outputPath: output.outputPath,
          errorPath: output.errorPath,
          size: instances.length,
          throttle,
          memoryMb: req.memoryMb,
          timeLimitMin: req.timeLimitMin,
          cpusPerTask: req.cpusPerTask,
          account: req.account,
          qos: req.qos,
          constraints: req.constraints,
          env,
        });
        arrayIds.push(arrayJobId);
        this.#arrayAccounts.set(arrayJobId, account.user);
        this.#arrayOutputs.set(arrayJobId, {
          stdout: output.outputPath ?? path.join(workDir, OUTPUT_PATTERN),
          stderr: output.errorPath,
        });
        instances.forEach((inst, i) => distributorIds.set(inst.taskInstanceId, `${arrayJobId}_${i + 1}`));
      } catch (err) {
        failAll(instances, `Slurm refused the array: ${(err as Error).message}`);
      }
    }
    return { distributorIds, arrayId: arrayIds.length > 0 ? arrayIds.join(',') : undefined, errors };
  }

  async liveJobs(distributorIds: string[]): Promise<Set<string>> {
    const live = new Set<string>();
    for (const [arrayJobId, ids] of groupByArray(distributorIds)) {
      const snap = await this.#snapshot(arrayJobId);
      if (!snap) {
        // Slurm could not be asked: unknown, so alive (more time), never lost.
        for (const id of ids) live.add(id);
        continue;
      }
      if (snap.records === UNKNOWN_JOB) continue;
      for (const id of ids) {
        const record = snap.records.get(id);
        if (record && isLive(record) && !(await this.#lostWithItsNode(record)) && !(await this.#neverStarts(record)))
          live.add(id);
      }
    }
    return live;
  }

  /**
   * The node-crash rule (see the header). The monitor asks about a job only once its wrapper missed
   * its report-by, and asks again each report-by while the job counts as alive; so a second ask in
   * a row means the wrapper has been silent for two report-by periods — a late heartbeat alone does
   * not get a healthy job cancelled. A slurmd restart alone does not either: slurmd's jobs survive
   * it (their slurmstepd keeps running), and their wrappers keep reporting, so they are never asked
   * about. The job is cancelled before it is declared lost, so a retry never overlaps a job that
   * was alive after all; when the cancel fails the job stays "alive" and is looked at again.
   */
  async #lostWithItsNode(record: SlurmJobRecord): Promise<boolean> {
    const key = record.key;
    if (record.state !== 'RUNNING' || !record.batchHost || record.startTime === undefined) {
      this.#nodeRestartSuspects.delete(key);
      return false;
    }
    const slurmdStart = await this.#slurmdStart(record.batchHost, record.user);
    if (slurmdStart === undefined || slurmdStart <= record.startTime) {
      this.#nodeRestartSuspects.delete(key);
      return false;
    }
    const now = Date.now();
    const reportByMs = this.#ctx.config.taskInstanceHeartbeatS * this.#ctx.config.reportByBuffer * 1000;
    const previous = this.#nodeRestartSuspects.get(key);
    // Asks further apart than two report-by periods and a poll or two: the wrapper reported in between.
    const consecutive = previous !== undefined && now - previous.lastAskedAt <= 2 * reportByMs + 15_000;
    const asks = consecutive ? previous.asks + 1 : 1;
    if (asks < 2) {
      this.#nodeRestartSuspects.set(key, { asks, lastAskedAt: now });
      return false;
    }
    const iso = (s: number) => new Date(s * 1000).toISOString();
    if (!(await this.#cancelBeforeCallingGone(record, `which looks lost with node ${record.batchHost}`))) {
      this.#nodeRestartSuspects.set(key, { asks, lastAskedAt: now });
      return false;
    }
    this.#nodeRestartSuspects.delete(key);
    this.#lostWithNode.set(
      key,
      `Slurm still called job ${key} RUNNING on ${record.batchHost}, but that node's slurmd restarted at ${iso(slurmdStart)}, after the job started at ${iso(record.startTime)}, and the job's wrapper stayed silent: its processes were lost with the node (a crash slurmctld had not noticed); cancelled and retried`,
    );
    return true;
  }

  /**
   * A pending job that Slurm will not start by itself (job-record.ts, isStuckPending) is cancelled
   * and reported gone, so its task is retried rather than LAUNCHED forever. Cancelled first, so a
   * later release by an administrator cannot run it beside the retry; when the cancel fails it
   * stays "alive" and is looked at again at the next report-by.
   */
  async #neverStarts(record: SlurmJobRecord): Promise<boolean> {
    if (!isStuckPending(record)) return false;
    if (!(await this.#cancelBeforeCallingGone(record, `pending for good (${record.reason})`))) return false;
    this.#queueingErrors.set(
      record.key,
      `Slurm kept job ${record.key} PENDING with reason ${record.reason}, which it does not clear by itself; cancelled`,
    );
    return true;
  }

  /**
   * Cancel a job, as its owner, before it is reported gone (the node-crash and never-starts rules):
   * so its retry can never run beside it. False, logged, when the cancel failed: the job then
   * counts as alive and is looked at again at the next report-by.
   */
  async #cancelBeforeCallingGone(record: SlurmJobRecord, why: string): Promise<boolean> {
    try {
      await this.backend.cancel(
        [record.key],
        record.user ?? (await this.#accountOfArray(record.arrayJobId ?? record.jobId)),
      );
    } catch (err) {
      this.#log(`could not cancel ${record.key}, ${why}: ${(err as Error).message}`);
      return false;
    }
    if (record.arrayJobId) this.#snapshots.delete(record.arrayJobId);
    return true;
  }

  /**
   * From the snapshots liveJobs just read. Our own throttle (JobArrayTaskLimit) is the workflow's
   * concurrency limit at work, not the cluster's doing; `None` is a job not yet looked at.
   */
  pendingReason(distributorIds: string[]): string | null {
    const counts = new Map<string, number>();
    for (const id of distributorIds) {
      const snap = this.#snapshots.get(id.split('_')[0]);
      const record = snap && snap.records !== UNKNOWN_JOB ? snap.records.get(id) : undefined;
      if (record?.state !== 'PENDING' || !record.reason || OWN_PENDING_REASONS.has(record.reason)) continue;
      counts.set(record.reason, (counts.get(record.reason) ?? 0) + 1);
    }
    let best: [string, number] | undefined;
    for (const entry of counts) if (!best || entry[1] > best[1]) best = entry;
    return best ? best[0] : null;
  }

  queueingError(distributorId: string): string | undefined {
    const message = this.#queueingErrors.get(distributorId);
    this.#queueingErrors.delete(distributorId);
    return message;
  }

  /** The node's slurmd start time, cached like job status; undefined (no verdict) when unavailable. */
  async #slurmdStart(node: string, asUser: string | undefined): Promise<number | undefined> {
    const cached = this.#slurmdStarts.get(node);
    if (cached && Date.now() - cached.at < this.settings.statusCacheS * 1000) return cached.start;
    let start: number | undefined;
    try {
      start = await this.backend.slurmdStartTime(node, asUser);
    } catch (err) {
      this.#log(`slurmd start time of node ${node} unavailable (${(err as Error).message})`);
      return undefined;
    }
    this.#slurmdStarts.set(node, { at: Date.now(), start });
    return start;
  }

  async remoteExitInfo(distributorId: string): Promise<RemoteExitInfo> {
    let parsed: ReturnType<typeof parseDistributorId>;
    try {
      parsed = parseDistributorId(distributorId);
    } catch (err) {
      return { status: 'U', message: (err as Error).message };
    }
    const lostWithNode = this.#lostWithNode.get(distributorId);
    if (lostWithNode !== undefined) {
      // Cancelled by the node-crash rule: Slurm now says CANCELLED, which would read as "cancelled
      // from outside" (F, no retry).
      this.#lostWithNode.delete(distributorId);
      return { status: 'U', message: lostWithNode };
    }
    const snap = await this.#snapshot(parsed.arrayJobId);
    if (!snap) throw new Error(`Slurm could not be asked about job ${distributorId}; will ask again`);
    let record = snap.records === UNKNOWN_JOB ? undefined : snap.records.get(distributorId);
    // A job slurmctld no longer holds (MinJobAge) is looked up in slurmdbd before anything else;
    // without accounting, in the jobcomp log.
    if (!record) record = await this.#accountingRecord(distributorId, parsed.arrayJobId);
    if (!record) record = jobcompRecord(await this.#jobcompLogPath(), parsed.arrayJobId, parsed.taskId);
    if (!record) {
      return {
        status: 'U',
        message: `Slurm job ${distributorId} is unknown to slurmctld (purged after MinJobAge?), to slurmdbd and to the jobcomp log`,
      };
    }
    if (isLive(record)) {
      return {
        status: 'U',
        message: `Slurm job ${distributorId} is still ${record.state} but its wrapper stopped reporting`,
      };
    }
    return {
      ...classifyEnd(record, readSlurmOutput(this.#withOutputPaths(record))),
      usage: await this.#usage(distributorId, record),
    };
  }

  /**
   * The record with the output files its submission named, when this worker submitted it: sacct
   * (22.05) and the jobcomp log know only the work dir, so their paths miss the task's `stdout` /
   * `stderr` log directories.
   */
  #withOutputPaths(record: SlurmJobRecord): SlurmJobRecord {
    const submitted = this.#arrayOutputs.get(record.arrayJobId ?? record.jobId);
    if (!submitted || (record.stdoutPath && !record.outputFromWorkDir)) return record;
    const expand = (p: string) => expandOutputPattern(p, record);
    return {
      ...record,
      stdoutPath: expand(submitted.stdout),
      stderrPath: submitted.stderr === undefined ? undefined : expand(submitted.stderr),
    };
  }

  /** slurmdbd's record of a job (REST /slurmdb or sacct); undefined without accounting or on failure. */
  async #accountingRecord(distributorId: string, arrayJobId: string): Promise<SlurmJobRecord | undefined> {
    if (!this.backend.accountingRecord) return undefined;
    try {
      return await this.backend.accountingRecord(distributorId, await this.#accountOfArray(arrayJobId));
    } catch (err) {
      this.#log(`accounting record of ${distributorId} unavailable (${(err as Error).message})`);
      return undefined;
    }
  }

  /** MaxRSS, elapsed time and node of an ended job, from slurmdbd when it has them. */
  async #usage(distributorId: string, record: SlurmJobRecord): Promise<RemoteExitInfo['usage']> {
    const acct = record.fromAccounting
      ? record
      : await this.#accountingRecord(distributorId, record.arrayJobId ?? record.jobId);
    const node = acct?.batchHost ?? record.batchHost;
    if (!acct && !node) return undefined;
    return {
      nodename: node,
      wallclockS: acct?.elapsedS,
      maxRssBytes: acct?.maxRssMb === undefined ? undefined : Math.round(acct.maxRssMb * 1024 * 1024),
    };
  }

  async launchFailure(distributorId: string): Promise<{ message: string; retry: boolean } | undefined> {
    let parsed: ReturnType<typeof parseDistributorId>;
    try {
      parsed = parseDistributorId(distributorId);
    } catch {
      return undefined;
    }
    // Cancelled by the never-starts rule: Slurm now says CANCELLED, which would read as "cancelled
    // outside the workflow" (F, no retry). queueingError tells the monitor why (retried). A slurmd
    // killed mid-launch leaves jobs "launch failed requeued held", so this is a race worth closing.
    if (this.#queueingErrors.has(distributorId)) return undefined;
    const snap = await this.#snapshot(parsed.arrayJobId);
    let record = snap && snap.records !== UNKNOWN_JOB ? snap.records.get(distributorId) : undefined;
    if (!record) record = await this.#accountingRecord(distributorId, parsed.arrayJobId);
    if (!record || isLive(record)) return undefined;
    return describeEarlyEnd(record, slurmdMessage(this.settings.slurmdLog, record));
  }

  async terminate(distributorIds: string[]): Promise<void> {
    const ids = distributorIds.filter((id) => /^\d+(_\d+)?$/.test(id));
    // Each array's jobs are cancelled as their owner (REST: with the owner's token).
    for (const [array, ofArray] of groupByArray(ids)) {
      await this.backend.cancel(ofArray, await this.#accountOfArray(array));
      this.#snapshots.delete(array);
    }
  }

  /** Change the throttle of queued arrays (`arrayIds` as recorded: comma-separated chunks allowed). */
  async setArrayThrottle(arrayIds: string[], limit: number): Promise<void> {
    // 0 pauses the workflow: no new batches are scheduled; Slurm's throttle 0 would mean "none".
    if (limit <= 0) return;
    const throttle = limit >= UNLIMITED ? 0 : limit;
    for (const id of arrayIds.flatMap((a) => a.split(',')).filter((a) => /^\d+$/.test(a))) {
      try {
        await this.backend.setThrottle(id, throttle, await this.#accountOfArray(id));
        this.#snapshots.delete(id);
      } catch (err) {
        // A finished or purged array has nothing left to throttle.
        const message = (err as Error).message;
        if (!/finished|Invalid job id|already completed/i.test(message)) throw err;
      }
    }
  }

  async close(): Promise<void> {
    this.#snapshots.clear();
  }

  /** Records of one array, from a fresh-enough cache; undefined when Slurm could not be asked. */
  async #snapshot(arrayJobId: string): Promise<Snapshot | undefined> {
    const cached = this.#snapshots.get(arrayJobId);
    if (cached && Date.now() - cached.at < this.settings.statusCacheS * 1000) return cached;
    const backoff = this.#backoff.get(arrayJobId);
    if (backoff && Date.now() < backoff.until) return undefined;
    let pending = this.#inflight.get(arrayJobId);
    if (!pending) {
      pending = this.#accountOfArray(arrayJobId)
        .then((asUser) => this.backend.arrayJobs(arrayJobId, asUser))
        .then((records) => {
          const snap: Snapshot = {
            at: Date.now(),
            records: records === UNKNOWN_JOB ? UNKNOWN_JOB : new Map(records.map((r) => [r.key, r])),
          };
          this.#snapshots.set(arrayJobId, snap);
          this.#backoff.delete(arrayJobId);
          return snap;
        })
        .finally(() => this.#inflight.delete(arrayJobId));
      this.#inflight.set(arrayJobId, pending);
    }
    try {
      return await pending;
    } catch (err) {
      const failures = (this.#backoff.get(arrayJobId)?.failures ?? 0) + 1;
      const delay = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** failures);
      this.#backoff.set(arrayJobId, { until: Date.now() + delay, failures });
      this.#log(`status of array ${arrayJobId} unavailable (${(err as Error).message}); next try in ${delay / 1000} s`);
      return undefined;
    }
  }

  async #partition(name: string, asUser: string): Promise<PartitionInfo | undefined> {
    const cached = this.#partitions.get(name);
    if (cached && Date.now() - cached.at < PARTITION_CACHE_MS) return cached.info;
    const info = await this.backend.partition(name, asUser);
    this.#partitions.set(name, { at: Date.now(), info });
    return info;
  }

  async #jobcompLogPath(): Promise<string | undefined> {
    if (this.settings.jobcompLog) return this.settings.jobcompLog;
    if (this.#jobcompLog !== null) return this.#jobcompLog;
    try {
      const out = await run(resolveBin('scontrol', process.env, this.settings.binDir), ['show', 'config'], {
        timeoutMs: 15_000,
      });
      const m = /^JobCompLoc\s*=\s*(\S+)/m.exec(out);
      this.#jobcompLog = m && m[1].startsWith('/') ? m[1] : undefined;
    } catch {
      this.#jobcompLog = undefined;
    }
    return this.#jobcompLog;
  }

  /**
   * The job-account checks (preflight.ts) for one account, once per distributor per minute: the
   * wrapper and Node readable, the log directory reachable. A cluster whose job accounts fail them
   * gets nothing submitted, with the path and the account named.
   */
  #checkAccount(account: JobAccount): JobAccountCheck {
    const cached = this.#accountChecks.get(account.user);
    if (cached && Date.now() - cached.at < 60_000) return cached.check;
    const check = checkJobAccount(
      { user: account.user, uid: account.uid, gid: account.gid },
      { wrapper: this.#wrapper[1], nodeBin: this.settings.nodeBin, logDir: this.#ctx.config.logDir },
    );
    this.#accountChecks.set(account.user, { at: Date.now(), check });
    return check;
  }

  /** The checked account of the workflow's owner; throws IdentityRefusal (nothing is submitted then). */
  async #jobAccount(workflowId: number): Promise<JobAccount> {
    let owner = this.#owners.get(workflowId);
    if (owner === undefined) {
      owner = await this.#ctx.owners.ofWorkflow(workflowId);
      if (owner === undefined) throw new IdentityRefusal(`workflow ${workflowId} has no owner on record`);
      // A workflow's owner never changes (grants add operators, not owners).
      this.#owners.set(workflowId, owner);
    }
    return this.#accounts.resolve(owner);
  }

  /**
   * The account an array's jobs run as: remembered from its submission, or (after a worker restart)
   * its workflow's owner as recorded with the batch (ctx.owners). Undefined when neither is known; REST calls
   * then fail (counted as "Slurm could not be asked"), they never act as anybody else.
   */
  async #accountOfArray(arrayJobId: string): Promise<string | undefined> {
    const known = this.#arrayAccounts.get(arrayJobId);
    if (known !== undefined) return known;
    const row = await this.#ctx.owners.ofArray(arrayJobId);
    if (!row) return undefined;
    this.#owners.set(row.workflowId, row.user);
    let account: string;
    try {
      account = (await this.#accounts.resolve(row.user)).user;
    } catch (err) {
      this.#log(`jobs of array ${arrayJobId}: ${(err as Error).message}`);
      return undefined;
    }
    this.#arrayAccounts.set(arrayJobId, account);
    return account;
  }

  /**
   * Where Slurm writes the entry script's own output: beside the task's logs when the `stdout` /
   * `stderr` directories are set (as Jobmon's Slurm plugin does), so a job that dies before or
   * around the wrapper leaves its trace where the user looks; relative directories are taken from
   * the batch's working directory, as the wrapper takes them (sql/run-place.ts). Unset: the batch
   * work dir (undefined paths).
   */
  #entryOutput(request: SubmitRequest): { outputPath?: string; errorPath?: string; dirs: string[] } {
    const base = request.workingDir ?? path.join(this.#ctx.config.logDir, `workflow-${request.workflowId}`);
    const dirOf = (key: 'stdout' | 'stderr') => {
      const v = request.resources[key];
      return typeof v === 'string' && v.length > 0 ? path.resolve(base, v) : undefined;
    };
    const out = dirOf('stdout');
    const err = dirOf('stderr');
    return {
      outputPath: out && path.join(out, OUTPUT_PATTERN),
      // Only stderr set: Slurm's stdout stays in the work dir and its stderr goes to the directory.
      errorPath: err && path.join(err, OUTPUT_PATTERN.replace(/\.out$/, '.err')),
      dirs: [out, err].filter((d): d is string => d !== undefined),
    };
  }

  /** mkdir -p; when root submits for another account, hand the directory to that account. */
  #ensureDir(dir: string, owner?: JobAccount): void {
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    if (owner && owner.user !== this.#currentUser && process.getuid?.() === 0) chownSync(dir, owner.uid, owner.gid);
  }
}

function groupByArray(ids: string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const id of ids) {
    let array: string;
    try {
      array = parseDistributorId(id).arrayJobId;
    } catch {
      continue;
    }
    out.set(array, [...(out.get(array) ?? []), id]);
  }
  return out;
}

export function createSlurmDistributor(ctx: DistributorContext): Distributor {
  return new SlurmDistributor(ctx);
}
