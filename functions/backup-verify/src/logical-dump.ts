// A pg_dumpall file read for the logical restore test (pure, ADR 0072): its databases, each as the
// plain pg_dump text that restores it into another database (the statements about the database
// itself and the \connect lines left out), and the rows each table's COPY block carries.

export interface DumpedDatabase {
  readonly name: string;
  /** Restorable into any (empty) database. */
  readonly sql: string;
  /** Table (as the dump names it, e.g. `public.ticks`) → rows in its COPY block. */
  readonly rows: ReadonlyMap<string, number>;
}

const SECTION = /^-- Database "(.+)" dump$/;
/** Lines about the database itself, or switching to it: they would act on the original, not the scratch copy. */
const ABOUT_THE_DATABASE = /^(\\connect\b|CREATE DATABASE\b|ALTER DATABASE\b|COMMENT ON DATABASE\b|SECURITY LABEL ON DATABASE\b)/;
const COPY_START = /^COPY (.+?) (?:\(.*\) )?FROM stdin;$/;

/** The databases in a pg_dumpall file, template1 left out (it holds no user data worth a restore). */
export function dumpedDatabases(text: string): DumpedDatabase[] {
  const out: DumpedDatabase[] = [];
  let current: { name: string; lines: string[]; rows: Map<string, number> } | undefined;
  let copying: string | undefined;
  const close = (): void => {
    if (current !== undefined && current.name !== 'template1')
      out.push({ name: current.name, sql: current.lines.join('\n') + '\n', rows: current.rows });
  };
  for (const line of text.split('\n')) {
    if (copying !== undefined) {
      current?.lines.push(line);
      if (line === '\\.') copying = undefined;
      else if (current !== undefined) current.rows.set(copying, (current.rows.get(copying) ?? 0) + 1);
      continue;
    }
    const section = SECTION.exec(line);
    if (section !== null) {
      close();
      current = { name: section[1] as string, lines: [], rows: new Map() };
      continue;
    }
    if (current === undefined || ABOUT_THE_DATABASE.test(line)) continue;
    current.lines.push(line);
    const table = COPY_START.exec(line)?.[1];
    if (table !== undefined) {
      copying = table;
      current.rows.set(table, 0);
    }
  }
  close();
  return out;
}

/** One query that counts every table's rows in the restored copy: `table<TAB>count` per line. */
export function countQuery(tables: readonly string[]): string {
  const quoted = (t: string): string => `'${t.replace(/'/g, "''")}'`;
  return tables.map((t) => `SELECT ${quoted(t)}, count(*) FROM ${t}`).join(' UNION ALL ');
}

/** Tables whose restored row count differs from the dump's, as `table: dump N, restored M`. */
export function rowMismatches(dumped: ReadonlyMap<string, number>, restored: ReadonlyMap<string, number>): string[] {
  const out: string[] = [];
  for (const [table, rows] of dumped) {
    const got = restored.get(table);
    if (got !== rows) out.push(`${table}: dump ${rows}, restored ${got ?? 'missing'}`);
  }
  return out;
}

/** psql -tA -F '\t' output → table → count. */
export function parseCounts(output: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of output.split('\n')) {
    const tab = line.lastIndexOf('\t');
    if (tab > 0) out.set(line.slice(0, tab), Number(line.slice(tab + 1)));
  }
  return out;
}
