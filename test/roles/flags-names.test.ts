import { expect } from 'chai';
import {
  databaseNameProblem,
  formatFlags,
  identifierProblem,
  normalizeFlags,
  parameterNameProblem,
  quoteIdent,
  quoteLiteral,
  rotationUserDate,
  rotationUserName,
  userNameProblem,
} from '@pgfn/roles';

describe('normalizeFlags', () => {
  const cases: { flags: string[] | null; want?: string; error?: string }[] = [
    { flags: null, want: 'LOGIN' },
    { flags: [], want: 'LOGIN' },
    { flags: ['superuser', 'createdb'], want: 'SUPERUSER LOGIN CREATEDB' },
    { flags: ['SuperUser', 'CREATEDB', 'createdb'], want: 'SUPERUSER LOGIN CREATEDB' },
    { flags: ['nologin'], want: 'NOLOGIN' },
    { flags: ['NOLOGIN', 'replication'], want: 'NOLOGIN REPLICATION' },
    { flags: ['login', 'noinherit', 'createrole', 'bypassrls'], want: 'NOINHERIT LOGIN CREATEROLE BYPASSRLS' },
    { flags: ['nosuperuser'], want: 'NOSUPERUSER LOGIN' },
    { flags: ['!superuser', 'createdb'], error: 'user flag "!superuser" is not alphanumeric' },
    { flags: ['superuser1', 'createdb'], error: 'user flag "SUPERUSER1" is not valid' },
    { flags: ['inherit', 'noinherit'], error: 'conflicting user flags: "NOINHERIT" and "INHERIT"' },
    { flags: ['login', 'nologin'], error: 'conflicting user flags: "NOLOGIN" and "LOGIN"' },
    { flags: ['superuser; drop role x'], error: 'user flag "superuser; drop role x" is not alphanumeric' },
    { flags: ['no'], error: 'user flag "NO" is not valid' },
  ];
  for (const c of cases) {
    it(`${JSON.stringify(c.flags)} -> ${c.want ?? c.error}`, () => {
      const result = normalizeFlags(c.flags);
      if (c.error !== undefined) expect(result.error).to.equal(c.error);
      else expect(formatFlags(result.flags ?? {})).to.equal(c.want);
    });
  }
});

describe('role and database names', () => {
  // upstream TestValidUsernames
  for (const name of [
    '_',
    '.',
    '.user',
    'appspace.',
    'user_',
    '_user',
    '-user',
    'user-',
    ',',
    '-',
    ',user',
    'user,',
    'namespace,user',
    'Upper',
    'a"b',
    "a'b",
    'a;b',
    'bäcker',
    'x'.repeat(64),
  ]) {
    it(`rejects user name ${JSON.stringify(name)}`, () => expect(userNameProblem(name)).to.be.a('string'));
  }
  for (const name of ['user', 'appspace.user', 'appspace.dot.user', 'user_name', 'app_space.user_name', 'x'.repeat(63)]) {
    it(`accepts user name ${JSON.stringify(name)}`, () => expect(userNameProblem(name)).to.equal(undefined));
  }
  for (const [name, ok] of [
    ['foo', true],
    ['Foo_1', true],
    ['_x', true],
    ['1x', false],
    ['a-b', false],
    ['a"b', false],
    ['dätä', false],
    ['d'.repeat(64), false],
  ] as const) {
    const shown = JSON.stringify(name.length > 20 ? `${name.slice(0, 8)}…(${name.length})` : name);
    it(`${ok ? 'accepts' : 'rejects'} database name ${shown}`, () => {
      expect(databaseNameProblem(name) === undefined).to.equal(ok);
    });
  }
  it('counts identifier length in bytes, as Postgres does', () => {
    expect(identifierProblem('ä'.repeat(31))).to.equal(undefined); // 62 bytes
    expect(identifierProblem('ä'.repeat(32))).to.match(/64 bytes long/);
  });
  it('accepts dotted parameter names and rejects anything else', () => {
    expect(parameterNameProblem('search_path')).to.equal(undefined);
    expect(parameterNameProblem('pgaudit.log')).to.equal(undefined);
    expect(parameterNameProblem('x TO 1; DROP ROLE y; SET a')).to.be.a('string');
  });
});

describe('quoteIdent and quoteLiteral', () => {
  const idents: [string, string][] = [
    ['plain', '"plain"'],
    ['Mixed Case', '"Mixed Case"'],
    ['a"b', '"a""b"'],
    ['x"; DROP ROLE postgres; --', '"x""; DROP ROLE postgres; --"'],
    ['ünï😀', '"ünï😀"'],
  ];
  for (const [name, quoted] of idents) it(`quotes identifier ${JSON.stringify(name)}`, () => expect(quoteIdent(name)).to.equal(quoted));
  const literals: [string, string][] = [
    ['plain', "'plain'"],
    ["it's", "'it''s'"],
    ["'; DROP ROLE x; --", "'''; DROP ROLE x; --'"],
    ['back\\slash', "E'back\\\\slash'"],
  ];
  for (const [value, quoted] of literals) it(`quotes literal ${JSON.stringify(value)}`, () => expect(quoteLiteral(value)).to.equal(quoted));
  it('refuses NUL characters and lone surrogates', () => {
    expect(() => quoteIdent('a\0b')).to.throw(/NUL/);
    expect(() => quoteLiteral('a\0b')).to.throw(/NUL/);
    expect(() => quoteLiteral('a\uD800b')).to.throw(/Unicode/);
  });
});

describe('rotation user names', () => {
  it('appends YYMMDD in UTC', () => {
    expect(rotationUserName('foo_user', new Date('2026-03-04T23:59:00Z'))).to.equal('foo_user260304');
    expect(rotationUserName('foo', new Date('2031-12-31T00:00:00Z'))).to.equal('foo311231');
  });
  it('reads the creation date back, with Go two-digit years', () => {
    expect(rotationUserDate('foo260304', 'foo')?.toISOString()).to.equal('2026-03-04T00:00:00.000Z');
    expect(rotationUserDate('foo991231', 'foo')?.toISOString()).to.equal('1999-12-31T00:00:00.000Z');
  });
  it('ignores names that are not rotation users of the base', () => {
    expect(rotationUserDate('foo2603041', 'foo')).to.equal(undefined);
    expect(rotationUserDate('foobar', 'foo')).to.equal(undefined);
    expect(rotationUserDate('foo261399', 'foo')).to.equal(undefined);
    expect(rotationUserDate('bar260304', 'foo')).to.equal(undefined);
  });
});
