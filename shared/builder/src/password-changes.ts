// Which credentials got a new password in one build, and whether that obliges the caller to replace
// running pods. Spilo takes the passwords of the superuser and the replication user from env vars
// filled from their Secrets when the container starts (spilo-env.ts), so after such a password
// changes the pods hold a stale one until they are replaced (upstream rotatePasswordInSecret in
// pkg/cluster/sync.go marks them with the rolling-update annotation).
import type { CredentialOutcome, PasswordPods } from './password-rotation.js';
import type { UserCredentials } from './secrets.js';

/** Every outcome but the two that keep the password. */
export type PasswordChangeKind = Exclude<CredentialOutcome, 'kept' | 'conflict'>;

export interface PasswordChange {
  /** The role whose Secret it is. */
  readonly role: string;
  /** The login that has the new password: the role itself, or its new rotation user. */
  readonly username: string;
  readonly secretName: string;
  readonly namespace: string;
  readonly kind: PasswordChangeKind;
  /** The superuser or the replication user (configuration super_username, replication_username). */
  readonly systemUser: boolean;
  /** Pods that still hold the role's previous password and must be replaced (see password-rotation.ts). */
  readonly restartPods?: PasswordPods;
}

/** The credentials whose Secret gets a new password in this build, sorted by role name. */
export function passwordChanges(credentials: Iterable<UserCredentials>): PasswordChange[] {
  const out: PasswordChange[] = [];
  for (const c of credentials) {
    if (c.outcome === 'kept' || c.outcome === 'conflict') continue;
    out.push({
      role: c.user.name,
      username: c.username,
      secretName: c.secretName,
      namespace: c.namespace,
      kind: c.outcome,
      systemUser: c.user.origin === 'system',
      ...(c.restartPods === undefined ? {} : { restartPods: c.restartPods }),
    });
  }
  return out.sort((a, b) => (a.role < b.role ? -1 : a.role > b.role ? 1 : 0));
}

/**
 * Why the cluster's Spilo pods must be marked for rotation, one reason per system user whose own
 * password changed in an existing Secret (rotated in place, or reset); empty when none did. A Secret
 * created in this build never counts: a new cluster has no pods holding an older password, and a
 * Secret deleted by hand is recreated as upstream does, without a rollout. A rotation to a new user
 * `<name><YYMMDD>` does not count either: the role keeps its password, so the pods' copy still works.
 */
export function podRotationReasons(changes: readonly PasswordChange[], pods: PasswordPods = 'postgres'): string[] {
  return changes
    .filter((c) => c.restartPods === pods)
    .map(
      (c) =>
        `the password of ${pods === 'postgres' ? 'system user' : 'pooler user'} ${c.role} was ` +
        `${c.kind === 'reset' ? 'reset' : 'rotated in place'}`,
    );
}

/** True iff an existing system user's password changed in this build, so Spilo pods must be marked for rotation. */
export function mustMarkPodsForRotation(changes: readonly PasswordChange[]): boolean {
  return podRotationReasons(changes, 'postgres').length > 0;
}
