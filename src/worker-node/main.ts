#!/usr/bin/env node
/**
 * Entry point of the worker-node wrapper, what a distributor runs for each task instance:
 *
 *   node dist/worker-node/wrapper.cjs (or dist/src/worker-node/main.js) --task-instance-id N --api-url URL [--distributor-id ID]
 *
 * The API token comes from JMT_TOKEN (never the command line: `ps` would show it). Imports only
 * Node built-ins and files of this folder, so it can be bundled into one file for compute nodes.
 */
import { parseArgs } from 'node:util';
import { retryPolicyFromEnv } from './api-client';
import { runWrapper, WRAPPER_FAILURE_EXIT_CODE } from './wrapper';

/** Exit code for a wrong command line (before there is anything to report to). */
const USAGE_EXIT_CODE = 2;

async function main(argv: string[]): Promise<number> {
  let values: { 'task-instance-id'?: string; 'api-url'?: string; 'distributor-id'?: string };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        'task-instance-id': { type: 'string' },
        'api-url': { type: 'string' },
        'distributor-id': { type: 'string' },
      },
      strict: true,
    }));
  } catch (err) {
    return usage((err as Error).message);
  }
  const id = Number(values['task-instance-id']);
  if (!Number.isSafeInteger(id) || id <= 0) return usage('--task-instance-id must be a positive integer');
  const apiUrl = values['api-url'] ?? process.env.JMT_API_URL;
  if (!apiUrl) return usage('--api-url (or JMT_API_URL) is required');

  const log = (message: string): void => {
    process.stderr.write(`${new Date().toISOString()} worker-node ti=${id} pid=${process.pid}: ${message}\n`);
  };
  return runWrapper({
    taskInstanceId: id,
    apiUrl,
    distributorId: values['distributor-id'],
    token: process.env.JMT_TOKEN || undefined,
    retryPolicy: retryPolicyFromEnv(process.env),
    log,
  });
}

function usage(problem: string): number {
  process.stderr.write(
    `worker-node: ${problem}\nusage: main.js --task-instance-id N --api-url URL [--distributor-id ID]\n`,
  );
  return USAGE_EXIT_CODE;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`worker-node: unexpected failure: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(WRAPPER_FAILURE_EXIT_CODE);
  },
);
