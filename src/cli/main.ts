#!/usr/bin/env node
/** Process entry of `jmt` (package.json bin). Everything else is in program.ts so tests can call runCli. */
import { runCli } from './program';

export { runCli, type CliIo, type RunCliOptions } from './program';

if (require.main === module) {
  // exitCode, not process.exit(): lets pending stdout writes drain when piped.
  void runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr }).then((code) => {
    process.exitCode = code;
  });
}
