/**
 * Identity carried through to Slurm, on the real one-node Slurm (scripts/slurm-up.sh creates the
 * accounts jmtuser, jmtalice, jmtbob): the API runs with JMT_TOKENS for several users, and each
 * workflow's jobs run as its owner's account —
 *
 * - API user `jmtalice` → account jmtalice (same name, no configuration);
 * - API user `bob` → account jmtbob (`user_map`), through REST and through sbatch (CLI mode);
 * - an owner without an account, and one mapped to root, are refused with a clear error and
 *   nothing is submitted;
 * - no job of the test ran as root, as the worker's account or as SlurmUser.
 *
 * Each job's owner is checked twice: what Slurm recorded (REST `user_name`, scontrol `UserId`) and
 * what the task itself saw (`id -un` in its output).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { SlurmCliBackend } from '../../src/distributors/slurm/cli-backend';
import { IdentityRefusal, JobAccounts, type JobAccount } from '../../src/distributors/slurm/identity';
import { parseSlurmSettings } from '../../src/distributors/slurm/settings';
import {
  addSlurmCluster,
  ensureSlurm,
  instanceRows,
  restJobs,
  scontrolJob,
  stopSlurm,
  type SlurmHandle,
} from './helpers';
import { startTokenStack, type TokenStack } from './token-stack';

/** An API user with no Unix account of that name (checked in beforeAll). */
const NO_ACCOUNT = 'jmt-carol-noaccount';
const USER_MAP = { bob: 'jmtbob', mallory: 'root' };

let slurm: SlurmHandle | undefined;
let stack: TokenStack | undefined;
const measured: Record<string, number> = {};

beforeAll(async () => {
  slurm = await ensureSlurm();
  if (!slurm.ok) {
    console.warn(`SKIPPING the Slurm identity tests: ${slurm.reason}`);
    return;
  }
  for (const account of ['jmtalice', 'jmtbob']) {
    try {
      execFileSync('id', ['-u', account]);
    } catch {
      slurm.ok = false;
      slurm.reason = `account ${account} is missing: scripts/slurm-up.sh creates it`;
      console.warn(`SKIPPING the Slurm identity tests: ${slurm.reason}`);
      return;
    }
  }
  expect(() => execFileSync('id', ['-u', NO_ACCOUNT], { stdio: 'ignore' })).toThrow();
  stack = await startTokenStack([
    { user: 'jmtalice', role: 'operator' },
    { user: 'bob', role: 'operator' },
    { user: NO_ACCOUNT, role: 'operator' },
    { user: 'mallory', role: 'operator' },
  ]);
  await addSlurmCluster(stack.database.db, 'slurm-ids', { mode: 'rest', user_map: USER_MAP });
  await addSlurmCluster(stack.database.db, 'slurm-ids-cli', { mode: 'cli', user_map: USER_MAP });
}, 620_000);

afterAll(async () => {
  if (Object.keys(measured).length) console.log(`slurm identity measurements: ${JSON.stringify(measured)}`);
  await stack?.close();
  await stopSlurm(slurm);
}, 120_000);

function needSlurm(ctx: TestContext): TokenStack {
  if (!slurm?.ok || !stack) ctx.skip();
  return stack as TokenStack;
}

/** A two-task workflow of `user` on `cluster` whose tasks print who they run as. */
async function whoAmIWorkflow(s: TokenStack, user: string, cluster: string, tag: string) {
  const tool = s.toolAs(user, `identity-${tag}`);
  const who = tool.getTaskTemplate({
    templateName: 'who',
    commandTemplate: 'echo "who=$(id -un) uid=$(id -u) task={i}"',
    nodeArgs: ['i'],
  });
  const wf = tool.createWorkflow({
    workflowArgs: `identity-${tag}`,
    defaultClusterName: cluster,
    defaultComputeResources: { queue: 'debug', memory: '100M', runtime: '5m', cores: 1 },
  });
  wf.addTasks(who.createTasks({ i: [1, 2], maxAttempts: 1 }));
  const t0 = Date.now();
  const status = await wf.run({ progress: false, secondsUntilTimeout: 170 });
  measured[`${tag}S`] = (Date.now() - t0) / 1000;
  return { status, workflowId: wf.workflowId as number };
}

