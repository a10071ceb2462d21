// The one model of a credentials Secret over time: what it must hold, given what it holds now (upstream
// syncSecrets, updateSecret, checkForPasswordRotation, rotatePasswordInSecret and getNextRotationDate
// in pkg/cluster/sync.go; docs/administrator.md "Password rotation in K8s secrets"). The builder
// writes Secrets with it and @pgfn/roles syncs the database to it, so both always agree (ADR 0010).
// An existing password is kept; a new one is drawn only for a new Secret, a due rotation or a reset.
import { Buffer } from 'node:buffer';
import type { OperatorConfig, PostgresSpec } from '@pgfn/api';
import type { RoleOrigin } from './users.js';

/** The keys of a credentials Secret, decoded. */
export interface SecretData {
  readonly username: string;
  readonly password: string;
  /** RFC 3339 time of the next rotation; '' after rotation was switched off and the user reset. */
  readonly nextRotation?: string;
}

/** What the model needs to know of a role (the builder's PgUser and the roles' RoleSpec both fit). */
export interface CredentialSubject {
  readonly name: string;
  readonly origin: RoleOrigin;
  readonly isDbOwner: boolean;
  /** A password given from outside (infrastructure roles): the Secret follows it, never the reverse. */
  readonly password?: string;
}

export type CredentialOutcome =
  /** No Secret yet: a new password (or the infrastructure's). */
  | 'created'
  /** The Secret keeps its password (rotation may have set or brought forward its date). */
  | 'kept'
  /** Rotation was due: a new user `<name><YYMMDD>` with a new password; the role keeps its own. */
  | 'rotated-new-user'
  /** Rotation was due: the same user, a new password. */
  | 'rotated-in-place'
  /** A new password outside rotation: rotation is off but the Secret names a rotation user, or it holds no password. */
  | 'reset'
  /** The infrastructure gave the role a new password. */
  | 'infrastructure'
  /** The Secret belongs to a role whose name differs only in '-' versus '_': left alone. */
  | 'conflict';

/** Pods that read a password from their environment at start: Spilo's or the pooler's. */
export type PasswordPods = 'postgres' | 'pooler';

export interface CredentialDecision {
  readonly data: SecretData;
  readonly outcome: CredentialOutcome;
  /** Why the Secret changes, a sentence each; empty when it stays as it is. */
  readonly reasons: readonly string[];
  /** The role whose expired rotation users may be dropped now (upstream retentionUsers). */
  readonly cleanUpRotationUsersOf?: string;
  /** The role's own password changed under running pods that hold the old one: replace them. */
  readonly restartPods?: PasswordPods;
  /**
   * What keeps this Secret from doing what the manifest asks: a conflict, or a rotation user name
   * Postgres would cut (then it is not rotated).
   */
  readonly problem?: string;
}

export type RotationSpec = Pick<PostgresSpec, 'usersWithSecretRotation' | 'usersWithInPlaceSecretRotation' | 'usersIgnoringSecretRotation'>;

export interface RotationContext {
  readonly spec: RotationSpec;
  readonly config: Pick<OperatorConfig, 'enablePasswordRotation' | 'passwordRotationInterval'>;
  /** Standby clusters neither rotate nor reset (upstream updateSecret). */
  readonly standby: boolean;
  readonly now: Date;
  readonly newPassword: () => string;
}

/** Postgres keeps identifiers of at most NAMEDATALEN - 1 bytes and silently cuts longer ones. */
const MAX_ROLE_NAME_BYTES = 63;

/**
 * True when the role's password rotates: the manifest lists it in usersWithSecretRotation or
 * usersWithInPlaceSecretRotation, or rotation is on globally and the role is a manifest or prepared
 * role that owns no database; never when listed in usersIgnoringSecretRotation.
 */
export function rotationApplies(user: CredentialSubject, spec: RotationSpec, config: RotationContext['config']): boolean {
  if ((spec.usersIgnoringSecretRotation ?? []).includes(user.name)) return false;
  // Upstream compares against the key "superuser", not the superuser's name; kept for compatibility.
  const inManifest = user.name !== 'superuser' && ((spec.usersWithSecretRotation ?? []).includes(user.name) || inPlace(user, spec));
  const allowedGlobally = !user.isDbOwner && (user.origin === 'manifest' || user.origin === 'bootstrap');
  return inManifest || (config.enablePasswordRotation && allowedGlobally);
}

function inPlace(user: CredentialSubject, spec: RotationSpec): boolean {
  return (spec.usersWithInPlaceSecretRotation ?? []).includes(user.name);
}

/** now + password_rotation_interval days, formatted as Go's RFC 3339 (whole seconds, UTC "Z"). */
export function nextRotationDate(now: Date, intervalDays: number): string {
  const next = new Date(now.getTime());
  next.setUTCDate(next.getUTCDate() + intervalDays);
  return formatRfc3339(next);
}

/** `2006-01-02T15:04:05Z` as Go's time.RFC3339 formats a UTC time. */
export function formatRfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

