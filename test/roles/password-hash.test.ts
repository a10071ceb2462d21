import { spawnSync } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import { expect } from 'chai';
import {
  md5Password,
  parseScram,
  passwordEncryptionOf,
  quoteIdent,
  quoteLiteral,
  saslprep,
  scramSha256,
  storedPasswordMatches,
} from '@pgfn/roles';
import { testPostgres } from '@pgfn/testpg';
import { canLogin, cleanup, query, seededRandom, uniquePrefix } from './helpers.js';

describe('scramSha256', () => {
  // RFC 7677 section 3: user "user", password "pencil", salt and nonces as in the example exchange.
  const salt = Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64');
  const authMessage =
    'n=user,r=rOprNGfwEbeRWgbNEkqO,' +
    'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,' +
    'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0';
  const secret = parseScram(scramSha256('pencil', salt));

  it('stores the RFC 7677 example in Postgres format', () => {
    expect(scramSha256('pencil', salt)).to.match(/^SCRAM-SHA-256\$4096:W22ZaJ0SNY7soEsUEjb6gQ==\$[A-Za-z0-9+/=]{44}:[A-Za-z0-9+/=]{44}$/);
  });
  it('derives the ServerKey of the RFC example (server signature matches)', () => {
    const signature = createHmac('sha256', secret?.serverKey ?? Buffer.alloc(0))
      .update(authMessage)
      .digest('base64');
    expect(signature).to.equal('6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=');
  });
  it('derives the StoredKey of the RFC example (client proof verifies)', () => {
    const proof = Buffer.from('dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=', 'base64');
    const clientSignature = createHmac('sha256', secret?.storedKey ?? Buffer.alloc(0))
      .update(authMessage)
      .digest();
    const clientKey = Buffer.from(proof.map((b, i) => b ^ (clientSignature[i] ?? 0)));
    expect(
      createHash('sha256')
        .update(clientKey)
        .digest()
        .equals(secret?.storedKey ?? Buffer.alloc(0)),
    ).to.equal(true);
  });
  it('verifies a stored hash without knowing its salt beforehand', () => {
    const stored = scramSha256('s3cret', seededRandom()(16));
    expect(storedPasswordMatches(stored, 's3cret', 'u', 'scram-sha-256')).to.equal(true);
    expect(storedPasswordMatches(stored, 's3cret!', 'u', 'scram-sha-256')).to.equal(false);
    expect(storedPasswordMatches(stored, 's3cret', 'u', 'md5')).to.equal(false);
    expect(storedPasswordMatches(null, 's3cret', 'u', 'scram-sha-256')).to.equal(false);
  });
});

describe('md5Password', () => {
  it('is md5 over password then user name', () => {
    // echo -n "secretalice" | md5sum
    expect(md5Password('secret', 'alice')).to.equal(`md5${createHash('md5').update('secretalice').digest('hex')}`);
    expect(storedPasswordMatches(md5Password('secret', 'alice'), 'secret', 'alice', 'md5')).to.equal(true);
    expect(storedPasswordMatches(md5Password('secret', 'alice'), 'secret', 'bob', 'md5')).to.equal(false);
  });
  it('follows password_encryption', () => {
    expect(passwordEncryptionOf(undefined)).to.equal('scram-sha-256');
    expect(passwordEncryptionOf({ password_encryption: 'MD5' })).to.equal('md5');
    expect(passwordEncryptionOf({ password_encryption: 'scram-sha-256' })).to.equal('scram-sha-256');
  });
});

describe('saslprep', () => {
  const cases: [string, string][] = [
    ['plain ascii', 'plain ascii'],
    ['pässwörd', 'pässwörd'],
    ['ﬁsh', 'fish'], // compatibility ligature: NFKC
    ['a\u00ADb', 'ab'], // soft hyphen maps to nothing
    ['a\u00A0b', 'a b'], // no-break space maps to space
    ['abc\u0007', 'abc\u0007'], // control character: prohibited, used as is
  ];
  for (const [input, output] of cases)
    it(`maps ${JSON.stringify(input)} to ${JSON.stringify(output)}`, () => expect(saslprep(input)).to.equal(output));
});

describe('password hashes against PostgreSQL 15', () => {
  const p = uniquePrefix();
  after(() => cleanup(p));

  // Postgres hashes these itself (plain passwords in SQL are fine in a test); ours must verify them.
  const passwords = ['simple', 'qu\'ote"s; DROP ROLE x; --', 'pässwörd', 'ﬁsh', 'a\u00ADb\u00A0c', '密码🔥', 'שלום', 'x'.repeat(200)];
  passwords.forEach((password, i) => {
    it(`verifies Postgres' own SCRAM hash of password #${i + 1}`, async () => {
      const role = `${p}h${i}`;
      await query(`SET password_encryption = 'scram-sha-256'; CREATE ROLE ${quoteIdent(role)} LOGIN PASSWORD ${quoteLiteral(password)}`);
      const [row] = await query<{ rolpassword: string }>('SELECT rolpassword FROM pg_authid WHERE rolname = $1', [role]);
      expect(storedPasswordMatches(row?.rolpassword ?? null, password, role, 'scram-sha-256')).to.equal(true);
    });
  });

  it("verifies Postgres' own md5 hash", async () => {
    const role = `${p}md5`;
    await query(`SET password_encryption = 'md5'; CREATE ROLE ${quoteIdent(role)} LOGIN PASSWORD 'secret'`);
    const [row] = await query<{ rolpassword: string }>('SELECT rolpassword FROM pg_authid WHERE rolname = $1', [role]);
    expect(row?.rolpassword).to.equal(md5Password('secret', role));
  });

  it('stores our hash so that libpq (psql) and node-postgres can log in', async () => {
    const role = `${p}login`;
    const password = 'pä\'ss"w;rd';
    await query(`CREATE ROLE ${quoteIdent(role)} LOGIN PASSWORD ${quoteLiteral(scramSha256(password, seededRandom()(16)))}`);
    expect(await canLogin(role, password)).to.equal(true);
    expect(await canLogin(role, 'wrong')).to.equal(false);
    const pgc = testPostgres();
    const psql = spawnSync('psql', ['-h', pgc.host, '-p', String(pgc.port), '-U', role, '-d', 'postgres', '-tAc', 'SELECT current_user'], {
      encoding: 'utf8',
      env: { ...process.env, PGPASSWORD: password },
    });
    expect(psql.stdout.trim()).to.equal(role);
  });

  it('lets libpq log in with a password SASLprep changes', async () => {
    const role = `${p}prep`;
    const password = 'ﬁsh\u00A0food';
    await query(`CREATE ROLE ${quoteIdent(role)} LOGIN PASSWORD ${quoteLiteral(scramSha256(password, seededRandom()(16)))}`);
    const pgc = testPostgres();
    const psql = spawnSync('psql', ['-h', pgc.host, '-p', String(pgc.port), '-U', role, '-d', 'postgres', '-tAc', 'SELECT 1'], {
      encoding: 'utf8',
      env: { ...process.env, PGPASSWORD: password },
    });
    expect(psql.stdout.trim()).to.equal('1');
  });
});
