/**
 * No secret leaves where it belongs: the Slurm JWTs the worker mints, the API tokens of JMT_TOKENS
 * (the users' and the worker's own) and the batches' job tokens must not appear in logs, error
 * messages, API responses (what the GUI shows), the database or any Temporal history.
 *
 * 1. Always (no Slurm needed): the REST client against a fake slurmrestd and a fake `scontrol
 *    token`, both hostile — they echo the token back in their errors. Tokens are cached per account
 *    in memory, renewed at 80 % of their life, re-minted after a 401, and no message the
 *    distributor produces (task errors, log lines) carries one.
 * 2. On the real one-node Slurm (root; skipped with the reason otherwise): a multi-user stack (API
 *    and worker as processes with log files) runs workflows — one that succeeds, one with a failing
 *    task, one refused for want of an account — and then everything is searched: both process
 *    logs, every GET route of the API's OpenAPI document for every workflow/task/instance, the GUI
 *    page, a dump of the database, every file under the install's home, and every Temporal history
 *    of every run (payloads decoded).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { loadConfig } from '../src/config';
import { JobAccounts } from '../src/distributors/slurm/identity';
import { redactSecrets } from '../src/distributors/slurm/redact';
import { SlurmRestBackend } from '../src/distributors/slurm/rest-backend';
import { parseSlurmSettings } from '../src/distributors/slurm/settings';
import { SlurmDistributor } from '../src/distributors/slurm/slurm-distributor';
import { TokenCache } from '../src/distributors/slurm/token';
import { freePort } from './helpers/ports';
import { addSlurmCluster, ensureSlurm, stopSlurm, type SlurmHandle } from './slurm/helpers';
import { startTokenStack, type TokenStack } from './slurm/token-stack';

/** Any JWT (header.payload.signature, base64url JSON) — whoever minted it. */
const ANY_JWT = /eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]+/;
const ANY_JOB_TOKEN = /jmtjob1\.\d+\.[A-Za-z0-9_-]{43}/;

function leaks(haystack: string, secrets: string[]): string[] {
  const found = secrets.filter((s) => haystack.includes(s));
  for (const re of [ANY_JWT, ANY_JOB_TOKEN, /SLURM_JWT=(?!\[redacted\])\S/]) {
    const m = re.exec(haystack);
    if (m) found.push(`${re}: …${haystack.slice(Math.max(0, m.index - 80), m.index + 40)}…`);
  }
  return found;
}

