/**
 * Who may act on a workflow: the one rule behind every write route's ownership check
 * (src/api/auth.ts `assertMayActOn`) and the bind's re-bind check (src/sql/bind-store.ts), so the
 * two can never disagree. Pure: the caller reads the workflow's owner and the caller's grant.
 */
import { JobmonError } from './errors';

export type Role = 'operator' | 'observer' | 'admin';
export const ROLES: readonly Role[] = ['operator', 'observer', 'admin'];

export interface Actor {
  user: string;
  role: Role;
}

/** What the database says about one workflow and one caller. */
export interface WorkflowAccess {
  owner: string;
  /** The caller holds a `workflow_grant` on it. */
  granted: boolean;
}

/**
 * Null when `actor` may act on the workflow, else the refusal to throw. `allowGrants: false` is for
 * managing the grants themselves (only the owner or an admin opens a workflow to others).
 * `what` names the action in the message (e.g. "re-bind").
 */
export function accessRefusal(
  actor: Actor,
  workflowId: number,
  access: WorkflowAccess,
  options: { allowGrants?: boolean; what?: string } = {},
): JobmonError | null {
  const allowGrants = options.allowGrants ?? true;
  if (actor.role === 'admin') return null;
  // Role before grant: a grant opens a workflow to a user, it never lifts an observer to operator.
  if (actor.role !== 'operator') {
    return new JobmonError(
      'forbidden',
      `user ${actor.user} has role ${actor.role}, which may only read`,
      undefined,
      'forbidden',
    );
  }
  if (access.owner === actor.user) return null;
  if (allowGrants && access.granted) return null;
  const action = options.what ? `${options.what}: ` : '';
  return new JobmonError(
    'forbidden',
    allowGrants
      ? `${action}workflow ${workflowId} belongs to user ${access.owner}; operator ${actor.user} may act only on their own workflows and those granted to them (the owner grants with \`jmt workflow grant ${workflowId} ${actor.user}\`)`
      : `${action}workflow ${workflowId} belongs to user ${access.owner}; only the owner or an admin may grant or revoke access to it`,
    undefined,
    'not_owner',
  );
}