/** The owner account Slurm recorded for every job of the workflow, by REST and by scontrol. */
async function slurmUsers(s: TokenStack, workflowId: number): Promise<{ rest: string[]; scontrol: string[] }> {
  const batches = await s.database.db
    .selectFrom('task_batch')
    .select('distributor_array_id')
    .where('workflow_id', '=', workflowId)
    .execute();
  const arrays = batches.flatMap((b) => (b.distributor_array_id ?? '').split(',').filter(Boolean));
  const rest: string[] = [];
  const scontrol: string[] = [];
  for (const a of arrays) {
    for (const j of await restJobs(a)) rest.push(j.user ?? '?');
    for (const line of scontrolJob(a)
      .split('\n')
      .filter((l) => l.startsWith('JobId='))) {
      scontrol.push(/UserId=([^(\s]+)/.exec(line)?.[1] ?? '?');
    }
  }
  return { rest, scontrol };
}

async function expectRanAs(s: TokenStack, workflowId: number, account: string): Promise<void> {
  const rows = await instanceRows(s.database.db, workflowId);
  expect(rows).toHaveLength(2);
  for (const r of rows) {
    expect(r.status).toBe('D');
    expect(r.stdout_tail).toContain(`who=${account} `);
    expect(r.stdout_tail).not.toMatch(/uid=0\b/);
  }
  const { rest, scontrol } = await slurmUsers(s, workflowId);
  expect(rest.length).toBeGreaterThan(0);
  expect(new Set(rest)).toEqual(new Set([account]));
  expect(new Set(scontrol)).toEqual(new Set([account]));
}

async function refusal(s: TokenStack, workflowId: number): Promise<string[]> {
  const rows = await instanceRows(s.database.db, workflowId);
  expect(rows.length).toBeGreaterThan(0);
  for (const r of rows) {
    expect(r.distributor_id).toBeNull();
    expect(r.status).toBe('W');
  }
  const arrays = await s.database.db
    .selectFrom('task_batch')
    .select('distributor_array_id')
    .where('workflow_id', '=', workflowId)
    .execute();
  expect(arrays.every((b) => b.distributor_array_id === null)).toBe(true);
  return rows.flatMap((r) => r.errors);
}

describe.concurrent('Slurm jobs run as the workflow owner', () => {
  it('runs jmtalice’s workflow as jmtalice (same name) and bob’s as jmtbob (user_map), through REST', async (ctx) => {
    const s = needSlurm(ctx);
    const [alice, bob] = await Promise.all([
      whoAmIWorkflow(s, 'jmtalice', 'slurm-ids', 'alice-rest'),
      whoAmIWorkflow(s, 'bob', 'slurm-ids', 'bob-rest'),
    ]);
    expect(alice.status).toBe('D');
    expect(bob.status).toBe('D');
    await expectRanAs(s, alice.workflowId, 'jmtalice');
    await expectRanAs(s, bob.workflowId, 'jmtbob');
    // The API reports the owner as the API user; the account is the cluster's business.
    const wf = JSON.parse((await s.get('bob', `/api/v1/workflows/${bob.workflowId}/status`)).body);
    expect(JSON.stringify(wf)).toContain('"bob"');
  }, 240_000);

  it('runs bob’s workflow as jmtbob through sbatch (CLI mode, runuser)', async (ctx) => {
    const s = needSlurm(ctx);
    const bob = await whoAmIWorkflow(s, 'bob', 'slurm-ids-cli', 'bob-cli');
    expect(bob.status).toBe('D');
    await expectRanAs(s, bob.workflowId, 'jmtbob');
  }, 240_000);

  it('refuses an owner without an account, with a clear error, and submits nothing', async (ctx) => {
    const s = needSlurm(ctx);
    const { status, workflowId } = await whoAmIWorkflow(s, NO_ACCOUNT, 'slurm-ids', 'no-account');
    expect(status).not.toBe('D');
    const errors = await refusal(s, workflowId);
    expect(errors.length).toBeGreaterThan(0);
    for (const e of errors) {
      expect(e).toContain('refused to submit to Slurm');
      expect(e).toContain(`workflow owner "${NO_ACCOUNT}"`);
      expect(e).toContain('does not exist on this submit host');
      expect(e).toContain('user_map');
    }
    // The same message reaches the owner through the API.
    const res = await s.get(NO_ACCOUNT, `/api/v1/workflows/${workflowId}/errors`);
    expect(res.status).toBe(200);
    expect(res.body).toContain('does not exist on this submit host');
  }, 240_000);

  it('refuses an owner mapped to root, in both modes', async (ctx) => {
    const s = needSlurm(ctx);
    for (const cluster of ['slurm-ids', 'slurm-ids-cli']) {
      const { status, workflowId } = await whoAmIWorkflow(s, 'mallory', cluster, `mallory-${cluster}`);
      expect(status).not.toBe('D');
      const errors = await refusal(s, workflowId);
      for (const e of errors) expect(e).toMatch(/maps by "user_map" to account "root", which is root \(uid 0\)/);
    }
  }, 240_000);
});

describe('nothing of the test ran as root, the worker’s account or SlurmUser', () => {
  it('every job submitted for the test’s workflows ran as an owner account', async (ctx) => {
    const s = needSlurm(ctx);
    const all = await s.database.db.selectFrom('workflow').select('id').execute();
    const users = new Set<string>();
    for (const w of all) {
      const { rest, scontrol } = await slurmUsers(s, w.id);
      for (const u of [...rest, ...scontrol]) users.add(u);
    }
    const service = os.userInfo().username;
    expect([...users].sort()).toEqual(['jmtalice', 'jmtbob']);
    expect(users.has(service)).toBe(false);
    expect(users.has('slurm')).toBe(false);
    expect(users.has('root')).toBe(false);
  }, 120_000);
});

describe('owner → account rules (no Slurm needed)', () => {
  const passwd: Record<string, JobAccount> = {
    asmith: { user: 'asmith', uid: 5001, gid: 5001, home: '/home/asmith' },
    jmtbob: { user: 'jmtbob', uid: 5002, gid: 5002, home: '/home/jmtbob' },
    root: { user: 'root', uid: 0, gid: 0, home: '/root' },
    toor: { user: 'toor', uid: 0, gid: 0, home: '/root' },
    jmtsvc: { user: 'jmtsvc', uid: 4000, gid: 4000, home: '/srv/jmt' },
    svcalias: { user: 'svcalias', uid: 4000, gid: 4000, home: '/srv/jmt' },
    slurm: { user: 'slurm', uid: 64030, gid: 64030, home: '/nonexistent' },
    backup: { user: 'backup', uid: 34, gid: 34, home: '/var/backups' },
  };
  const accounts = (params: Record<string, unknown>) =>
    new JobAccounts(parseSlurmSettings(params, {}), {
      serviceUser: 'jmtsvc',
      serviceUid: 4000,
      lookup: async (name) => passwd[name],
      slurmUser: async () => 'slurm',
    });

  it('maps by name by default and by user_map when listed; the legacy single user only for the unlisted', async () => {
    const a = accounts({ user_map: { 'alice@example.org': 'asmith' } });
    expect((await a.resolve('asmith')).user).toBe('asmith');
    expect((await a.resolve('alice@example.org')).uid).toBe(5001);
    const shared = accounts({ user: 'jmtbob', user_map: { alice: 'asmith' } });
    expect((await shared.resolve('anyone')).user).toBe('jmtbob');
    expect((await shared.resolve('alice')).user).toBe('asmith');
  });

  it('refuses missing accounts, invalid names, root by uid, the service account, SlurmUser and deny_users', async () => {
    const a = accounts({
      user_map: { m: 'root', t: 'toor', s: 'svcalias', u: 'slurm', b: 'backup', n: '1000', x: 'a b' },
      deny_users: ['backup'],
    });
    const why = async (owner: string) => (await a.resolve(owner).catch((e: Error) => e)) as Error;
    expect(await why('carol')).toBeInstanceOf(IdentityRefusal);
    expect((await why('carol')).message).toMatch(/"carol" maps by name .* does not exist on this submit host/);
    expect((await why('m')).message).toMatch(/root \(uid 0\)/);
    expect((await why('t')).message).toMatch(/account "toor", which is root \(uid 0\)/);
    expect((await why('jmtsvc')).message).toMatch(/the service account the worker runs as/);
    expect((await why('s')).message).toMatch(/the service account the worker runs as/);
    expect((await why('u')).message).toMatch(/SlurmUser \("slurm"\)/);
    expect((await why('b')).message).toMatch(/deny_users/);
    expect((await why('n')).message).toMatch(/not a valid Unix account name/);
    expect((await why('x')).message).toMatch(/not a valid Unix account name/);
    // A personal install may run jobs as the worker's own login; root stays refused.
    const personal = accounts({ allow_worker_account: true, user_map: { m: 'root' } });
    expect((await personal.resolve('jmtsvc')).user).toBe('jmtsvc');
    await expect(personal.resolve('m')).rejects.toThrow(/root \(uid 0\)/);
    expect(() => parseSlurmSettings({ user_map: { a: 3 } }, {})).toThrow(/user_map/);
    expect(() => parseSlurmSettings({ deny_users: 'root' }, {})).toThrow(/deny_users/);
    expect(() => parseSlurmSettings({ switch_user: 'su' }, {})).toThrow(/switch_user/);
  });

  it('CLI mode switches to the owner with runuser as root and with sudo -n otherwise', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'jmt-switch-'));
    try {
      // Fake runuser/sudo: record the argv, answer like `sbatch --parsable`.
      for (const name of ['runuser', 'sudo']) {
        writeFileSync(path.join(dir, name), `#!/bin/bash\necho "${name} $*" >> "${dir}/calls"\necho 4242\n`);
        chmodSync(path.join(dir, name), 0o755);
      }
      const bins = {
        sbatch: '/usr/bin/sbatch',
        scontrol: '/usr/bin/scontrol',
        scancel: '/usr/bin/scancel',
        sacct: '/usr/bin/sacct',
        runuser: path.join(dir, 'runuser'),
        sudo: path.join(dir, 'sudo'),
      };
      const submission = {
        user: 'asmith',
        name: 'who-1',
        partition: 'debug',
        script: '#!/bin/bash\ntrue\n',
        workDir: path.join(dir, 'batch-1'),
        size: 1,
        env: { PATH: '/usr/bin:/bin' },
      };
      const asRoot = new SlurmCliBackend(parseSlurmSettings({ mode: 'cli' }, {}), bins, 'root');
      expect(await asRoot.submitArray(submission)).toBe('4242');
      const viaSudo = new SlurmCliBackend(parseSlurmSettings({ mode: 'cli', switch_user: 'sudo' }, {}), bins, 'jmtsvc');
      expect(await viaSudo.submitArray(submission)).toBe('4242');
      await viaSudo.cancel(['4242_1'], 'asmith');
      const calls = readFileSync(path.join(dir, 'calls'), 'utf8').trim().split('\n');
      expect(calls[0]).toMatch(/^runuser -u asmith -- \/usr\/bin\/sbatch --parsable /);
      expect(calls[1]).toMatch(/^sudo -n --preserve-env -u asmith -- \/usr\/bin\/sbatch --parsable /);
      expect(calls[2]).toBe('sudo -n --preserve-env -u asmith -- /usr/bin/scancel 4242_1');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
