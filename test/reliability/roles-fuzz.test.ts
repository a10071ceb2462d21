// Issue 20, item 5: every kind of statement the roles engine emits, fed hostile identifiers (quotes,
// semicolons, comments, dollar quotes, backslashes, newlines, unicode, SQL keywords) straight into the
// desired state — past the manifest validation that would refuse most of them — and run against the
// real test PostgreSQL. The catalog must then hold exactly the intended names and settings: not one
// role, database or schema more or less, the canary role untouched (0 injections). Seeded: a failure
// prints its seed (replay with PGFN_CHAOS_SEED).
import { expect } from 'chai';
import {
  quoteIdent,
  syncRolesAndDatabases,
  type DesiredState,
  type DesiredRole,
  type FlagSet,
  type StatementKind,
  type SyncReport,
} from '@pgfn/roles';
import { cleanup, connection, query, uniquePrefix } from '../roles/helpers.js';
import { seededRng, seedFromEnv, type Rng } from './seeded.js';

const PIECES = [
  "'",
  '"',
  ';',
  '--',
  '/*',
  '*/',
  '\\',
  '$$',
  '$1',
  ' ',
  '\n',
  '\t',
  '%s',
  'U&"',
  "E'",
  'ü',
  '😀',
  ' DROP ROLE canary',
  ')',
  '(',
  ',',
  '.',
  '=',
  'OR 1=1',
] as const;

/** A unique hostile name of at most 63 bytes (Postgres would silently truncate longer ones), under `prefix`. */
function hostileName(rng: Rng, prefix: string, taken: Set<string>): string {
  for (;;) {
    let name = prefix;
    for (let n = 1 + rng.int(6); n > 0; n--) {
      const next = name + rng.pick(PIECES);
      if (Buffer.byteLength(next) > 60) break;
      name = next;
    }
    name += String(taken.size); // unique
    if (!taken.has(name) && Buffer.byteLength(name) <= 63) {
      taken.add(name);
      return name;
    }
  }
}

const FLAG_SETS: readonly Partial<FlagSet>[] = [
  { LOGIN: true },
  { LOGIN: false, CREATEDB: true },
  { LOGIN: true, CREATEROLE: true },
  { LOGIN: false },
];

/** Full flag sets as the engine expects them (absent flags false). */
function flags(partial: Partial<FlagSet>): FlagSet {
  return {
    SUPERUSER: false,
    INHERIT: true,
    LOGIN: false,
    NOLOGIN: false,
    CREATEROLE: false,
    CREATEDB: false,
    REPLICATION: false,
    BYPASSRLS: false,
    ...partial,
  } as FlagSet;
}

interface Fuzz {
  readonly desired: DesiredState;
  readonly roles: readonly string[];
  readonly databases: readonly string[];
  /** database -> schemas under the prefix */
  readonly schemas: ReadonlyMap<string, readonly string[]>;
  readonly memberships: readonly string[];
  readonly settings: ReadonlyMap<string, string>;
  readonly owners: ReadonlyMap<string, string>;
}

