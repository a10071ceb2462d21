// Which preload libraries and whitelisted extensions Spilo adds per Postgres major
// (spilo_commons.py `extensions` table and append_extensions, Spilo HEAD), and the filter that keeps
// only libraries this machine has: Postgres refuses to start with a missing preload library.

interface ExtensionRange {
  readonly min: number;
  readonly max: number;
  readonly preload: boolean;
  readonly whitelist: boolean;
}

const VERSIONED: Readonly<Record<string, ExtensionRange>> = {
  timescaledb: { min: 9.6, max: 17, preload: true, whitelist: true },
  pg_cron: { min: 9.5, max: 17, preload: true, whitelist: false },
  pg_stat_kcache: { min: 9.4, max: 17, preload: true, whitelist: false },
  pg_partman: { min: 9.4, max: 17, preload: false, whitelist: true },
};
const PG_MON: ExtensionRange = { min: 11, max: 17, preload: true, whitelist: false };

export const BASE_PRELOAD = 'bg_mon,pg_stat_statements,pgextwlist,pg_auth_mon,set_user';
export const BASE_WHITELIST =
  'btree_gin,btree_gist,citext,extra_window_functions,first_last_agg,hll,hstore,hypopg,' +
  'intarray,ltree,pgcrypto,pgq,pgq_node,pg_trgm,postgres_fdw,roaringbitmap,tablefunc,uuid-ossp,vector';

/** `base` plus the version-dependent names, each once, in Spilo's order. */
export function appendExtensions(base: string, version: number, whitelist: boolean, enablePgMon: boolean): string {
  const table: Record<string, ExtensionRange> = { ...VERSIONED, ...(enablePgMon ? { pg_mon: PG_MON } : {}) };
  const out: string[] = [];
  const maybe = (name: string): void => {
    const range = table[name];
    const wanted = range === undefined || (range.min <= version && version <= range.max && (whitelist ? range.whitelist : range.preload));
    if (name !== '' && wanted && !out.includes(name)) out.push(name);
  };
  for (const name of base.split(',')) maybe(name.trim());
  for (const name of Object.keys(table)) maybe(name);
  return out.join(',');
}

/** The comma list without libraries for which `exists` is false, and the names dropped. */
export function keepInstalled(list: string, exists: (library: string) => boolean): { kept: string; dropped: string[] } {
  const names = list
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n !== '');
  return { kept: names.filter(exists).join(','), dropped: names.filter((n) => !exists(n)) };
}
