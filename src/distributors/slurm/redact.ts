/**
 * Last line of defence for messages that leave the distributor (logs, task errors shown in the API
 * and GUI, activity failures in Temporal history): anything shaped like a Slurm JWT, a
 * `SLURM_JWT=` assignment or an `X-SLURM-USER-TOKEN` header value is blanked out. The code never
 * puts a token into a message on purpose; this covers what a tool or server might echo back.
 */
const JWT = /\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g;
const ASSIGNED = /(SLURM_JWT=|X-SLURM-USER-TOKEN["']?\s*[:=]\s*["']?)[^\s"',;]+/gi;

export const REDACTED = '[redacted]';

export function redactSecrets(text: string): string {
  return text.replace(ASSIGNED, `$1${REDACTED}`).replace(JWT, REDACTED);
}