function fuzzState(rng: Rng, prefix: string, pass: 1 | 2, previous?: Fuzz): Fuzz {
  const taken = new Set<string>(previous?.roles ?? []);
  const roles = previous?.roles ?? Array.from({ length: 8 }, () => hostileName(rng, prefix, taken));
  const databases = previous?.databases ?? Array.from({ length: 3 }, () => hostileName(rng, prefix, taken));
  const schemaNames = new Map<string, string[]>();
  for (const db of databases)
    schemaNames.set(db, previous?.schemas.get(db)?.slice() ?? Array.from({ length: 2 }, () => hostileName(rng, prefix, taken)));
  const pick = (): string => rng.pick(roles);
  // Every membership points from a later role to an earlier one, so no sequence of passes asks for a cycle.
  const earlier = (r: string): string[] => roles.slice(0, roles.indexOf(r));
  const later = (r: string): string[] => roles.slice(roles.indexOf(r) + 1);
  const memberOf = new Map(roles.map((r) => [r, earlier(r).length > 0 && rng.chance(0.6) ? [rng.pick(earlier(r))] : []]));
  const settings = new Map(roles.map((r) => [r, `app'; DROP ROLE canary; --${rng.int(1000)}`]));
  const desiredRoles: DesiredRole[] = roles.map((name) => ({
    name,
    flags: flags(rng.pick(FLAG_SETS)),
    memberOf: memberOf.get(name) ?? [],
    admins: later(name).length > 0 && rng.chance(0.3) ? [rng.pick(later(name))] : [],
    parameters: { application_name: settings.get(name) ?? '' },
    password: `pw'"; ALTER ROLE canary SUPERUSER; --${rng.int(1000)}`,
  }));
  const owners = new Map(databases.map((d) => [d, pick()]));
  const schemas = [...schemaNames].flatMap(([database, names]) => names.map((name) => ({ database, name, owner: pick() })));
  const [firstDb = '', secondDb = ''] = databases;
  const [firstSchema = '', secondSchema = ''] = schemaNames.get(firstDb) ?? [];
  return {
    desired: {
      roles: desiredRoles,
      databases: databases.map((name) => ({ name, owner: owners.get(name) ?? '', enforceOwner: true })),
      schemas,
      schemaUsage: schemas.map((s) => ({ database: s.database, schema: s.name, grantees: [pick(), pick()] })),
      defaultPrivileges: [
        { database: firstDb, owner: pick(), object: 'tables', privileges: ['SELECT'], grantees: [pick()] },
        {
          database: secondDb,
          owner: pick(),
          schema: schemaNames.get(secondDb)?.[0],
          object: 'sequences',
          privileges: ['USAGE'],
          grantees: [pick()],
        },
      ],
      // pass 2 moves the extension: ALTER EXTENSION … SET SCHEMA with hostile names
      extensions: [{ database: firstDb, name: 'pg_trgm', schema: pass === 1 ? firstSchema : secondSchema }],
      pooler: { schema: `${prefix}pooler'";--`, user: roles[0] ?? '' },
      rotationCleanup: [{ base: roles[1] ?? '', keep: [], createdBefore: new Date('2026-01-01T00:00:00Z') }],
      passwordEncryption: 'scram-sha-256',
    },
    roles,
    databases,
    schemas: schemaNames,
    memberships: desiredRoles.flatMap((r) => r.memberOf.map((g) => `${r.name} ∈ ${g}`)),
    settings,
    owners,
  };
}

async function sync(desired: DesiredState): Promise<SyncReport> {
  const report = await syncRolesAndDatabases(connection(), desired, { attempts: 2, backoffMs: 10 });
  const errors = report.execution?.errors ?? [];
  if (errors.length > 0) throw new Error(errors.map((e) => `${e.statement.display}: ${e.message}`).join('\n'));
  return report;
}

