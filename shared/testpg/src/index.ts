// Public API of @pgfn/testpg: a throwaway PostgreSQL 15 for tests and benchmarks.
export { startPostgres, postgresAvailable, childPids, PG_BIN_DIR } from './postgres.js';
export type { PostgresConnection, RunningPostgres, StartPostgresOptions } from './postgres.js';
export { TEST_POSTGRES_ENV, testPostgres, testPostgresEnvValue } from './env.js';
