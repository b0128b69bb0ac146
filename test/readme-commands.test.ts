/**
 * The README's commands run as written (issue 17): every `jmt` line of its command block and of
 * its shell examples names a real command, and every option it shows is one that command takes.
 * Each is checked through `jmt <command> --help`, so a renamed flag (`--since` for `--from`) or a
 * dropped subcommand fails here, not in front of a user.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/main';

const README = readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');

interface ReadmeCommand {
  line: string;
  words: string[];
  options: string[];
}

/** `jmt` lines of the README's fenced blocks; indented lines continue the command above. */
export function readmeCommands(markdown: string): ReadmeCommand[] {
  const lines: string[] = [];
  let fence: string | undefined; // language of the open block ('' for a plain one), else undefined
  let previousWasJmt = false;
  for (const raw of markdown.split('\n')) {
    const opening = /^```(\w*)\s*$/.exec(raw);
    if (opening) {
      fence = fence === undefined ? opening[1] : undefined;
      previousWasJmt = false;
      continue;
    }
    if (fence === undefined || !['', 'sh', 'bash'].includes(fence)) continue;
    const line = raw.replace(/\s#\s.*$/, '').trimEnd();
    if (/^jmt\s/.test(line)) {
      lines.push(line);
      previousWasJmt = true;
    } else if (previousWasJmt && /^\s+\[?--/.test(line)) {
      lines[lines.length - 1] += ` ${line.trim()}`;
    } else {
      previousWasJmt = false;
    }
  }
  const out: ReadmeCommand[] = [];
  for (const line of lines) {
    // The description column starts after a run of spaces; it may name this command's options
    // too (`(--format yaml|csv)`), but not inside backquotes, which quote other commands.
    const tokens = line.split(/\s{2,}/)[0].split(/\s+/);
    const words: string[] = [];
    for (const t of tokens.slice(1)) {
      if (!/^[a-z][a-z|-]*$/.test(t)) break;
      words.push(t);
    }
    const unquoted = line.replace(/`[^`]*`/g, '');
    const options = [...new Set([...unquoted.matchAll(/(?<![\w-])(--[a-z][a-z-]*)/g)].map((m) => m[1]))];
    // `pause|unpause` documents two commands with the same options.
    const last = words[words.length - 1] ?? '';
    for (const alternative of last.split('|')) out.push({ line, words: [...words.slice(0, -1), alternative], options });
  }
  return out;
}

async function help(words: string[]): Promise<{ code: number; text: string }> {
  let text = '';
  const io = { stdout: { write: (t: string) => (text += t) }, stderr: { write: (t: string) => (text += t) } };
  const code = await runCli([...words, '--help'], io, { env: {} });
  return { code, text };
}

describe("README's jmt commands", () => {
  const commands = readmeCommands(README);

  it('finds the command block and the shell examples', () => {
    expect(commands.length).toBeGreaterThan(25);
    expect(commands.map((c) => c.words.join(' '))).toEqual(
      expect.arrayContaining(['workflow status', 'workflow search', 'task logs', 'workflow pause', 'workflow unpause']),
    );
  });

  for (const command of commands) {
    it(`jmt ${command.words.join(' ')} takes ${command.options.join(' ') || 'its arguments'}`, async () => {
      const { code, text } = await help(command.words);
      expect(code, `${command.line}\n${text}`).toBe(0);
      expect(text, command.line).toContain(`Usage: jmt ${command.words.join(' ')}`);
      for (const option of command.options) {
        // Global options (--json, --api-url) are on every command's help under "Options".
        expect(text, `README: ${command.line}\n--help of jmt ${command.words.join(' ')}:\n${text}`).toMatch(
          new RegExp(`(^|[\\s,])${option}(\\b|[\\s=<])`, 'm'),
        );
      }
    });
  }
});
