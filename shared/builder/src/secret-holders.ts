// Roles whose names differ only in "-" versus "_" make the same credentials Secret name, and only one
// of them can have that Secret. Upstream lets whichever is synced first win and fails the other on
// every sync (TestUpdateSecretNameConflict in pkg/cluster/sync_test.go); here the choice is stable.
import { ROLE_ORIGINS, type RoleOrigin } from './users.js';

export interface SecretClaim {
  readonly role: string;
  readonly origin: RoleOrigin;
  /** The Secret, as `namespace/name`. */
  readonly secret: string;
  /** The username the existing Secret holds; undefined when there is no Secret yet. */
  readonly held?: string;
}

/**
 * The role that gets each Secret, by `namespace/name`: the role the existing Secret names (itself or
 * one of its rotation users `<role><YYMMDD>`), so a Secret never changes hands; else the role of the
 * higher origin (a prepared-database user beats a manifest user); else the first by name.
 */
export function secretHolders(claims: readonly SecretClaim[]): Map<string, string> {
  const bySecret = new Map<string, SecretClaim[]>();
  for (const claim of claims) bySecret.set(claim.secret, [...(bySecret.get(claim.secret) ?? []), claim]);
  const holders = new Map<string, string>();
  for (const [secret, candidates] of bySecret) {
    const [first] = [...candidates].sort(precedence);
    if (first !== undefined) holders.set(secret, first.role);
  }
  return holders;
}

function precedence(a: SecretClaim, b: SecretClaim): number {
  return (
    Number(holds(b)) - Number(holds(a)) ||
    ROLE_ORIGINS.indexOf(b.origin) - ROLE_ORIGINS.indexOf(a.origin) ||
    (a.role < b.role ? -1 : a.role > b.role ? 1 : 0)
  );
}

function holds(claim: SecretClaim): boolean {
  const held = claim.held;
  return held !== undefined && held.startsWith(claim.role) && /^(\d{6})?$/.test(held.slice(claim.role.length));
}