describe('Slurm tokens in the REST client (fake slurmrestd and scontrol)', () => {
  let dir: string;
  let server: Server;
  let restUrl: string;
  const seen: IncomingHttpHeaders[] = [];
  /** How the fake slurmrestd answers the next submit: 401 once, then an error echoing the token. */
  let submits = 0;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'jmt-secrets-'));
    // A fake `scontrol token`: a fresh JWT-shaped token per call; for account "leaky" it fails and
    // prints a token in its error, as a misbehaving tool might.
    writeFileSync(
      path.join(dir, 'scontrol'),
      `#!/bin/bash
n=$(( $(cat "${dir}/count" 2>/dev/null || echo 0) + 1 )); echo $n > "${dir}/count"
echo "$*" >> "${dir}/calls"
if [[ "$*" == *username=leaky* ]]; then echo "SLURM_JWT=eyJhbGciOiJIUzI1NiJ9.eyJsZWFrIjoxfQ.bGVha3k$n failed" >&2; exit 1; fi
echo "SLURM_JWT=eyJhbGciOiJIUzI1NiJ9.eyJuIjoi$n.c2VjcmV0LXNpZw$n"
`,
    );
    chmodSync(path.join(dir, 'scontrol'), 0o755);
    const port = await freePort();
    server = createServer((req, res) => {
      seen.push(req.headers);
      req.resume();
      req.on('end', () => {
        const token = String(req.headers['x-slurm-user-token'] ?? '');
        res.setHeader('content-type', 'application/json');
        if (req.url === '/openapi/v3') {
          res.end(JSON.stringify({ paths: { '/slurm/v0.0.41/job/submit': {} } }));
        } else if (req.url?.includes('/partition/')) {
          res.end(JSON.stringify({ partitions: [{ name: 'debug' }] }));
        } else if (req.url?.endsWith('/job/submit') && submits++ === 0) {
          res.statusCode = 401;
          res.end(JSON.stringify({ errors: [{ error: `token ${token} expired` }] }));
        } else {
          res.statusCode = 500;
          res.end(
            JSON.stringify({ errors: [{ error: `cannot submit: X-SLURM-USER-TOKEN: ${token} rejected (${token})` }] }),
          );
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    restUrl = `http://127.0.0.1:${port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  const minted = () => Number(readFileSync(path.join(dir, 'count'), 'utf8'));

  it('caches one token per account, in memory, and renews it at 80 % of its life', async () => {
    let now = 1_000_000;
    const cache = new TokenCache('root', 100, path.join(dir, 'scontrol'), process.env, () => now);
    const a1 = await cache.get('jmtalice');
    const b1 = await cache.get('jmtbob');
    expect(a1).not.toBe(b1);
    expect(await cache.get('jmtalice')).toBe(a1);
    now += 79_900;
    expect(await cache.get('jmtalice')).toBe(a1);
    now += 100; // 80 s of 100
    const a2 = await cache.get('jmtalice');
    expect(a2).not.toBe(a1);
    // Concurrent asks share one mint.
    now += 80_000;
    const before = minted();
    const [x, y] = await Promise.all([cache.get('jmtbob'), cache.get('jmtbob')]);
    expect(x).toBe(y);
    expect(minted()).toBe(before + 1);
    const calls = readFileSync(path.join(dir, 'calls'), 'utf8');
    expect(calls).toContain('token username=jmtalice lifespan=100');
    expect(calls).toContain('token username=jmtbob lifespan=100');
    expect(cache.users().sort()).toEqual(['jmtalice', 'jmtbob']);
    // The worker's own account needs no username=.
    await new TokenCache('root', 100, path.join(dir, 'scontrol')).get('root');
    expect(readFileSync(path.join(dir, 'calls'), 'utf8').trim().split('\n').at(-1)).toBe('token lifespan=100');
  });

  it('never quotes a token in an error, even when scontrol or slurmrestd echo it', async () => {
    const cache = new TokenCache('root', 3600, path.join(dir, 'scontrol'));
    const err = await cache.get('leaky').catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toContain('could not get a Slurm JWT');
    expect(leaks((err as Error).message, [])).toEqual([]);
    expect(redactSecrets('a eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln b')).toBe('a [redacted] b');
    expect(redactSecrets('SLURM_JWT=abc.def X-SLURM-USER-TOKEN: xyz')).toBe(
      'SLURM_JWT=[redacted] X-SLURM-USER-TOKEN: [redacted]',
    );
  });

  it('submits as the owner’s account, re-mints after a 401, and keeps tokens out of task errors and logs', async () => {
    const logDir = mkdtempSync(path.join(os.tmpdir(), 'jmt-secrets-logs-'));
    // Reachable by the job account, as the distributor's job-account checks require.
    chmodSync(logDir, 0o755);
    const settings = parseSlurmSettings({ mode: 'rest', rest_url: restUrl }, {});
    const cache = new TokenCache('root', 3600, path.join(dir, 'scontrol'));
    const backend = new SlurmRestBackend(settings, cache, path.join(dir, 'scontrol'));
    const logged: string[] = [];
    const accounts = new JobAccounts(settings, {
      serviceUser: 'jmt-service',
      serviceUid: 4999,
      lookup: async (name) =>
        name === 'jmtalice' ? { user: 'jmtalice', uid: 5001, gid: 5001, home: '/home/jmtalice' } : undefined,
      slurmUser: async () => 'slurm',
    });
    const distributor = new SlurmDistributor(
      {
        owners: { ofWorkflow: async () => 'jmtalice', ofArray: async () => undefined },
        completeInstances: async () => 0,
        config: loadConfig({ logDir, token: 'tok-worker-own-api-token' }),
        apiUrl: 'http://127.0.0.1:1',
        connectionParameters: { mode: 'rest', rest_url: restUrl },
      },
      { backend, log: (m) => logged.push(m), accounts },
    );
    try {
      const result = await distributor.submit({
        batchId: 7,
        workflowId: 3,
        workflowRunId: 1,
        clusterName: 'slurm',
        jobName: 'who-7',
        resources: { queue: 'debug', cores: 1, memory: 0.1, runtime: 60 },
        instances: [{ taskInstanceId: 70, arrayStepId: 1, taskName: 't' }],
        jobToken: 'jmtjob1.7.' + 'A'.repeat(43),
      });
      const message = result.errors?.get(70) ?? '';
      expect(message).toMatch(/Slurm refused the array: slurmrestd submit of who-7 as jmtalice: HTTP 500/);
      expect(message).toContain('[redacted]');
      expect(leaks([message, ...logged].join('\n'), ['tok-worker-own-api-token'])).toEqual([]);
      // Every request acted as the owner's account, with a token minted for it; the 401 made a new one.
      const submitsSeen = seen.filter((h) => h['x-slurm-user-name']);
      expect(new Set(submitsSeen.map((h) => h['x-slurm-user-name']))).toEqual(new Set(['jmtalice']));
      expect(new Set(submitsSeen.map((h) => h['x-slurm-user-token'])).size).toBeGreaterThanOrEqual(2);
      expect(cache.users()).toEqual(['jmtalice']);
    } finally {
      await distributor.close();
      rmSync(logDir, { recursive: true, force: true });
    }
  });
});

describe('after real Slurm runs, no secret anywhere', () => {
  let slurm: SlurmHandle | undefined;
  let stack: TokenStack | undefined;

  beforeAll(async () => {
    slurm = await ensureSlurm();
    if (!slurm.ok) {
      console.warn(`SKIPPING the real-Slurm part of the secrets test: ${slurm.reason}`);
      return;
    }
    stack = await startTokenStack([
      { user: 'jmtalice', role: 'operator' },
      { user: 'jmt-nobody-here', role: 'operator' },
      { user: 'boss', role: 'admin' },
    ]);
    await addSlurmCluster(stack.database.db, 'slurm-sec', { mode: 'rest' });
  }, 620_000);

  afterAll(async () => {
    await stack?.close();
    await stopSlurm(slurm);
  }, 120_000);

  function needSlurm(ctx: TestContext): TokenStack {
    if (!slurm?.ok || !stack) ctx.skip();
    return stack as TokenStack;
  }

  it('finds none of the tokens in logs, errors, API answers, the database, files or Temporal history', async (ctx) => {
    const s = needSlurm(ctx);
    const resources = { queue: 'debug', memory: '100M', runtime: '5m', cores: 1 };
    const run = async (user: string, tag: string, commands: string[]) => {
      const tool = s.toolAs(user, `secrets-${tag}`);
      const t = tool.getTaskTemplate({ templateName: 'cmd', commandTemplate: '{c}', nodeArgs: ['c'] });
      const wf = tool.createWorkflow({
        workflowArgs: `secrets-${tag}`,
        defaultClusterName: 'slurm-sec',
        defaultComputeResources: resources,
      });
      wf.addTasks(t.createTasks({ c: commands, maxAttempts: 1 }));
      return { status: await wf.run({ progress: false, secondsUntilTimeout: 170 }), id: wf.workflowId as number };
    };
    const [ok, failing, refused] = await Promise.all([
      run('jmtalice', 'ok', ['echo fine', 'id -un']),
      run('jmtalice', 'failing', ['echo about to fail >&2; exit 3']),
      run('jmt-nobody-here', 'refused', ['echo never']),
    ]);
    expect(ok.status).toBe('D');
    expect(failing.status).not.toBe('D');
    expect(refused.status).not.toBe('D');

    const secrets = [...Object.values(s.tokens), s.workerToken];
    const sources: Record<string, string> = {};
    sources.apiLog = readFileSync(s.apiLog, 'utf8');
    sources.workerLog = readFileSync(s.workerLog, 'utf8');

    const db = s.database.db;
    const errors = await db.selectFrom('task_instance_error_log').select('description').execute();
    expect(errors.length).toBeGreaterThanOrEqual(2);
    sources.errors = errors.map((e) => e.description).join('\n');
    expect(sources.errors).toContain('does not exist on this submit host');

    // Every GET route of the API, for every workflow, task and instance there is.
    const api: string[] = [];
    const spec = JSON.parse((await s.get('boss', '/openapi.json')).body) as { paths: Record<string, object> };
    const workflows = (await db.selectFrom('workflow').select('id').execute()).map((r) => r.id);
    const tasks = (await db.selectFrom('task').select('id').execute()).map((r) => Number(r.id));
    const instances = (await db.selectFrom('task_instance').select('id').execute()).map((r) => Number(r.id));
    let routes = 0;
    for (const [route, ops] of Object.entries(spec.paths)) {
      if (!('get' in ops)) continue;
      const ids = route.startsWith('/api/v1/workflows/{id}')
        ? workflows
        : route.startsWith('/api/v1/tasks/{id}')
          ? tasks
          : route.startsWith('/api/v1/task-instances/{id}')
            ? instances
            : [0];
      for (const id of ids) {
        const url = route
          .replace('{id}', String(id))
          .replace('{name}', 'secrets-ok')
          .replace('{template}', 'cmd')
          .replace('{user}', 'jmtalice');
        for (const user of ['jmtalice', 'boss']) {
          const res = await s.get(user, url);
          api.push(`${url} ${res.status} ${res.body}`);
          routes++;
        }
      }
    }
    for (const user of ['jmtalice', 'boss']) api.push((await s.get(user, '/ui/')).body);
    // A refused token is not quoted back.
    const wrong = await fetch(`${s.apiUrl}/api/v1/workflows`, {
      headers: { authorization: `Bearer ${s.tokens.jmtalice}x` },
    });
    api.push(await wrong.text());
    sources.api = api.join('\n');
    // The search covered real answers, not a wall of 404s.
    expect(routes).toBeGreaterThan(20);
    expect(api.filter((a) => / 200 /.test(a)).length).toBeGreaterThan(20);
    expect(sources.api).toContain('jmtalice');

    // The database as a whole: nothing persisted a token.
    sources.database = execFileSync('pg_dump', ['--data-only', s.database.url], {
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
    });

    // Files the install wrote: task logs, Slurm batch directories and scripts.
    const files: string[] = [];
    const walk = (d: string) => {
      for (const name of readdirSync(d)) {
        const p = path.join(d, name);
        const st = statSync(p);
        if (st.isDirectory()) walk(p);
        else if (st.size < 10 * 1024 * 1024) files.push(`${p}\n${readFileSync(p, 'utf8')}`);
      }
    };
    walk(s.config.home);
    expect(files.length).toBeGreaterThan(0);
    expect(files.join('\n')).toContain('about to fail');
    sources.files = files.join('\n');

    // Every Temporal execution of every run (continue-as-new chains included), payloads decoded.
    const runs = await db.selectFrom('workflow_run').select('temporal_workflow_id').execute();
    const histories: string[] = [];
    for (const { temporal_workflow_id: workflowId } of runs) {
      for await (const execution of s.temporal.client.workflow.list({ query: `WorkflowId = "${workflowId}"` })) {
        const history = await s.temporal.client.workflow.getHandle(workflowId, execution.runId).fetchHistory();
        histories.push(
          JSON.stringify(history, (_k, v) =>
            v instanceof Uint8Array ? Buffer.from(v).toString('utf8') + ' ' + Buffer.from(v).toString('base64') : v,
          ),
        );
      }
    }
    expect(histories.length).toBeGreaterThanOrEqual(3);
    // Payloads are searched decoded: the activities' arguments and results are readable here.
    expect(histories.join('\n')).toContain('runBatch');
    sources.temporal = histories.join('\n');

    const report = Object.entries(sources).map(([where, text]) => ({
      where,
      bytes: text.length,
      leaks: leaks(text, secrets),
    }));
    console.log(
      `secrets searched: ${JSON.stringify(report.map((r) => ({ where: r.where, bytes: r.bytes })))}, ${routes} API calls`,
    );
    expect(report.filter((r) => r.leaks.length > 0)).toEqual([]);
  }, 300_000);
});
