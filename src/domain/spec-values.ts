/**
 * Checks of single values in a bind spec (objects, counts, attributes, resource layers, scales).
 * Each takes the dotted `field` of the value so that an error points at exactly what to fix;
 * input arrives as parsed JSON, so nothing here trusts the TypeScript types of bind-spec.ts.
 */
import { invalid } from './errors';
import { normalizeResources, ResourceError, type ResourceScales, type Resources } from './resources';

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `undefined` for absent/null, the object otherwise; anything else is an error at `field`. */
export function optionalObject(value: unknown, field: string): Record<string, unknown> | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isPlainObject(value)) throw invalid(field, `${field} must be an object`);
  return value;
}

/**
 * Refuse keys the spec does not define: a typo such as `upstreams` or `default_compute_resource`
 * would otherwise be ignored silently and bind a different DAG than the user meant.
 */
export function checkKnownFields(obj: Record<string, unknown>, allowed: ReadonlySet<string>, prefix: string): void {
  for (const key in obj) {
    if (!allowed.has(key)) {
      const field = prefix ? `${prefix}.${key}` : key;
      throw invalid(field, `unknown field "${key}" (expected one of: ${[...allowed].join(', ')})`, 'unknown_field');
    }
  }
}

export function optionalString(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalid(field, `${field} must be a string`);
  return value;
}

export function requiredString(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.trim() === '')
    throw invalid(field, `${field} must be a non-empty string`, 'required');
  return value;
}

const INT_MAX = 2_147_483_647;

export function optionalInt(value: unknown, field: string, min: number, max = INT_MAX): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(field, `${field} must be a whole number from ${min} to ${max}`);
  }
  return value;
}

/** Arg and attribute values: strings, or finite numbers stored as their decimal string. */
export function argValue(value: unknown, field: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  throw invalid(field, `${field} must be a string or a finite number`, 'bad_arg_value');
}

/** `{key: value}` attributes (Jobmon also takes a list of names: those become empty values). */
export function attributes(value: unknown, field: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (value === undefined || value === null) return out;
  if (Array.isArray(value)) {
    value.forEach((name, j) => {
      out[requiredString(name, `${field}[${j}]`)] = '';
    });
    return out;
  }
  if (!isPlainObject(value)) throw invalid(field, `${field} must be an object of name → value`);
  for (const [key, v] of Object.entries(value)) {
    if (key.trim() === '') throw invalid(field, `${field} has an empty attribute name`);
    out[key] = argValue(v, `${field}.${key}`);
  }
  return out;
}

export function stringList(value: unknown, field: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw invalid(field, `${field} must be a list of strings`);
  return value.map((v, j) => requiredString(v, `${field}[${j}]`));
}

/** Resource scales: per resource a factor ≥ 0 or a non-empty list of absolute values > 0. */
export function resourceScales(value: unknown, field: string): ResourceScales | undefined {
  const obj = optionalObject(value, field);
  if (!obj) return undefined;
  const out: ResourceScales = {};
  for (const [key, scale] of Object.entries(obj)) {
    const f = `${field}.${key}`;
    if (typeof scale === 'number') {
      if (!Number.isFinite(scale) || scale < 0)
        throw invalid(f, `${f} must be a factor ≥ 0 (0.5 = +50 % per retry)`, 'bad_resource_scales');
      out[key] = scale;
    } else if (Array.isArray(scale)) {
      if (scale.length === 0) throw invalid(f, `${f} must list at least one value`, 'bad_resource_scales');
      scale.forEach((v, j) => {
        if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
          throw invalid(
            `${f}[${j}]`,
            `${f}[${j}] must be a number > 0 (absolute value for that retry)`,
            'bad_resource_scales',
          );
        }
      });
      out[key] = [...(scale as number[])];
    } else {
      throw invalid(f, `${f} must be a number or a list of numbers`, 'bad_resource_scales');
    }
  }
  return out;
}

/**
 * One level of compute resources (workflow default, template default or task), normalised to
 * canonical units. Levels are merged key by key, and any level may omit the queue; `fields` keeps
 * where each key came from so a problem found after merging still names the user's input.
 */
export interface ResourceLayer {
  values: Partial<Resources>;
  fields: Record<string, string>;
}

/** Keys resources.ts accepts under another name, mapped to the key it stores. */
const RESOURCE_ALIASES: Record<string, string> = { num_cores: 'cores', max_runtime_seconds: 'runtime' };
const NO_QUEUE = '\u0000no-queue';

export function resourceLayer(value: unknown, field: string): ResourceLayer | undefined {
  const obj = optionalObject(value, field);
  if (!obj) return undefined;
  const hasQueue = obj.queue !== undefined && obj.queue !== null;
  let normalized: Resources;
  try {
    // normalizeResources insists on a queue; a level without one borrows a placeholder, dropped below.
    normalized = normalizeResources(hasQueue ? obj : { ...obj, queue: NO_QUEUE }, field);
  } catch (err) {
    if (err instanceof ResourceError) throw invalid(err.field, err.message, 'bad_resources');
    throw err;
  }
  const values: Partial<Resources> = { ...normalized };
  if (!hasQueue) delete values.queue;
  const fields: Record<string, string> = {};
  for (const key of Object.keys(obj)) {
    if (obj[key] === undefined || obj[key] === null) continue;
    fields[RESOURCE_ALIASES[key] ?? key] = `${field}.${key}`;
  }
  return { values, fields };
}
