/**
 * CPU to check one task whose upstream list is huge (issue #13: the duplicate scan was O(n²), so
 * 80,000 keys blocked the API process ~5 s). A benchmark, not a test: it prints CPU per case and
 * saves bench/results/upstream-check-latest.json. Each case is what the API does with such a
 * chunk: parse the body, run the input guards' scans, check the task (`planChunk`).
 *
 *   npm run bench:upstream            # 80,000 and 1,000,000 keys, distinct and with a repeat
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { jsonDepth } from '../src/api/input-guards';
import { projectRoot } from '../src/config';
import { checkDraftSpec, type ClusterCatalog } from '../src/domain/bind-checks';
import { planChunk } from '../src/domain/bind-plan';
import { JobmonError } from '../src/domain/errors';
import { round } from './support';

const catalog: ClusterCatalog = new Map([['dummy', new Map([['null.q', {}]])]]);
const draft = checkDraftSpec(
  {
    tool: { name: 'bench' },
    workflow: {
      workflow_args: 'upstream-check',
      default_cluster_name: 'dummy',
      default_compute_resources: { queue: 'null.q' },
    },
    task_templates: [{ name: 't', command_template: 'echo {i}', node_args: ['i'] }],
  },
  catalog,
);

function cpuMs(fn: () => void): number {
  const start = process.cpuUsage();
  fn();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

interface Case {
  keys: number;
  repeat: boolean;
  body_mib: number;
  cpu_ms: number;
  answer: string;
}

function runCase(keys: number, repeat: boolean): Case {
  const upstream = Array.from({ length: keys }, (_, i) => `task-${i}`);
  if (repeat) upstream[keys - 1] = upstream[0];
  const text = JSON.stringify({ tasks: [{ key: 'big', template: 't', node_args: { i: 0 }, upstream }] });
  let answer = 'accepted';
  const cpu = cpuMs(() => {
    jsonDepth(text);
    text.includes('\\u0000');
    const body = JSON.parse(text) as { tasks: unknown[] };
    try {
      planChunk(draft, body.tasks, 0, catalog);
    } catch (err) {
      if (!(err instanceof JobmonError)) throw err;
      answer = `${err.code} ${err.field}`;
    }
  });
  return { keys, repeat, body_mib: round(text.length / 2 ** 20), cpu_ms: round(cpu, 1), answer };
}

const cases: Case[] = [];
for (const keys of [80_000, 1_000_000]) for (const repeat of [false, true]) cases.push(runCase(keys, repeat));
console.table(cases);
const out = path.join(projectRoot(), 'bench', 'results');
mkdirSync(out, { recursive: true });
const result = { date: new Date().toISOString(), node: process.version, cases };
writeFileSync(path.join(out, 'upstream-check-latest.json'), `${JSON.stringify(result, null, 2)}\n`);
