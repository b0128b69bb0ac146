/**
 * Who is calling, and what they may do.
 *
 * Tokens come from `JMT_TOKENS` as `token:user:role,...`, and/or are OIDC/JWT bearer tokens signed
 * by the site's identity provider (src/api/oidc.ts, `JMT_OIDC_*`). Without either the API runs in an explicit
 * local single-user mode: every request acts as the configured user with role `operator`, which is
 * what a laptop install wants and what `/health` reports, so nobody mistakes it for a secured API.
 *
 * Rules (checked here and by `assertMayActOn`):
 * - observers may only read (GET/HEAD);
 * - write routes need operator or admin; an operator may act only on their own workflows and those
 *   granted to them (`workflow_grant`), and only the owner or an admin grants;
 * - the worker-node wrapper callbacks (POST /task-instances/{id}/running|heartbeat|done|error) take
 *   the job token the job was given (src/domain/job-tokens.ts), valid only for the instances of its
 *   own batch, or an admin token (manual repair); so does their batch form (POST
 *   /task-instances/reports), whose route checks each item's batch. A job token opens no other route. Jobs never see
 *   anybody's API token: on a cluster they run as the workflow's owner, who could read it.
 */
import { createHash } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import { JobmonError } from '../domain/errors';
import { accessRefusal, ROLES, type Role } from '../domain/access';
import { looksLikeJobToken, verifyJobToken } from '../domain/job-tokens';
import { batchIdOfInstance, workflowAccess } from '../sql/access';
import type { Db } from '../sql/db';
import { resolveShareToken, workflowOfRoute } from '../sql/observe/shares';
import { serverSecret } from '../sql/server-secrets';
import { createOidcVerifier, loadOidcSettings, looksLikeJwt, type OidcVerifier } from './oidc';

export { ROLES, type Role } from '../domain/access';

export interface Identity {
  user: string;
  role: Role;
  /** Set when the request came with a read-only share link (`?share=` or the `jmt_share` cookie). */
  share?: { id: number; workflow_id: number };
  /** Set for a job token: the batch whose instances' callbacks it may make (and nothing else). */
  job?: { batchId: number };
}

export type AuthConfig =
  | { mode: 'local-single-user'; identity: Identity }
  | {
      mode: 'tokens';
      /** Keyed by SHA-256 of the token (see `lookupToken`); may be empty when OIDC is set. */
      tokens: ReadonlyMap<string, Identity>;
      /** Set when JWT bearer tokens of an identity provider are accepted too. */
      oidc?: OidcVerifier;
    };

/** Hono context variables set by the middleware. */
export interface AuthVariables {
  identity: Identity;
}

const sha256 = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/**
 * Parse `JMT_TOKENS` (`token:user:role,...`). A malformed entry is a startup error, never a silently
 * ignored token: an operator who typoed a role should find out before users get 401s.
 */
export function parseTokens(spec: string): Map<string, Identity> {
  const tokens = new Map<string, Identity>();
  spec
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0)
    .forEach((entry, index) => {
      const parts = entry.split(':');
      if (parts.length !== 3) throw new Error(`JMT_TOKENS entry ${index + 1} must be token:user:role`);
      const [token, user, role] = parts.map((p) => p.trim());
      if (token.length < 8) throw new Error(`JMT_TOKENS entry ${index + 1}: token must be at least 8 characters`);
      if (!user) throw new Error(`JMT_TOKENS entry ${index + 1}: user is empty`);
      if (!(ROLES as readonly string[]).includes(role)) {
        throw new Error(`JMT_TOKENS entry ${index + 1}: role "${role}" is not one of ${ROLES.join(', ')}`);
      }
      const key = sha256(token).toString('hex');
      if (tokens.has(key)) throw new Error(`JMT_TOKENS entry ${index + 1}: duplicate token`);
      tokens.set(key, { user, role: role as Role });
    });
  if (tokens.size === 0) throw new Error('JMT_TOKENS is set but lists no tokens (unset it for local single-user mode)');
  return tokens;
}

/** Auth settings of this process: tokens from `JMT_TOKENS`, or local single-user mode as `user`. */
export function loadAuthConfig(user: string, env: NodeJS.ProcessEnv = process.env): AuthConfig {
  const spec = env.JMT_TOKENS;
  const oidc = loadOidcSettings(env);
  if (spec === undefined && !oidc) return localAuth(user);
  return {
    mode: 'tokens',
    tokens: spec === undefined ? new Map() : parseTokens(spec),
    ...(oidc ? { oidc: createOidcVerifier(oidc) } : {}),
  };
}

