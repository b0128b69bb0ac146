/**
 * Compute resources: parsing, validation against a queue's limits, and Jobmon's resource scaling
 * after a resource error (ADJUSTING_RESOURCES).
 *
 * Canonical units (what is stored and compared): memory in GiB, runtime in seconds, cores as a count.
 * Users may write memory as "8G", "512M", "1Gb" or a number of GiB, and runtime as "1h", "90m",
 * "3600s", "HH:MM:SS" or a number of seconds, as in Jobmon.
 */

export interface Resources {
  queue: string;
  cores?: number;
  memory?: number;
  runtime?: number;
  /** Anything else the distributor understands (e.g. Slurm `constraints`, `stdout` dirs). */
  [extra: string]: string | number | undefined;
}

/** Per resource: numeric factor (`ceil(v * (1 + s))`) or absolute values by attempt. */
export type ResourceScales = Record<string, number | number[]>;

/** Jobmon's default when nothing is set anywhere: +50 % memory and runtime per resource retry. */
export const DEFAULT_RESOURCE_SCALES: ResourceScales = { memory: 0.5, runtime: 0.5 };

export class ResourceError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'ResourceError';
  }
}

const MEMORY_UNITS: Record<string, number> = {
  '': 1,
  k: 1 / (1024 * 1024),
  kb: 1 / (1024 * 1024),
  m: 1 / 1024,
  mb: 1 / 1024,
  g: 1,
  gb: 1,
  t: 1024,
  tb: 1024,
};

export function parseMemoryGiB(value: unknown, field = 'memory'): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0)
      throw new ResourceError(field, `${field} must be a non-negative number of GiB`);
    return value;
  }
  if (typeof value !== 'string')
    throw new ResourceError(field, `${field} must be a number of GiB or a string like "8G"`);
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]b?|)\s*$/i.exec(value);
  if (!m) throw new ResourceError(field, `${field} "${value}" is not a memory size (examples: 8G, 512M, 2)`);
  return Number(m[1]) * MEMORY_UNITS[m[2].toLowerCase()];
}

export function parseRuntimeSeconds(value: unknown, field = 'runtime'): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value <= 0)
      throw new ResourceError(field, `${field} must be a positive number of seconds`);
    return Math.ceil(value);
  }
  if (typeof value !== 'string') throw new ResourceError(field, `${field} must be seconds or a string like "2h"`);
  const hms = /^\s*(\d+):(\d{1,2}):(\d{1,2})\s*$/.exec(value);
  if (hms) return Number(hms[1]) * 3600 + Number(hms[2]) * 60 + Number(hms[3]);
  const m = /^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$/i.exec(value);
  if (!m) throw new ResourceError(field, `${field} "${value}" is not a duration (examples: 3600, 90m, 2h, 01:30:00)`);
  const factor = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[m[2].toLowerCase() as '' | 's' | 'm' | 'h' | 'd'];
  const seconds = Math.ceil(Number(m[1]) * factor);
  if (seconds <= 0) throw new ResourceError(field, `${field} must be positive`);
  return seconds;
}

/** Turn user input into canonical Resources; throws ResourceError naming the bad field. */
export function normalizeResources(input: Record<string, unknown>, fieldPrefix = 'compute_resources'): Resources {
  const queue = input.queue;
  if (typeof queue !== 'string' || queue.length === 0) {
    throw new ResourceError(`${fieldPrefix}.queue`, 'A queue name must be provided');
  }
  const out: Resources = { queue };
  for (const [key, value] of Object.entries(input)) {
    if (key === 'queue' || value === undefined || value === null) continue;
    const field = `${fieldPrefix}.${key}`;
    if (key === 'memory') out.memory = parseMemoryGiB(value, field);
    else if (key === 'runtime' || key === 'max_runtime_seconds') out.runtime = parseRuntimeSeconds(value, field);
    else if (key === 'cores' || key === 'num_cores') {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
        throw new ResourceError(field, `${field} must be a whole number ≥ 1`);
      }
      out.cores = value;
    } else if (typeof value === 'string' || typeof value === 'number') out[key] = value;
    else throw new ResourceError(field, `${field} must be a string or a number`);
  }
  return out;
}

export type QueueLimits = Record<string, [number, number]>;

/** Problems of `resources` against `limits`, one line each; empty when the queue can take them. */
export function validateAgainstQueue(resources: Resources, limits: QueueLimits): string[] {
  const problems: string[] = [];
  for (const [key, [min, max]] of Object.entries(limits)) {
    const value = resources[key];
    if (typeof value !== 'number') continue;
    if (value < min || value > max)
      problems.push(`${key}=${value} is outside queue ${resources.queue}'s range [${min}, ${max}]`);
  }
  return problems;
}

/** Clamp numeric resources into the queue's limits (Jobmon's `coerce_resources`). */
export function coerceToQueue(resources: Resources, limits: QueueLimits): Resources {
  const out: Resources = { ...resources };
  for (const [key, [min, max]] of Object.entries(limits)) {
    const value = out[key];
    if (typeof value === 'number') out[key] = Math.min(max, Math.max(min, value));
  }
  return out;
}

/**
 * Resources for the next attempt after a resource error. `attempt` is the number of the attempt
 * that failed (1-based); list scales give absolute values by attempt and repeat the last value.
 */
export function scaleResources(resources: Resources, scales: ResourceScales, attempt: number): Resources {
  const out: Resources = { ...resources };
  for (const [key, scale] of Object.entries(scales)) {
    const value = out[key];
    if (typeof value !== 'number') continue;
    if (Array.isArray(scale)) {
      if (scale.length === 0) continue;
      out[key] = scale[Math.min(attempt - 1, scale.length - 1)];
    } else {
      const scaled = value * (1 + scale);
      // Memory may be fractional GiB; keep 3 decimals (1 MiB) rather than rounding up to whole GiB.
      out[key] = key === 'memory' ? Math.ceil(scaled * 1024) / 1024 : Math.ceil(scaled);
    }
  }
  return out;
}

/**
 * Pick where a scaled request goes: the current queue if it fits, else the first fallback queue
 * that fits, else the last candidate with the request clamped to its limits (Jobmon's behaviour).
 */
export function chooseQueue(
  scaled: Resources,
  fallbackQueues: readonly string[],
  limitsOf: (queue: string) => QueueLimits | undefined,
): Resources {
  const candidates = [scaled.queue, ...fallbackQueues.filter((q) => q !== scaled.queue)];
  for (const queue of candidates) {
    const limits = limitsOf(queue);
    if (!limits) continue;
    const moved = { ...scaled, queue };
    if (validateAgainstQueue(moved, limits).length === 0) return moved;
  }
  const last = candidates[candidates.length - 1];
  const limits = limitsOf(last);
  return limits ? coerceToQueue({ ...scaled, queue: last }, limits) : scaled;
}

/** Stable key of a resource request (queue + sorted entries): identical requests share a row. */
export function resourcesKey(clusterName: string, resources: Resources): string {
  const entries = Object.entries(resources)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([clusterName, entries]);
}
