// The whole diff: desired state + catalog state -> ordered statements. Pure: the only randomness
// (password salts) comes from the injected RandomBytes.
import { planDatabases } from './diff-databases.js';
import { planRoles } from './diff-roles.js';
import type { CurrentState, DesiredState, Plan } from './model.js';
import type { RandomBytes } from './password-hash.js';

/**
 * Order: roles are created before anything refers to them; flags, passwords and settings next;
 * memberships after every role exists (reverse memberships revoked first); databases once their
 * owners exist; old rotation users last on the cluster level; then, database by database, schemas,
 * schema USAGE, default privileges, extensions and the pooler lookup function.
 */
export function planSync(desired: DesiredState, current: CurrentState, random: RandomBytes): Plan {
  const roles = planRoles(desired, current, random);
  const databases = planDatabases(desired, current);
  return {
    statements: [
      ...roles.creates,
      ...roles.alters,
      ...roles.settings,
      ...roles.revokes,
      ...roles.grants,
      ...databases.cluster,
      ...roles.drops,
      ...databases.inside,
    ],
    warnings: [...roles.warnings, ...databases.warnings],
  };
}
