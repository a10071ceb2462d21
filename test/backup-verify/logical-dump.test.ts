// The logical restore test's reading of a pg_dumpall file (pure, ADR 0072). The fixture keeps the
// shape of Debian's pg_dumpall 15.18 output (sections, \restrict lines, COPY blocks), trimmed.
import { expect } from 'chai';
import { countQuery, dumpedDatabases, parseCounts, rowMismatches } from '../../functions/backup-verify/src/logical-dump.js';

const DUMP = [
  '--',
  '-- PostgreSQL database cluster dump',
  '--',
  'CREATE ROLE app_owner;',
  '--',
  '-- Database "template1" dump',
  '--',
  '\\connect template1',
  'SET row_security = off;',
  '--',
  '-- Database "app" dump',
  '--',
  '\\restrict KEY1',
  "CREATE DATABASE app WITH TEMPLATE = template0 ENCODING = 'UTF8' LOCALE_PROVIDER = libc LOCALE = 'C.UTF-8';",
  'ALTER DATABASE app OWNER TO postgres;',
  "COMMENT ON DATABASE app IS 'the app';",
  '\\unrestrict KEY1',
  '\\connect app',
  '\\restrict KEY1',
  'CREATE TABLE public."Odd Name" (a integer);',
  'CREATE TABLE public.t (id integer, s text);',
  'COPY public."Odd Name" (a) FROM stdin;',
  '1',
  '\\.',
  'COPY public.t (id, s) FROM stdin;',
  '1\tx1',
  '2\tline\\nbreak',
  '3\t\\N',
  '\\.',
  'COPY public.empty (a) FROM stdin;',
  '\\.',
  '\\unrestrict KEY1',
  '--',
  '-- Database "postgres" dump',
  '--',
  '\\connect postgres',
  'CREATE TABLE public.p (a integer);',
  'COPY public.p (a) FROM stdin;',
  '1',
  '2',
  '\\.',
  '',
].join('\n');

describe('backup-verify: reading a pg_dumpall file for the logical restore test', () => {
  it('splits it into databases (template1 left out), without the lines about the database itself, counting COPY rows', () => {
    const dbs = dumpedDatabases(DUMP);
    expect(dbs.map((d) => d.name)).to.deep.equal(['app', 'postgres']);
    const [app, postgres] = dbs;
    expect([...(app?.rows ?? [])]).to.deep.equal([
      ['public."Odd Name"', 1],
      ['public.t', 3],
      ['public.empty', 0],
    ]);
    expect([...(postgres?.rows ?? [])]).to.deep.equal([['public.p', 2]]);
    expect(app?.sql).not.to.match(/CREATE DATABASE|ALTER DATABASE|COMMENT ON DATABASE|\\connect/);
    expect(app?.sql).to.include('\\restrict KEY1\nCREATE TABLE public."Odd Name"');
    expect(app?.sql).to.include('COPY public.t (id, s) FROM stdin;\n1\tx1\n2\tline\\nbreak\n3\t\\N\n\\.\n');
    expect(dumpedDatabases('not a dump')).to.deep.equal([]);
  });

  it('counts the restored copy in one query and names the tables that differ', () => {
    expect(countQuery(['public.t', 'public."it\'s"'])).to.equal(
      `SELECT 'public.t', count(*) FROM public.t UNION ALL SELECT 'public."it''s"', count(*) FROM public."it's"`,
    );
    const restored = parseCounts('public."Odd Name"\t1\npublic.t\t2\n');
    expect(restored.get('public."Odd Name"')).to.equal(1);
    const dumped = new Map([
      ['public."Odd Name"', 1],
      ['public.t', 3],
      ['public.gone', 4],
    ]);
    expect(rowMismatches(dumped, restored)).to.deep.equal(['public.t: dump 3, restored 2', 'public.gone: dump 4, restored missing']);
  });
});
