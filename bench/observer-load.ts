/**
 * Observers under load: one endpoint under `connections` concurrent keep-alive clients
 * (autocannon, loopback) for `duration` seconds, with exact percentiles over every response.
 * Shared by bench:api (after a run) and bench:million (while the run goes).
 */
import autocannon from 'autocannon';
import { round } from './support';

export interface EndpointFigures {
  endpoint: string;
  requests: number;
  requestsPerSecond: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  errors: number;
  meanBytes: number;
}

const percentile = (sorted: number[], p: number): number =>
  sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

/** One endpoint under `connections` concurrent keep-alive clients for `duration` seconds. */
export async function load(
  name: string,
  url: string,
  paths: () => string,
  connections: number,
  duration: number,
): Promise<EndpointFigures> {
  const times: number[] = [];
  let errors = 0;
  let bytes = 0;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url,
        connections,
        duration,
        requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: paths() }) }],
      },
      (err, res) => (err ? reject(err) : resolve(res)),
    );
    // Every response's own time, so p95 is exact (autocannon's summary has p90 and p97.5 only).
    instance.on('response', (_client, statusCode, resBytes, responseTime) => {
      times.push(responseTime);
      bytes += resBytes;
      if (statusCode >= 400) errors += 1;
    });
  });
  times.sort((a, b) => a - b);
  return {
    endpoint: name,
    requests: times.length,
    requestsPerSecond: round(times.length / duration, 1),
    p50Ms: round(percentile(times, 50), 1),
    p95Ms: round(percentile(times, 95), 1),
    p99Ms: round(percentile(times, 99), 1),
    maxMs: round(times[times.length - 1] ?? NaN, 1),
    errors: errors + result.errors + result.timeouts,
    meanBytes: Math.round(bytes / Math.max(1, times.length)),
  };
}
