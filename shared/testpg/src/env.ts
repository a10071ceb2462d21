import type { PostgresConnection } from './postgres.js';

/** The environment variable through which a test run's global setup hands its server to every worker. */
export const TEST_POSTGRES_ENV = 'PGFN_TEST_POSTGRES';

/** The test run's shared server; fails loudly when the root hooks did not start one. */
export function testPostgres(): PostgresConnection {
  const raw = process.env[TEST_POSTGRES_ENV];
  if (raw === undefined || raw === '') {
    throw new Error(
      `${TEST_POSTGRES_ENV} is unset: run tests through mocha with test/support/root-hooks.ts on a machine with postgresql-15`,
    );
  }
  return JSON.parse(raw) as PostgresConnection;
}

/** The value of TEST_POSTGRES_ENV for a running server. */
export function testPostgresEnvValue(connection: PostgresConnection): string {
  const { host, port, user, password, database } = connection;
  return JSON.stringify({ host, port, user, password, database });
}
