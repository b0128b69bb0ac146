/**
 * How distributors start the worker-node wrapper. Kept apart from the wrapper itself, which must
 * not import the project's config (it runs on compute nodes as a standalone file).
 */
import path from 'node:path';
import { projectRoot } from '../config';

/** `[node, <project>/dist/src/worker-node/main.js]`; append the wrapper's arguments. */
export function wrapperCommand(): string[] {
  return [process.execPath, path.join(projectRoot(), 'dist', 'src', 'worker-node', 'main.js')];
}
