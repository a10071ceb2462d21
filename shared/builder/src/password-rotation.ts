// What a credentials Secret must hold, given what it holds now (upstream syncSecrets, updateSecret,
// checkForPasswordRotation, rotatePasswordInSecret and getNextRotationDate in pkg/cluster/sync.go).
// An existing password is kept; a new one is drawn only for a new Secret, a due rotation or a reset.
import type { OperatorConfig, Postgresql } from '@pgfn/api';
import { isStandbyCluster } from './instances.js';
import type { PgUser } from './users.js';

/** The keys of a credentials Secret. */
export interface SecretData {
  readonly username: string;
  readonly password: string;
  /** RFC 3339 time of the next rotation; '' after rotation was switched off and the user reset. */
  readonly nextRotation?: string;
}

export type CredentialOutcome =
  /** No Secret yet: a new password. */
  | 'created'
  /** The Secret stays as it is (rotation may have set its first date). */
  | 'kept'
  /** Rotation was due: a new user `<name><YYMMDD>` with a new password; the old one is kept for the retention period. */
  | 'rotated-new-user'
  /** Rotation was due: the same user, a new password (pods using it must restart). */
  | 'rotated-in-place'
  /** Rotation is off but the Secret names another (rotation) user: back to the role itself, new password. */
  | 'reset'
  /** The Secret belongs to a role whose name differs only in '-' versus '_': left alone. */
  | 'conflict';

export interface CredentialDecision {
  readonly data: SecretData;
  readonly outcome: CredentialOutcome;
  /** The role whose expired rotation users may be dropped now (upstream retentionUsers). */
  readonly cleanUpRotationUsersOf?: string;
}

export interface RotationContext {
  readonly cluster: Postgresql;
  readonly config: OperatorConfig;
  readonly now: Date;
  readonly newPassword: () => string;
}

/**
 * True when the role's password rotates: the manifest lists it in usersWithSecretRotation or
 * usersWithInPlaceSecretRotation, or rotation is on globally and the role is a manifest or prepared
 * role that owns no database; never when listed in usersIgnoringSecretRotation or in a standby cluster.
 */
export function rotationApplies(user: PgUser, cluster: Postgresql, config: OperatorConfig): boolean {
  if (isStandbyCluster(cluster)) return false;
  const spec = cluster.spec;
  if ((spec.usersIgnoringSecretRotation ?? []).includes(user.name)) return false;
  // Upstream compares against the key "superuser", not the superuser's name; kept for compatibility.
  const inManifest =
    user.name !== 'superuser' && ((spec.usersWithSecretRotation ?? []).includes(user.name) || inPlace(user, cluster));
  const allowedGlobally = !user.isDbOwner && (user.origin === 'manifest' || user.origin === 'bootstrap');
  return inManifest || (config.enablePasswordRotation && allowedGlobally);
}

function inPlace(user: PgUser, cluster: Postgresql): boolean {
  return (cluster.spec.usersWithInPlaceSecretRotation ?? []).includes(user.name);
}

/** now + password_rotation_interval days, formatted as Go's RFC 3339 (whole seconds, UTC "Z"). */
export function nextRotationDate(now: Date, intervalDays: number): string {
  const next = new Date(now.getTime());
  next.setUTCDate(next.getUTCDate() + intervalDays);
  return formatRfc3339(next);
}

export function formatRfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function parseRfc3339(text: string | undefined): Date | undefined {
  if (text === undefined || !RFC3339.test(text)) return undefined;
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** The date suffix of rotation users: YYMMDD in UTC (upstream RotationUserDateFormat "060102"). */
export function rotationSuffix(now: Date): string {
  return formatRfc3339(now).slice(2, 10).replaceAll('-', '');
}

export function decideCredentials(user: PgUser, existing: SecretData | undefined, ctx: RotationContext): CredentialDecision {
  const applies = rotationApplies(user, ctx.cluster, ctx.config);
  if (existing === undefined) {
    // Upstream writes the first rotation date one sync later; writing it now converges in one pass.
    const data: SecretData = { username: user.name, password: ctx.newPassword() };
    return { outcome: 'created', data: applies ? { ...data, nextRotation: nextRotationDate(ctx.now, ctx.config.passwordRotationInterval) } : data };
  }
  const current: SecretData = existing.password === '' ? { ...existing, password: ctx.newPassword() } : existing;
  return applies ? rotate(user, current, ctx) : unrotated(user, current, ctx);
}

function rotate(user: PgUser, existing: SecretData, ctx: RotationContext): CredentialDecision {
  const interval = ctx.config.passwordRotationInterval;
  const soonest = nextRotationDate(ctx.now, interval);
  let due = parseRfc3339(existing.nextRotation);
  let data: SecretData = existing;
  if (due === undefined) {
    data = { ...existing, nextRotation: soonest };
    due = parseRfc3339(soonest);
  }
  // A shortened interval brings the next rotation forward.
  const soonestDate = parseRfc3339(soonest) as Date;
  if (due !== undefined && due > soonestDate) due = soonestDate;
  const samePerson = inPlace(user, ctx.cluster);
  const expected = samePerson ? user.name : `${user.name}${rotationSuffix(ctx.now)}`;
  // A longer stored name carries a date suffix: switching to in-place rotation acts at once.
  const modeChanged = existing.username.length > expected.length;
  if (!(due !== undefined && ctx.now > due) && !modeChanged) return { outcome: 'kept', data };
  const rotated: SecretData = { username: expected, password: ctx.newPassword(), nextRotation: soonest };
  return samePerson ? { outcome: 'rotated-in-place', data: rotated } : { outcome: 'rotated-new-user', data: rotated, cleanUpRotationUsersOf: user.name };
}

function unrotated(user: PgUser, existing: SecretData, ctx: RotationContext): CredentialDecision {
  if (existing.username === user.name) return { outcome: 'kept', data: existing };
  if (existing.username.replaceAll('-', '_') === user.name.replaceAll('-', '_')) return { outcome: 'conflict', data: existing };
  return { outcome: 'reset', data: { username: user.name, password: ctx.newPassword(), nextRotation: '' }, cleanUpRotationUsersOf: user.name };
}
