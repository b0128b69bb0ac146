/**
 * Command templates in Python `str.format` style, as Jobmon users write them:
 * `python model.py --loc {location_id} {verbose}`; `{{` and `}}` are literal braces.
 *
 * Only plain named placeholders are accepted. Positional (`{}`, `{0}`), attribute/index (`{a.b}`,
 * `{a[0]}`), conversions (`{a!r}`) and format specs (`{a:>5}`) would need Python's semantics to
 * render identically, and Jobmon commands do not use them; rejecting them up front beats rendering
 * something subtly different from what the user's Python code would have produced.
 */
import { invalid } from './errors';

/** A template split into literal text and placeholder names, ready to render many times. */
export interface CommandTemplate {
  readonly source: string;
  /** Literal text at even positions, arg names at odd positions: `[lit, arg, lit, arg, lit]`. */
  readonly parts: readonly string[];
  /** Distinct placeholder names, in order of first appearance. */
  readonly placeholders: readonly string[];
}

/** Arg names must be Python identifiers, because Jobmon passes them as `str.format` keywords. */
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function isValidArgName(name: string): boolean {
  return IDENTIFIER.test(name);
}

/** Parse `source`; a malformed template is a JobmonError naming `field`. */
export function parseCommandTemplate(source: string, field: string): CommandTemplate {
  const parts: string[] = [];
  const placeholders: string[] = [];
  const seen = new Set<string>(); // placeholders as a Set: a long template may hold thousands
  let literal = '';
  let i = 0;
  while (i < source.length) {
    const ch = source[i];
    if (ch === '{' && source[i + 1] === '{') {
      literal += '{';
      i += 2;
    } else if (ch === '}' && source[i + 1] === '}') {
      literal += '}';
      i += 2;
    } else if (ch === '}') {
      throw invalid(field, `single '}' at position ${i}; write '}}' for a literal brace`, 'bad_command_template');
    } else if (ch === '{') {
      const close = source.indexOf('}', i + 1);
      const nextOpen = source.indexOf('{', i + 1);
      if (close < 0 || (nextOpen >= 0 && nextOpen < close)) {
        throw invalid(field, `unclosed '{' at position ${i}; write '{{' for a literal brace`, 'bad_command_template');
      }
      const name = source.slice(i + 1, close);
      if (!IDENTIFIER.test(name)) {
        throw invalid(
          field,
          name === ''
            ? `positional placeholder '{}' at position ${i}: name it after a declared arg, e.g. '{location_id}'`
            : `placeholder '{${name}}' at position ${i} is not a plain arg name (conversions, format specs, attributes and indexes are not supported)`,
          'bad_command_template',
        );
      }
      parts.push(literal, name);
      literal = '';
      if (!seen.has(name)) {
        seen.add(name);
        placeholders.push(name);
      }
      i = close + 1;
    } else {
      literal += ch;
      i += 1;
    }
  }
  parts.push(literal);
  return { source, parts, placeholders };
}

/**
 * Render with values looked up in `sources` in order (node, task and op args are separate objects;
 * merging them per task would cost an object per task). Every placeholder must have a value:
 * callers check args against the template first, so a missing one is a programming error.
 */
export function renderCommand(template: CommandTemplate, ...sources: Readonly<Record<string, string>>[]): string {
  const { parts } = template;
  let out = parts[0];
  for (let k = 1; k < parts.length; k += 2) {
    let value: string | undefined;
    for (let s = 0; s < sources.length && value === undefined; s++) value = sources[s][parts[k]];
    if (value === undefined) throw new Error(`renderCommand: no value for placeholder {${parts[k]}}`);
    out += value + parts[k + 1];
  }
  return out;
}

export interface TemplateArgsInput {
  command_template?: unknown;
  node_args?: unknown;
  task_args?: unknown;
  op_args?: unknown;
}

export interface CheckedTemplateArgs {
  command: CommandTemplate;
  nodeArgs: string[];
  taskArgs: string[];
  opArgs: string[];
}

const ARG_KINDS = ['node_args', 'task_args', 'op_args'] as const;

/**
 * Check a template's command and arg declarations together (`prefix` e.g. `task_templates[1]`):
 * arg names are identifiers declared once across the three lists; every placeholder is declared;
 * every declared arg appears in the command (Jobmon's "command_template must be a superset of the
 * declared args": an arg that never reaches the command would still split task identity).
 */
export function checkTemplateArgs(input: TemplateArgsInput, prefix: string): CheckedTemplateArgs {
  const field = `${prefix}.command_template`;
  if (typeof input.command_template !== 'string' || input.command_template.trim() === '') {
    throw invalid(field, 'command_template must be a non-empty string', 'bad_command_template');
  }
  const command = parseCommandTemplate(input.command_template, field);
  const declaredIn = new Map<string, string>();
  const lists: Record<(typeof ARG_KINDS)[number], string[]> = { node_args: [], task_args: [], op_args: [] };
  for (const kind of ARG_KINDS) {
    const raw = input[kind];
    if (raw === undefined || raw === null) continue;
    if (!Array.isArray(raw)) throw invalid(`${prefix}.${kind}`, `${kind} must be a list of arg names`);
    raw.forEach((name: unknown, j) => {
      const argField = `${prefix}.${kind}[${j}]`;
      if (typeof name !== 'string' || !IDENTIFIER.test(name)) {
        throw invalid(
          argField,
          `arg name ${JSON.stringify(name)} must be an identifier (letters, digits, _; not starting with a digit)`,
          'bad_arg_name',
        );
      }
      const earlier = declaredIn.get(name);
      if (earlier) throw invalid(argField, `arg "${name}" is already declared at ${earlier}`, 'duplicate_arg');
      declaredIn.set(name, argField);
      lists[kind].push(name);
    });
  }
  for (const name of command.placeholders) {
    if (!declaredIn.has(name)) {
      throw invalid(field, `placeholder {${name}} is not declared in node_args, task_args or op_args`, 'unknown_arg');
    }
  }
  const used = new Set(command.placeholders);
  for (const [name, argField] of declaredIn) {
    if (!used.has(name)) {
      throw invalid(argField, `arg "${name}" does not appear in command_template as {${name}}`, 'unused_arg');
    }
  }
  return { command, nodeArgs: lists.node_args, taskArgs: lists.task_args, opArgs: lists.op_args };
}
