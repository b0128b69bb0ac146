/**
 * The checks behind `jmt doctor` (src/cli/doctor.ts), each with its fix: Postgres, Temporal, the API, and each Slurm cluster — release, REST versions offered and
 * the one chosen, nodes and their states, accounting, cgroup enforcement, whether each job account
 * can reach the wrapper, Node and the log directory (a checkout under /root or a private temp dir
 * cannot be reached by them), and the wrapper's measured memory share. Exit 0 when every check
 * passes, 1 otherwise.
 */
import { existsSync } from 'node:fs';
import net from 'node:net';
import type { Config } from '../config';
import { probeSlurm, type SlurmProbe } from '../distributors/slurm/probe';
import { wrapperCommand } from '../distributors/wrapper-command';
import { createDb, dbNow } from '../sql/db';
import { slurmClusters } from '../sql/slurm-clusters';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
}

async function tcpOpen(address: string, timeoutMs = 3_000): Promise<boolean> {
  const [host, port] = [
    address.slice(0, address.lastIndexOf(':')),
    Number(address.slice(address.lastIndexOf(':') + 1)),
  ];
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

async function checkPostgres(
  config: Config,
): Promise<{ check: Check; clusters?: Awaited<ReturnType<typeof slurmClusters>> }> {
  const db = createDb(config.databaseUrl, 1);
  try {
    await dbNow(db);
    return {
      check: { name: 'postgres', ok: true, detail: 'answering' },
      clusters: await slurmClusters(db).catch(() => undefined),
    };
  } catch (err) {
    return {
      check: {
        name: 'postgres',
        ok: false,
        detail: (err as Error).message.split('\n')[0],
        fix: 'start Postgres (bash scripts/setup.sh) or set DATABASE_URL',
      },
    };
  } finally {
    await db.destroy();
  }
}

async function checkApi(config: Config): Promise<Check> {
  try {
    const res = await fetch(`${config.apiUrl}/health`, { signal: AbortSignal.timeout(5_000) });
    const body = (await res.json()) as { status?: string; database?: string };
    return {
      name: 'api',
      ok: res.ok,
      detail: `${config.apiUrl}: ${body.status ?? res.status}, database ${body.database ?? '?'}`,
    };
  } catch (err) {
    return {
      name: 'api',
      ok: false,
      detail: `${config.apiUrl}: ${(err as Error).message}`,
      fix: 'start it: jmt up --detach',
    };
  }
}

function slurmChecks(p: SlurmProbe): Check[] {
  const name = (what: string) => `slurm ${p.cluster}: ${what}`;
  const checks: Check[] = [];
  for (const e of p.errors)
    checks.push({
      name: name('reachable'),
      ok: false,
      detail: e,
      fix: 'npm run slurm:up; for its 24.11 cluster the cluster row needs "bin_dir": "/var/lib/jmt-slurm/24.11/bin" in connection_parameters (migration 0015 sets it on the untouched seed row)',
    });
  if (p.mode === 'rest')
    checks.push({
      name: name('REST'),
      ok: p.rest_version !== undefined,
      detail: p.rest_version
        ? `${p.rest_version} chosen of ${p.rest_versions_offered?.join(', ')} (Slurm ${p.release ?? '?'})`
        : 'no REST version chosen',
      fix: p.rest_version ? undefined : 'see the slurmrestd error above',
    });
  if (p.nodes) {
    const usable = Object.values(p.nodes.states).filter((s) => /^(IDLE|MIXED|ALLOCATED)/.test(s)).length;
    checks.push({
      name: name('nodes'),
      ok: usable > 0,
      detail: `${p.nodes.count} (${Object.entries(p.nodes.states)
        .map(([n, s]) => `${n} ${s}`)
        .join(', ')})`,
      fix: usable > 0 ? undefined : 'scontrol update NodeName=<node> State=RESUME once slurmd runs',
    });
  }
  checks.push({
    name: name('accounting'),
    ok: p.accounting === true,
    detail: p.accounting
      ? 'slurmdbd (finished jobs are looked up there)'
      : 'off: finished jobs are known only until MinJobAge, then from the jobcomp log',
    fix: p.accounting ? undefined : 'AccountingStorageType=accounting_storage/slurmdbd (optional)',
  });
  checks.push({
    name: name('cgroups'),
    ok: p.cgroups !== undefined && p.cgroups !== 'off',
    detail:
      p.cgroups && p.cgroups !== 'off'
        ? `memory enforced by ${p.cgroups}`
        : 'off: memory enforced by sampling (OverMemoryKill) at best',
    fix: p.cgroups && p.cgroups !== 'off' ? undefined : 'TaskPlugin=task/cgroup with a cgroup.conf (optional)',
  });
  for (const a of p.job_accounts)
    checks.push({
      name: name(`job account ${a.account}`),
      ok: a.ok,
      detail: a.ok ? 'can read the wrapper and Node, and reach the log directory' : a.problems.join('; '),
      fix: a.advice,
    });
  // The load-time peak is below the running wrapper's (reporting, heartbeating): over the share the
  // jobs ask for, this cluster's Node is bigger than the one WRAPPER_MEMORY_MB was measured on.
  const fits = p.wrapper_memory_mb !== undefined && p.wrapper_memory_mb <= p.wrapper_share_mb;
  checks.push({
    name: name('wrapper memory'),
    ok: fits,
    detail:
      p.wrapper_memory_mb === undefined
        ? 'could not be measured'
        : `${p.wrapper_memory_mb} MB resident once loaded; each job asks for the task's memory + ${p.wrapper_share_mb} MB for the wrapper`,
    fix: fits
      ? undefined
      : `measure the running wrapper on this cluster's Node and raise WRAPPER_MEMORY_MB (src/domain/wrapper-memory.ts)`,
  });
  return checks;
}

export async function runDoctor(config: Config, env: NodeJS.ProcessEnv = process.env) {
  const checks: Check[] = [];
  const pg = await checkPostgres(config);
  checks.push(pg.check);
  const temporalOk = await tcpOpen(config.temporalAddress);
  checks.push({
    name: 'temporal',
    ok: temporalOk,
    detail: `${config.temporalAddress} ${temporalOk ? 'accepting connections' : 'not reachable'}`,
    fix: temporalOk ? undefined : 'start it: jmt up --detach (or set TEMPORAL_ADDRESS)',
  });
  checks.push(await checkApi(config));
  // Without the database: the seeded `slurm` cluster as migration 0015 leaves it.
  const clusters = pg.clusters ?? [
    {
      name: 'slurm',
      params: {
        user: env.JMT_SLURM_JOB_USER ?? 'jmtuser',
        ...(existsSync('/var/lib/jmt-slurm/24.11/bin') ? { bin_dir: '/var/lib/jmt-slurm/24.11/bin' } : {}),
      },
    },
  ];
  const wrapper = wrapperCommand()[1];
  const probes: SlurmProbe[] = [];
  for (const c of clusters) probes.push(await probeSlurm(c.name, c.params, { wrapper, logDir: config.logDir }, env));
  for (const p of probes) checks.push(...slurmChecks(p));
  const ok = checks.every((c) => c.ok);
  const first = probes.find((p) => p.cluster === 'slurm') ?? probes[0];
  return {
    ok,
    checks,
    postgres: { ok: pg.check.ok },
    temporal: { ok: temporalOk, address: config.temporalAddress },
    api: { ok: checks.find((c) => c.name === 'api')?.ok ?? false, url: config.apiUrl },
    slurm: first && {
      cluster: first.cluster,
      release: first.release ?? null,
      rest_versions_offered: first.rest_versions_offered ?? [],
      rest_version: first.rest_version ?? null,
      nodes: first.nodes ?? { count: 0, states: {} },
      accounting: first.accounting ?? false,
      cgroups: first.cgroups ?? 'unknown',
      job_accounts_ok: first.job_accounts_ok,
      job_accounts: first.job_accounts,
    },
    slurm_clusters: probes,
    wrapper: { memory_mb: first?.wrapper_memory_mb ?? null, share_mb: first?.wrapper_share_mb ?? null },
  };
}

export type DoctorReport = Awaited<ReturnType<typeof runDoctor>>;