describe('reliability: the roles engine under hostile identifiers (real PostgreSQL)', function () {
  this.timeout(180_000);
  const seed = seedFromEnv();
  const prefix = uniquePrefix();
  const canary = `${prefix}canary`;
  const rotationUser = (base: string): string => `${base}251101`;
  let first: Fuzz;

  before(async () => {
    await query(`CREATE ROLE ${quoteIdent(canary)} NOLOGIN`);
  });
  after(async () => cleanup(prefix));

  const catalogRoles = async (): Promise<string[]> =>
    (await query<{ n: string }>('SELECT rolname AS n FROM pg_roles WHERE starts_with(rolname, $1)', [prefix]))
      .map((r) => r.n)
      .sort(byCodepoint);

  it(`creates exactly the intended roles, databases, schemas, memberships and settings (seed ${seed})`, async () => {
    const rng = seededRng(seed);
    first = fuzzState(rng, prefix, 1);
    // a rotation user past retention, for the drop-role statement
    const base = first.roles[1] ?? '';
    await query(`CREATE ROLE ${quoteIdent(base)} NOLOGIN`);
    await query(`CREATE ROLE ${quoteIdent(rotationUser(base))} NOLOGIN IN ROLE ${quoteIdent(base)}`);
    const report = await sync(first.desired);
    const kinds = new Set(report.plan.statements.map((s) => s.kind));
    const wanted: StatementKind[] = [
      'create-role',
      'alter-role',
      'role-setting',
      'grant-role',
      'drop-role',
      'create-database',
      'create-schema',
      'grant-schema',
      'default-privileges',
      'create-extension',
      'pooler',
    ];
    expect(
      [...wanted].filter((k) => !kinds.has(k)),
      `seed ${seed}: statement kinds not exercised`,
    ).to.deep.equal([]);
    await expectCatalog(first, seed);
  });

  it(`alters them all again with hostile names (owners, memberships, flags, extension schema), 0 injections (seed ${seed})`, async () => {
    const rng = seededRng(seed + 1);
    const second = fuzzState(rng, prefix, 2, first);
    const report = await sync(second.desired);
    const kinds = new Set(report.plan.statements.map((s) => s.kind));
    for (const k of ['alter-role', 'alter-database', 'alter-extension'] as const) expect(kinds.has(k), `seed ${seed}: ${k}`).to.equal(true);
    await expectCatalog(second, seed);
    // a second sync of the same state plans nothing: the engine reads back exactly what it wrote
    const again = await syncRolesAndDatabases(connection(), second.desired, { dryRun: true });
    expect(
      again.plan.statements.filter((s) => s.kind !== 'alter-role' || !/PASSWORD/.test(s.sql)).map((s) => s.display),
      `seed ${seed}`,
    ).to.deep.equal([]);
  });

  it('grants USAGE to a role whose name is a prefix of one already holding it (grantee lists read as lists, not as text)', async () => {
    const schema = `${prefix}s`;
    const [holder, other] = [`${prefix}app_owner`, `${prefix}app`];
    await query(`CREATE ROLE ${quoteIdent(holder)} NOLOGIN; CREATE ROLE ${quoteIdent(other)} NOLOGIN`);
    await query(`CREATE SCHEMA ${quoteIdent(schema)}; GRANT USAGE ON SCHEMA ${quoteIdent(schema)} TO ${quoteIdent(holder)}`);
    const desired: DesiredState = {
      roles: [],
      databases: [],
      schemas: [{ database: 'postgres', name: schema, owner: holder }], // exists: only makes the planner look into the database
      schemaUsage: [{ database: 'postgres', schema, grantees: [holder, other] }],
      defaultPrivileges: [],
      extensions: [],
      rotationCleanup: [],
      passwordEncryption: 'scram-sha-256',
    };
    const plan = (await syncRolesAndDatabases(connection('postgres'), desired, { dryRun: true })).plan.statements.map((s) => s.sql);
    expect(plan).to.deep.equal([`GRANT USAGE ON SCHEMA ${quoteIdent(schema)} TO ${quoteIdent(other)}`]);
    await query(`DROP SCHEMA ${quoteIdent(schema)}`);
  });

  async function expectCatalog(f: Fuzz, seedUsed: number): Promise<void> {
    const why = `seed ${seedUsed}`;
    const base = f.roles[1] ?? '';
    expect(await catalogRoles(), why).to.deep.equal([...f.roles, canary].sort(byCodepoint));
    expect(await catalogRoles(), why).not.to.include(rotationUser(base));
    const canaryRow = await query<{ rolsuper: boolean; rolcanlogin: boolean }>(
      'SELECT rolsuper, rolcanlogin FROM pg_roles WHERE rolname = $1',
      [canary],
    );
    expect(canaryRow, why).to.deep.equal([{ rolsuper: false, rolcanlogin: false }]);
    const dbs = await query<{ n: string; o: string }>(
      'SELECT d.datname AS n, r.rolname AS o FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba WHERE starts_with(d.datname, $1)',
      [prefix],
    );
    dbs.sort((a, b) => byCodepoint(a.n, b.n));
    expect(dbs, why).to.deep.equal([...f.owners].map(([n, o]) => ({ n, o })).sort((a, b) => byCodepoint(a.n, b.n)));
    for (const db of f.databases) {
      const schemas = (await query<{ n: string }>('SELECT nspname AS n FROM pg_namespace WHERE starts_with(nspname, $1)', [prefix], db))
        .map((r) => r.n)
        .sort(byCodepoint);
      expect(schemas, `${why}: schemas of ${JSON.stringify(db)}`).to.deep.equal(
        [...(f.schemas.get(db) ?? []), `${prefix}pooler'";--`].sort(byCodepoint),
      );
    }
    const members = await query<{ m: string }>(
      `SELECT r.rolname || ' ∈ ' || g.rolname AS m FROM pg_auth_members a JOIN pg_roles r ON r.oid = a.member
         JOIN pg_roles g ON g.oid = a.roleid WHERE starts_with(r.rolname, $1)`,
      [prefix],
    );
    // memberships are only ever added (as upstream): every intended one is there
    const have = new Set(members.map((m) => m.m));
    expect(
      f.memberships.filter((m) => !have.has(m)),
      why,
    ).to.deep.equal([]);
    const settings = await query<{ n: string; s: string[] }>(
      `SELECT r.rolname AS n, s.setconfig AS s FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole
        WHERE starts_with(r.rolname, $1) AND s.setdatabase = 0`,
      [prefix],
    );
    expect(new Map(settings.map((r) => [r.n, r.s])), why).to.deep.equal(
      new Map([...f.settings].map(([role, value]) => [role, [`application_name=${value}`]])),
    );
  }
});

function byCodepoint(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