export function parseRfc3339(text: string | undefined): Date | undefined {
  if (text === undefined || !RFC3339.test(text)) return undefined;
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** The date suffix of rotation users: YYMMDD in UTC (upstream RotationUserDateFormat "060102"). */
export function rotationSuffix(now: Date): string {
  return formatRfc3339(now).slice(2, 10).replaceAll('-', '');
}

/** The rotation user created for `base` at `now`: `<base><YYMMDD>`. */
export function rotationUserName(base: string, now: Date): string {
  return `${base}${rotationSuffix(now)}`;
}

/** What the Secret of `user` must hold now; `existing` is its decoded content, undefined when there is none. */
export function decideCredentials(user: CredentialSubject, existing: SecretData | undefined, ctx: RotationContext): CredentialDecision {
  if (existing === undefined) return created(user, ctx);
  let draft: Draft = { data: existing, outcome: 'kept', reasons: [] };
  if (existing.password === '' && user.password === undefined) {
    draft = { data: { ...existing, password: ctx.newPassword() }, outcome: 'reset', reasons: ['the Secret holds no password: a new one'] };
  }
  if (!ctx.standby) {
    draft = rotationApplies(user, ctx.spec, ctx.config) ? rotate(user, draft, ctx) : unrotated(user, draft, ctx);
    // Not this role's Secret: left exactly as it is.
    if (draft.outcome === 'conflict') return { ...draft, data: existing, reasons: [] };
  }
  draft = followInfrastructure(user, draft);
  const pods = restartedPods(user, draft.outcome);
  return pods === undefined ? draft : { ...draft, restartPods: pods };
}

type Draft = { -readonly [K in keyof CredentialDecision]: CredentialDecision[K] };

function created(user: CredentialSubject, ctx: RotationContext): CredentialDecision {
  const data: SecretData = { username: user.name, password: user.password ?? ctx.newPassword() };
  const rotates = !ctx.standby && rotationApplies(user, ctx.spec, ctx.config);
  // Upstream writes the first rotation date one sync later; writing it now converges in one pass.
  return {
    outcome: 'created',
    data: rotates ? { ...data, nextRotation: nextRotationDate(ctx.now, ctx.config.passwordRotationInterval) } : data,
    reasons: ['the Secret does not exist'],
  };
}

function rotate(user: CredentialSubject, draft: Draft, ctx: RotationContext): Draft {
  const soonest = nextRotationDate(ctx.now, ctx.config.passwordRotationInterval);
  const soonestDate = parseRfc3339(soonest) as Date;
  const stored = parseRfc3339(draft.data.nextRotation);
  let due = stored ?? soonestDate;
  if (stored === undefined) {
    draft = withDate(draft, soonest, `no rotation date in the Secret: first rotation at ${soonest}`);
  } else if (stored > soonestDate) {
    // A shortened interval takes effect at once (docs/administrator.md); upstream computes the
    // earlier date but never stores it, so there it has no effect.
    due = soonestDate;
    draft = withDate(draft, soonest, `the rotation interval is shorter now: next rotation ${soonest}`);
  }
  const samePerson = inPlace(user, ctx.spec);
  const expected = samePerson ? user.name : rotationUserName(user.name, ctx.now);
  const bytes = Buffer.byteLength(expected, 'utf8');
  if (bytes > MAX_ROLE_NAME_BYTES) {
    return {
      ...draft,
      problem:
        `rotation user ${JSON.stringify(expected)} is ${bytes} bytes long; Postgres keeps at most ` +
        `${MAX_ROLE_NAME_BYTES} and would silently cut it`,
    };
  }
  // A longer stored name carries a date suffix: switching to in-place rotation acts at once.
  const modeChanged = draft.data.username.length > expected.length;
  if (!(ctx.now > due) && !modeChanged) return draft;
  const data: SecretData = { username: expected, password: ctx.newPassword(), nextRotation: soonest };
  if (samePerson)
    return { data, outcome: 'rotated-in-place', reasons: [...draft.reasons, `password rotated in place; next rotation ${soonest}`] };
  return {
    data,
    outcome: 'rotated-new-user',
    cleanUpRotationUsersOf: user.name,
    reasons: [...draft.reasons, `rotated to user ${JSON.stringify(expected)}; next rotation ${soonest}`],
  };
}

function withDate(draft: Draft, nextRotation: string, reason: string): Draft {
  return { ...draft, data: { ...draft.data, nextRotation }, reasons: [...draft.reasons, reason] };
}

function unrotated(user: CredentialSubject, draft: Draft, ctx: RotationContext): Draft {
  const held = draft.data.username;
  if (held === user.name) return draft;
  if (held.replaceAll('-', '_') === user.name.replaceAll('-', '_')) {
    return {
      ...draft,
      outcome: 'conflict',
      problem: `the Secret belongs to user ${JSON.stringify(held)}, not ${JSON.stringify(user.name)}: both names make the same Secret name`,
    };
  }
  return {
    data: { username: user.name, password: ctx.newPassword(), nextRotation: '' },
    outcome: 'reset',
    reasons: [
      ...draft.reasons,
      `the Secret named rotation user ${JSON.stringify(held)} but rotation is off: back to ` +
        `${JSON.stringify(user.name)} with a new password`,
    ],
    cleanUpRotationUsersOf: user.name,
  };
}

function followInfrastructure(user: CredentialSubject, draft: Draft): Draft {
  if (user.origin !== 'infrastructure' || user.password === undefined || user.password === draft.data.password) return draft;
  return {
    data: { username: user.name, password: user.password },
    outcome: 'infrastructure',
    reasons: [...draft.reasons, 'the infrastructure role has a new password'],
  };
}

/**
 * Spilo and the pooler read their users' passwords from env vars filled from these Secrets at
 * container start, so a new password for the role itself (not for a rotation user) leaves running
 * pods with a stale one. Upstream marks them on in-place rotation (rotatePasswordInSecret); a reset
 * replaces the role's own password just the same, so it marks them too. A created Secret never
 * does: there are no pods holding an older password of a new cluster.
 */
function restartedPods(user: CredentialSubject, outcome: CredentialOutcome): PasswordPods | undefined {
  if (outcome !== 'rotated-in-place' && outcome !== 'reset') return undefined;
  if (user.origin === 'system') return 'postgres';
  if (user.origin === 'connection-pooler') return 'pooler';
  return undefined;
}
