import { describe, expect, it } from 'vitest';
import { checkTemplateArgs, parseCommandTemplate, renderCommand } from '../../src/domain/command-template';
import { JobmonError } from '../../src/domain/errors';

function fieldOf(fn: () => unknown): { field?: string; code: string } {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(JobmonError);
    return { field: (err as JobmonError).field, code: (err as JobmonError).code };
  }
  throw new Error('expected a JobmonError');
}

describe('parseCommandTemplate / renderCommand', () => {
  it('splits literals and placeholders and renders like str.format', () => {
    const t = parseCommandTemplate('python m.py --loc {location_id} {verbose} --again {location_id}', 'f');
    expect(t.placeholders).toEqual(['location_id', 'verbose']);
    expect(renderCommand(t, { location_id: '7', verbose: '-v' })).toBe('python m.py --loc 7 -v --again 7');
  });

  it('treats {{ and }} as literal braces', () => {
    const t = parseCommandTemplate("awk '{{print $1}}' {file} {{x}}", 'f');
    expect(t.placeholders).toEqual(['file']);
    expect(renderCommand(t, { file: 'a.txt' })).toBe("awk '{print $1}' a.txt {x}");
  });

  it('renders a template without placeholders unchanged', () => {
    expect(renderCommand(parseCommandTemplate('echo hi', 'f'), {})).toBe('echo hi');
  });

  it.each([
    ['echo {', 'unclosed'],
    ['echo }', "single '}'"],
    ['echo {a {b}', 'unclosed'],
    ['echo {}', 'positional'],
    ['echo {0}', 'not a plain arg name'],
    ['echo {a.b}', 'not a plain arg name'],
    ['echo {a!r}', 'not a plain arg name'],
    ['echo {a:>5}', 'not a plain arg name'],
  ])('rejects %s', (source, message) => {
    expect(() => parseCommandTemplate(source, 'task_templates[0].command_template')).toThrow(message);
    expect(fieldOf(() => parseCommandTemplate(source, 'task_templates[0].command_template'))).toEqual({
      field: 'task_templates[0].command_template',
      code: 'bad_command_template',
    });
  });
});

describe('checkTemplateArgs', () => {
  const base = { command_template: 'run {a} {b} {c}', node_args: ['a'], task_args: ['b'], op_args: ['c'] };

  it('accepts matching declarations', () => {
    const r = checkTemplateArgs(base, 'task_templates[0]');
    expect([r.nodeArgs, r.taskArgs, r.opArgs]).toEqual([['a'], ['b'], ['c']]);
  });

  it('names the command template when a placeholder is undeclared', () => {
    expect(fieldOf(() => checkTemplateArgs({ ...base, op_args: [] }, 'task_templates[1]'))).toEqual({
      field: 'task_templates[1].command_template',
      code: 'unknown_arg',
    });
  });

  it('names the declaration when an arg is declared twice across lists', () => {
    expect(fieldOf(() => checkTemplateArgs({ ...base, op_args: ['c', 'a'] }, 'task_templates[0]'))).toEqual({
      field: 'task_templates[0].op_args[1]',
      code: 'duplicate_arg',
    });
  });

  it('rejects arg names that are not identifiers', () => {
    expect(fieldOf(() => checkTemplateArgs({ command_template: 'x {a}', node_args: ['a', '1x'] }, 't'))).toEqual({
      field: 't.node_args[1]',
      code: 'bad_arg_name',
    });
  });

  it('rejects a declared arg the command never uses', () => {
    expect(
      fieldOf(() => checkTemplateArgs({ command_template: 'x {a}', node_args: ['a'], task_args: ['b'] }, 't')),
    ).toEqual({
      field: 't.task_args[0]',
      code: 'unused_arg',
    });
  });

  it('rejects an empty command template', () => {
    expect(fieldOf(() => checkTemplateArgs({ command_template: ' ' }, 't')).field).toBe('t.command_template');
  });
});