export const localAuth = (user: string): AuthConfig => ({
  mode: 'local-single-user',
  identity: { user, role: 'operator' },
});

/**
 * Tokens are looked up by their SHA-256, so the map lookup's timing says nothing about how much of a
 * guessed token matched (a plain string-keyed lookup compares the secret itself).
 */
function lookupToken(auth: Extract<AuthConfig, { mode: 'tokens' }>, token: string): Identity | undefined {
  return auth.tokens.get(sha256(token).toString('hex'));
}

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The wrapper's callbacks, relative to the API prefix; group 1 is the task instance id. */
const CALLBACK_ROUTE = /^\/task-instances\/([0-9]{1,15})\/(?:running|heartbeat|done|error)$/;
/** The callbacks' batch form: which instances it names is in the body, checked per item by the route. */
const REPORT_BATCH_ROUTE = '/task-instances/reports';
const isCallbackRoute = (method: string, route: string) =>
  method === 'POST' && (CALLBACK_ROUTE.test(route) || route === REPORT_BATCH_ROUTE);

/**
 * The batch of a task instance never changes once written, so it is cached: a heartbeat then costs
 * no extra query for its authorisation. Bounded: the oldest half is dropped when it is full.
 */
const BATCH_CACHE_MAX = 200_000;
const batchCaches = new WeakMap<Db, Map<number, number>>();

async function batchOfInstance(db: Db, instanceId: number): Promise<number | undefined> {
  let batchCache = batchCaches.get(db);
  if (!batchCache) batchCaches.set(db, (batchCache = new Map()));
  const hit = batchCache.get(instanceId);
  if (hit !== undefined) return hit;
  const batchId = await batchIdOfInstance(db, instanceId);
  if (batchId === undefined) return undefined;
  if (batchCache.size >= BATCH_CACHE_MAX) {
    let drop = BATCH_CACHE_MAX / 2;
    for (const key of batchCache.keys()) {
      if (drop-- <= 0) break;
      batchCache.delete(key);
    }
  }
  batchCache.set(instanceId, batchId);
  return batchId;
}

/**
 * Who a job token speaks for: a job of one batch, on the callbacks of that batch's instances only.
 * An unknown instance passes (the route answers 404, as it would for an admin).
 */
async function jobIdentity(db: Db | undefined, token: string, method: string, route: string): Promise<Identity> {
  const callback = method === 'POST' ? CALLBACK_ROUTE.exec(route) : null;
  if (!callback && !isCallbackRoute(method, route)) {
    throw new JobmonError(
      'forbidden',
      'a job token may only report on its own task instances',
      'authorization',
      'forbidden',
    );
  }
  const batchId = db ? verifyJobToken(await serverSecret(db, 'job_token_key'), token) : undefined;
  if (batchId === undefined) {
    throw new JobmonError('unauthorized', 'invalid job token', 'authorization', 'unauthorized');
  }
  const instanceBatch = callback ? await batchOfInstance(db!, Number(callback[1])) : undefined;
  if (instanceBatch !== undefined && instanceBatch !== batchId) {
    throw new JobmonError(
      'forbidden',
      `this job token is for batch ${batchId}, not the batch of task instance ${callback![1]}`,
      'authorization',
      'forbidden',
    );
  }
  return { user: `job:batch-${batchId}`, role: 'observer', job: { batchId } };
}

/**
 * Sets `identity` on the context and enforces the role rules that depend on the route alone.
 * Ownership of a workflow needs the database and is checked by the routes (`assertMayActOn`).
 */
