/**
 * The `jmt` command tree and `runCli`, the whole CLI as a function: tests call it in-process with
 * their own stdout/stderr and get the exit code back; main.ts is only the process entry.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Command, CommanderError } from 'commander';
import { projectRoot } from '../config';
import { registerBindCommand } from './bind';
import { createContext } from './context';
import { registerDagCommand } from './dag';
import { registerDoctorCommand } from './doctor';
import { EXIT_ERROR, reportError } from './errors';
import type { CliIo } from './output';
import { registerTaskCommands } from './task';
import { registerResourcesCommand } from './resources';
import { registerToolCommands } from './tool';
import { registerUpDownCommands } from './up';
import { registerShareGroup } from './workflow/shares';
import { registerWorkflowCommands } from './workflow/commands';

export type { CliIo } from './output';

export interface RunCliOptions {
  /** Environment for config and JMT_DEBUG; process.env by default. */
  env?: NodeJS.ProcessEnv;
}

export async function runCli(argv: readonly string[], io: CliIo, options: RunCliOptions = {}): Promise<number> {
  const ctx = createContext(io, options.env ?? process.env);
  const program = buildProgram(ctx.io);
  registerWorkflowCommands(program, ctx);
  registerTaskCommands(program, ctx);
  registerBindCommand(program, ctx);
  registerUpDownCommands(program, ctx);
  registerShareGroup(program, ctx);
  registerToolCommands(program, ctx);
  registerResourcesCommand(program, ctx);
  registerDagCommand(program, ctx);
  registerDoctorCommand(program, ctx);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return ctx.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end parsing with exit code 0; usage errors were already printed as one line.
      return err.exitCode === 0 ? 0 : EXIT_ERROR;
    }
    return reportError(err, io, ctx.env);
  }
}

function buildProgram(io: CliIo): Command {
  const program = new Command('jmt')
    .description("Jobmon's workflows on Temporal and Postgres")
    .version(readVersion(), '-V, --version')
    .option('--api-url <url>', 'base URL of the API (default: JMT_API_URL or http://127.0.0.1:8070)')
    // Set before any subcommand is added: commander copies these settings into each subcommand.
    .exitOverride()
    .configureOutput({
      writeOut: (text) => void io.stdout.write(text),
      writeErr: (text) => void io.stderr.write(text),
      // Commander's own usage errors, e.g. a missing argument or an unknown option, as one `jmt:` line.
      outputError: (text, write) =>
        write(
          `jmt: ${text
            .replace(/^error: /, '')
            .replace(/\s*\n\s*/g, ' ')
            .trim()}\n`,
        ),
    });
  return program;
}

function readVersion(): string {
  try {
    return (JSON.parse(readFileSync(path.join(projectRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}
