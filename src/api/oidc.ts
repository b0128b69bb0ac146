/**
 * OIDC / JWT bearer tokens (docs/reliability.md, "OIDC"): a site's identity provider signs the
 * tokens, the API checks them against the provider's published keys (JWKS) with `jose` —
 * signature, issuer, audience, expiry and not-before — and takes the user and the role from
 * configurable claims. Static `JMT_TOKENS` keep working beside it (small sites, service accounts).
 *
 * Settings (all read at start-up; a partial set is a start-up error):
 *   JMT_OIDC_ISSUER      the `iss` tokens must carry, e.g. https://login.example.org/realms/hpc
 *   JMT_OIDC_AUDIENCE    the `aud` tokens must carry (this API's client id)
 *   JMT_OIDC_JWKS_URL    where the provider publishes its keys
 *   JMT_OIDC_USER_CLAIM  claim holding the user name (default `preferred_username`)
 *   JMT_OIDC_ROLE_CLAIM  claim holding the role (default `jmt_role`): a string or a list; the most
 *                        powerful of operator < admin found wins, observer otherwise; none is 403
 */
import { createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { ROLES, type Role } from '../domain/access';
import { JobmonError } from '../domain/errors';

export interface OidcSettings {
  issuer: string;
  audience: string;
  jwksUrl: string;
  userClaim: string;
  roleClaim: string;
}

export interface OidcVerifier {
  settings: OidcSettings;
  /** The identity a valid token speaks for; a JobmonError (401/403) saying why otherwise. */
  verify(token: string): Promise<{ user: string; role: Role }>;
}

/** Settings from the environment; undefined when OIDC is not configured. */
export function loadOidcSettings(env: NodeJS.ProcessEnv): OidcSettings | undefined {
  const issuer = env.JMT_OIDC_ISSUER;
  const audience = env.JMT_OIDC_AUDIENCE;
  const jwksUrl = env.JMT_OIDC_JWKS_URL;
  if (issuer === undefined && audience === undefined && jwksUrl === undefined) return undefined;
  const missing = [
    ['JMT_OIDC_ISSUER', issuer],
    ['JMT_OIDC_AUDIENCE', audience],
    ['JMT_OIDC_JWKS_URL', jwksUrl],
  ]
    .filter(([, v]) => !v)
    .map(([k]) => k);
  if (missing.length) throw new Error(`OIDC is half configured: set ${missing.join(' and ')} too`);
  try {
    new URL(jwksUrl!);
  } catch {
    throw new Error(`JMT_OIDC_JWKS_URL "${jwksUrl}" is not a URL`);
  }
  return {
    issuer: issuer!,
    audience: audience!,
    jwksUrl: jwksUrl!,
    userClaim: env.JMT_OIDC_USER_CLAIM || 'preferred_username',
    roleClaim: env.JMT_OIDC_ROLE_CLAIM || 'jmt_role',
  };
}

/** Three base64url parts: a JWS in compact form (job tokens and JMT_TOKENS never have two dots). */
export const looksLikeJwt = (token: string): boolean => /^[\w-]+\.[\w-]+\.[\w-]+$/.test(token);

/** `keys` is for tests that hold the key set themselves; the JWKS is fetched and cached by jose. */
export function createOidcVerifier(settings: OidcSettings, keys?: JWTVerifyGetKey): OidcVerifier {
  const getKey = keys ?? createRemoteJWKSet(new URL(settings.jwksUrl), { timeoutDuration: 5_000 });
  return {
    settings,
    async verify(token) {
      let payload: Record<string, unknown>;
      try {
        ({ payload } = await jwtVerify(token, getKey, {
          issuer: settings.issuer,
          audience: settings.audience,
          clockTolerance: 5,
        }));
      } catch (err) {
        throw refusal(err, settings);
      }
      const user = payload[settings.userClaim];
      if (typeof user !== 'string' || user.trim() === '') {
        throw new JobmonError(
          'forbidden',
          `the token has no user name in claim "${settings.userClaim}" (JMT_OIDC_USER_CLAIM)`,
          'authorization',
          'no_user',
        );
      }
      return { user, role: roleOf(payload[settings.roleClaim], settings.roleClaim, user) };
    },
  };
}

const RANK: Record<Role, number> = { observer: 0, operator: 1, admin: 2 };

function roleOf(claim: unknown, name: string, user: string): Role {
  const values = Array.isArray(claim) ? claim : [claim];
  let best: Role | undefined;
  for (const v of values) {
    if (typeof v === 'string' && (ROLES as readonly string[]).includes(v)) {
      const role = v as Role;
      if (best === undefined || RANK[role] > RANK[best]) best = role;
    }
  }
  if (best === undefined) {
    throw new JobmonError(
      'forbidden',
      `user ${user}'s token has no role: claim "${name}" (JMT_OIDC_ROLE_CLAIM) must hold one of ${ROLES.join(', ')}`,
      'authorization',
      'no_role',
    );
  }
  return best;
}

/** jose's reasons, said so an operator can fix the client or the provider's settings. */
function refusal(err: unknown, settings: OidcSettings): JobmonError {
  const unauthorized = (message: string, code: string) =>
    new JobmonError('unauthorized', message, 'authorization', code);
  if (err instanceof errors.JWTExpired) return unauthorized('the token has expired; get a new one', 'token_expired');
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'aud')
      return unauthorized(`the token is not for this API (audience must be ${settings.audience})`, 'token_invalid');
    if (err.claim === 'iss') return unauthorized(`the token was not issued by ${settings.issuer}`, 'token_invalid');
    return unauthorized(`the token's "${err.claim}" claim is not valid: ${err.reason}`, 'token_invalid');
  }
  if (err instanceof errors.JWSSignatureVerificationFailed || err instanceof errors.JWKSNoMatchingKey) {
    return unauthorized(
      `the token's signature does not verify against the keys of ${settings.issuer}`,
      'token_invalid',
    );
  }
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported) {
    return unauthorized('the token is signed with an algorithm the issuer keys do not allow', 'token_invalid');
  }
  if (err instanceof errors.JWKSTimeout || (err instanceof Error && /fetch|ECONNREFUSED|JWKS/i.test(err.message))) {
    // The provider is unreachable: not the caller's fault, and nothing to retry blindly.
    return new JobmonError(
      'unavailable',
      `the identity provider's keys could not be fetched: ${err.message}`,
      undefined,
      'oidc_unavailable',
    );
  }
  return unauthorized(
    `the token is not a valid JWT: ${err instanceof Error ? err.message : String(err)}`,
    'token_invalid',
  );
}
