/**
 * A small but realistic Jobmon-style pipeline, run end to end on this machine:
 *
 *   prepare_inputs ─▶ model (location × sex × year: 48 tasks) ─▶ aggregate (per location: 6) ─▶ summarize
 *
 * Each task is a real command that reads what its upstream tasks wrote and writes its own output,
 * run by the multiprocess distributor through the worker-node wrapper, with logs per task
 * instance. Run it again and it resumes: DONE tasks are not run again.
 *
 *   node dist/examples/burden-pipeline.js [--cluster multiprocess|sequential|slurm] [--out DIR] [--workflow-args ARGS]
 *
 * `--cluster slurm` runs the same pipeline on Slurm (`npm run slurm:up` first): partition `debug`.
 */
import { chmodSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApiClient, Tool } from '../src/client';
import { loadConfig } from '../src/config';

const LOCATIONS = [101, 102, 103, 104, 105, 106];
const SEXES = ['male', 'female'];
const YEARS = [2000, 2010, 2020, 2025];

function option(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const config = loadConfig();
  const cluster = option('--cluster') ?? 'multiprocess';
  // Local clusters have the one queue `null.q`; on Slurm a queue is a partition.
  const queue = cluster === 'slurm' ? 'debug' : 'null.q';
  const out = path.resolve(option('--out') ?? path.join(os.tmpdir(), `jmt-burden-example-${cluster}`));
  mkdirSync(out, { recursive: true });
  // Slurm jobs run as the cluster's job user, not as the user who starts the example.
  if (cluster === 'slurm') chmodSync(out, 0o777);
  const tool = new Tool('burden_example', { config });

  const prepare = tool.getTaskTemplate({
    templateName: 'prepare_inputs',
    commandTemplate:
      'mkdir -p {out}/inputs && for l in {locations}; do echo "$l $((l * 37 % 101))" > {out}/inputs/$l.txt; done',
    nodeArgs: [],
    taskArgs: ['out', 'locations'],
    defaultComputeResources: { queue, cores: 1, memory: '512M', runtime: '5m' },
  });
  const model = tool.getTaskTemplate({
    templateName: 'model',
    // A stand-in for a model fit: reads its location's input, computes an estimate, sleeps a moment.
    commandTemplate:
      'mkdir -p {out}/models && read loc base < {out}/inputs/{location_id}.txt && ' +
      'sleep 0.2 && echo "{location_id} {sex} {year} $(( (base + {year} % 97) * ({sex_factor}) ))" > {out}/models/{location_id}_{sex}_{year}.txt',
    nodeArgs: ['location_id', 'sex', 'year'],
    taskArgs: ['out', 'sex_factor'],
    defaultComputeResources: { queue, cores: 1, memory: '1G', runtime: '10m' },
    defaultMaxAttempts: 3,
  });
  const aggregate = tool.getTaskTemplate({
    templateName: 'aggregate',
    commandTemplate:
      'mkdir -p {out}/agg && cat {out}/models/{location_id}_*.txt | awk \'{{s += $4}} END {{print "{location_id}", s}}\' > {out}/agg/{location_id}.txt',
    nodeArgs: ['location_id'],
    taskArgs: ['out'],
    defaultComputeResources: { queue, cores: 1, memory: '512M', runtime: '5m' },
  });
  const summarize = tool.getTaskTemplate({
    templateName: 'summarize',
    commandTemplate:
      'sort -n {out}/agg/*.txt > {out}/summary.txt && echo "summary of $(wc -l < {out}/summary.txt) locations"',
    nodeArgs: [],
    taskArgs: ['out'],
    defaultComputeResources: { queue, cores: 1, memory: '512M', runtime: '5m' },
  });

  const workflow = tool.createWorkflow({
    workflowArgs: option('--workflow-args') ?? `burden-example:${cluster}:${out}`,
    name: 'burden example',
    description: 'prepare → model per location × sex × year → aggregate per location → summary',
    workflowAttributes: { release: 'example-1', owner: config.user },
    maxConcurrentlyRunning: 8,
    defaultClusterName: cluster,
  });
  const prep = prepare.createTask({ out, locations: LOCATIONS.join(' ') });
  const aggregates = LOCATIONS.map((location) => {
    const models = SEXES.flatMap((sex) =>
      model.createTasks({
        location_id: location,
        sex,
        year: YEARS,
        out,
        sex_factor: sex === 'male' ? 11 : 10,
        upstreamTasks: [prep],
      }),
    );
    workflow.addTasks(models);
    return aggregate.createTask({ location_id: location, out, upstreamTasks: models });
  });
  workflow.addTasks([prep, ...aggregates, summarize.createTask({ out, upstreamTasks: aggregates })]);
  workflow.setTaskTemplateMaxConcurrencyLimit('model', 6);

  const status = await workflow.run();
  await printStatus(config, workflow.workflowId as number);
  console.log(`outputs in ${out}; logs under ${config.logDir}`);
  console.log(`stop the background services with: npx jmt down`);
  process.exit(status === 'D' ? 0 : 1);
}

interface StatusReport {
  workflow_id: number;
  name: string;
  status: string;
  status_label: string;
  num_tasks: number;
  percent_done: number;
  templates: { name: string; buckets: Record<string, number> }[];
  run: { id: number; status: string; status_label: string; temporal_ui_url: string } | null;
}

async function printStatus(config: ReturnType<typeof loadConfig>, workflowId: number): Promise<void> {
  const api = ApiClient.fromConfig(config);
  const s = await api.get<StatusReport>(`/workflows/${workflowId}/status`);
  const cols = ['PENDING', 'SCHEDULED', 'RUNNING', 'DONE', 'FATAL'];
  const rows = s.templates.map((t) => [t.name, ...cols.map((c) => String(t.buckets[c] ?? 0))]);
  const header = ['TEMPLATE', ...cols];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(
    `\nworkflow ${s.workflow_id} "${s.name}": ${s.status_label} (${s.status}), ${s.num_tasks} tasks, ${s.percent_done}% done`,
  );
  console.log(line(header));
  for (const r of rows) console.log(line(r));
  if (s.run) {
    console.log(`run ${s.run.id}: ${s.run.status_label} (${s.run.status})`);
    console.log(`Temporal Web UI: ${s.run.temporal_ui_url}`);
  }
}

main().catch((err) => {
  console.error(`burden-pipeline: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(2);
});
