// Role options (flags) as the manifest spells them, and their normal form.
// Rules from upstream pkg/cluster/util.go (normalizeUserFlags, isValidFlag) and docs/user.md.

/** Role options the operator manages, as pg_authid columns name them. */
export const ROLE_FLAGS = ['SUPERUSER', 'INHERIT', 'LOGIN', 'CREATEROLE', 'CREATEDB', 'REPLICATION', 'BYPASSRLS'] as const;
export type RoleFlag = (typeof ROLE_FLAGS)[number];

/**
 * What a role must have: true = the option is granted, false = its NO form is enforced; an absent
 * flag is left as it is in the database (the operator never strips an option nobody asked about).
 */
export type FlagSet = Partial<Record<RoleFlag, boolean>>;

const ALPHANUMERIC = /^[a-zA-Z][a-zA-Z0-9]*$/;

export type FlagsResult = { readonly flags: FlagSet; readonly error?: undefined } | { readonly flags?: undefined; readonly error: string };

/**
 * Normalises manifest flags: case-insensitive, duplicates ignored, NO-forms allowed, a flag and its
 * NO-form together rejected, LOGIN added unless LOGIN or NOLOGIN is given.
 */
export function normalizeFlags(input: readonly string[] | null | undefined): FlagsResult {
  const flags: FlagSet = {};
  for (const raw of input ?? []) {
    if (!ALPHANUMERIC.test(raw)) return { error: `user flag ${JSON.stringify(raw)} is not alphanumeric` };
    const upper = raw.toUpperCase();
    const negated = upper.startsWith('NO') && isRoleFlag(upper.slice(2));
    const flag = negated ? upper.slice(2) : upper;
    if (!isRoleFlag(flag)) return { error: `user flag ${JSON.stringify(upper)} is not valid` };
    const want = !negated;
    const seen = flags[flag];
    if (seen !== undefined && seen !== want) {
      return { error: `conflicting user flags: ${JSON.stringify(upper)} and ${JSON.stringify(want ? `NO${flag}` : flag)}` };
    }
    flags[flag] = want;
  }
  if (flags.LOGIN === undefined) flags.LOGIN = true;
  return { flags };
}

export function isRoleFlag(name: string): name is RoleFlag {
  return (ROLE_FLAGS as readonly string[]).includes(name);
}

/** `LOGIN CREATEDB NOSUPERUSER` in ROLE_FLAGS order. */
export function formatFlags(flags: FlagSet): string {
  return ROLE_FLAGS.filter((f) => flags[f] !== undefined)
    .map((f) => (flags[f] ? f : `NO${f}`))
    .join(' ');
}

/** Combines flag sets; later sets win per flag. */
export function mergeFlags(...sets: readonly FlagSet[]): FlagSet {
  return Object.assign({}, ...sets) as FlagSet;
}
