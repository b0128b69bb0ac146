/**
 * Job tokens: what a worker-node wrapper presents to the API instead of anybody's API token.
 *
 * Why: a job's environment is readable by the account the job runs as (on Slurm, the workflow's
 * owner: `scontrol show job`, /proc). Handing jobs the worker's own API token would let any workflow
 * owner act with the service's rights. A job token instead says "I am a job of batch B" and
 * authorises exactly the four wrapper callbacks (running, heartbeat, done, error) of the task
 * instances of batch B — nothing else, for no other batch.
 *
 * A token is `jmtjob1.<batch id>.<HMAC-SHA256(key, "jmt-job-token:v1:batch:<batch id>")>` in
 * base64url. It is derived, not stored: a batch resubmitted or adopted after a crash gets the same
 * token, and nothing needs cleaning up. The key is a server secret in Postgres (src/sql/server-secrets.ts);
 * deleting it rotates the key and invalidates every outstanding job token (running jobs then go
 * silent, are found lost and retried — the price of a rotation, said in docs/reliability.md).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

const PREFIX = 'jmtjob1';
const TOKEN_RE = /^jmtjob1\.([1-9][0-9]{0,15})\.([A-Za-z0-9_-]{43})$/;

function mac(key: Buffer, batchId: number): Buffer {
  return createHmac('sha256', key).update(`jmt-job-token:v1:batch:${batchId}`, 'utf8').digest();
}

export function mintJobToken(key: Buffer, batchId: number): string {
  if (!Number.isSafeInteger(batchId) || batchId <= 0) throw new Error(`batch id must be a positive integer`);
  return `${PREFIX}.${batchId}.${mac(key, batchId).toString('base64url')}`;
}

/** Whether `token` has the shape of a job token (then it must verify; it is never an API token). */
export const looksLikeJobToken = (token: string): boolean => token.startsWith(`${PREFIX}.`);

/** The batch a valid job token is for, or undefined when it is malformed or its MAC is wrong. */
export function verifyJobToken(key: Buffer, token: string): number | undefined {
  const m = TOKEN_RE.exec(token);
  if (!m) return undefined;
  const batchId = Number(m[1]);
  if (!Number.isSafeInteger(batchId)) return undefined;
  const given = Buffer.from(m[2], 'base64url');
  const expected = mac(key, batchId);
  return given.length === expected.length && timingSafeEqual(given, expected) ? batchId : undefined;
}
