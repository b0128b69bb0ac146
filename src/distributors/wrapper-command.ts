/**
 * How distributors start the worker-node wrapper. It lives here, beside the distributors that use
 * it, and not in src/worker-node: the wrapper runs on compute nodes as a standalone file and
 * imports nothing but Node built-ins, while this needs the project's config (projectRoot).
 */
import path from 'node:path';
import { projectRoot } from '../config';

/** `[node, <project>/dist/src/worker-node/main.js]`; append the wrapper's arguments. */
export function wrapperCommand(): string[] {
  return [process.execPath, path.join(projectRoot(), 'dist', 'src', 'worker-node', 'main.js')];
}