export function authMiddleware(
  auth: AuthConfig,
  apiPrefix: string,
  /** Given: share links (`?share=<token>` or cookie `jmt_share`, without an Authorization header) are accepted. */
  db?: Db,
): MiddlewareHandler<{ Variables: AuthVariables }> {
  return async (c, next) => {
    const route = c.req.path.slice(apiPrefix.length);
    const shareToken =
      db && !c.req.header('authorization') ? (c.req.query('share') ?? getCookie(c, 'jmt_share')) : undefined;
    if (db && shareToken) {
      c.set('identity', await shareIdentity(db, shareToken, c.req.method, c.req.path.slice(apiPrefix.length)));
      return next();
    }
    let identity: Identity;
    if (auth.mode === 'local-single-user') {
      identity = auth.identity;
    } else {
      const header = c.req.header('authorization') ?? '';
      const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
      if (!match)
        throw new JobmonError(
          'unauthorized',
          'an Authorization: Bearer <token> header is required',
          'authorization',
          'unauthorized',
        );
      if (looksLikeJobToken(match[1])) {
        c.set('identity', await jobIdentity(db, match[1], c.req.method, route));
        return next();
      }
      const found = lookupToken(auth, match[1]);
      if (found) identity = found;
      else if (auth.oidc && looksLikeJwt(match[1])) identity = await auth.oidc.verify(match[1]);
      else throw new JobmonError('unauthorized', 'unknown token', 'authorization', 'unauthorized');
    }
    const isCallback = isCallbackRoute(c.req.method, route);
    if (isCallback && auth.mode === 'tokens' && identity.role !== 'admin') {
      throw new JobmonError(
        'forbidden',
        `wrapper callbacks take the job's own token (or an admin's); user ${identity.user} has role ${identity.role}`,
        'authorization',
        'forbidden',
      );
    }
    if (identity.role === 'observer' && !READ_METHODS.has(c.req.method)) {
      throw new JobmonError(
        'forbidden',
        `user ${identity.user} has role observer, which may only read (GET)`,
        undefined,
        'forbidden',
      );
    }
    c.set('identity', identity);
    await next();
  };
}

/**
 * Operators may act on workflows they bound (the workflow's `user`) or were granted
 * (`workflow_grant`, migration 0006); admins on any. Throws 404 for an unknown workflow first, so a
 * 403 never hides a typo in the id.
 *
 * `grants: false` is for managing the grants themselves: only the owner or an admin may open the
 * workflow to others, so a grantee cannot pass it on.
 */
export async function assertMayActOn(
  db: Db,
  identity: Identity,
  workflowId: number,
  options: { grants?: boolean } = {},
): Promise<void> {
  const refusal = await actRefusal(db, identity, workflowId, options.grants ?? true);
  if (refusal) throw refusal;
}

/**
 * Whether `assertMayActOn` would let the caller act, for answers that show or hide controls (the
 * GUI's operator buttons). Unknown workflow: 404, as for the control itself.
 */
export async function mayActOn(db: Db, identity: Identity, workflowId: number, owner?: string): Promise<boolean> {
  if (owner !== undefined) {
    // With the owner known (the status read has it), the grant is looked up only when the answer
    // depends on it: an admin, an observer or the owner is answered without a round trip.
    const withoutGrant = accessRefusal(identity, workflowId, { owner, granted: false }) === null;
    const withGrant = accessRefusal(identity, workflowId, { owner, granted: true }) === null;
    if (withoutGrant === withGrant) return withoutGrant;
  }
  return (await actRefusal(db, identity, workflowId, true)) === null;
}

async function actRefusal(
  db: Db,
  identity: Identity,
  workflowId: number,
  allowGrants: boolean,
): Promise<JobmonError | null> {
  const access = await workflowAccess(db, workflowId, identity.user);
  if (!access) throw new JobmonError('not_found', `workflow ${workflowId} not found`, 'id', 'not_found');
  return accessRefusal(identity, workflowId, access, { allowGrants });
}

/**
 * A share link reads one workflow: GET routes under /workflows/<id>/, /tasks/<task of it>/ and
 * /task-instances/<instance of it>/logs, plus /whoami. Anything else is 403; an unknown, revoked or
 * expired link is 401.
 */
async function shareIdentity(db: Db, token: string, method: string, relPath: string): Promise<Identity> {
  const found = await resolveShareToken(db, token);
  if (!found.ok) {
    throw new JobmonError(
      'unauthorized',
      `share link ${found.reason === 'unknown' ? 'not recognised' : `was ${found.reason}`}`,
      'share',
      `share_${found.reason}`,
    );
  }
  if (!READ_METHODS.has(method)) {
    throw new JobmonError('forbidden', 'a share link grants read-only access', 'share', 'share_read_only');
  }
  if (relPath !== '/whoami') {
    const workflowId = await workflowOfRoute(db, relPath);
    if (workflowId !== found.workflow_id) {
      throw new JobmonError(
        'forbidden',
        `this share link grants access to workflow ${found.workflow_id} only`,
        'share',
        'share_scope',
      );
    }
  }
  return {
    user: `share-link-${found.share_id}`,
    role: 'observer',
    share: { id: found.share_id, workflow_id: found.workflow_id },
  };
}
