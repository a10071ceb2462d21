import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ManagedProcess, freePort, repoRoot } from '@pgfn/controlplane';
import { monitoringBinary } from './binaries.js';

/** The queries the sidecar runs (monitoring/postgres-exporter/queries.yaml), the same file locally. */
export const EXPORTER_QUERIES = join(repoRoot, 'monitoring', 'postgres-exporter', 'queries.yaml');

export interface ExporterOptions {
  readonly name: string;
  readonly logDir: string;
  /** Where Postgres listens and who the exporter connects as (the superuser, as the sidecar does). */
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly sslmode?: string;
}

export interface RunningExporter {
  readonly address: string;
  stop(): Promise<void>;
}

/** Debian's postgres_exporter with the repository's queries, on a free loopback port. */
export async function startExporter(opts: ExporterOptions): Promise<RunningExporter> {
  mkdirSync(opts.logDir, { recursive: true });
  const port = await freePort();
  const dsn = new URL(`postgresql://${opts.host}:${opts.port}/postgres`);
  dsn.username = opts.user;
  dsn.password = opts.password;
  dsn.searchParams.set('sslmode', opts.sslmode ?? 'disable');
  const proc = new ManagedProcess({
    name: `exporter-${opts.name}`,
    logFile: join(opts.logDir, `exporter-${opts.name}.log`),
    command: monitoringBinary('prometheus-postgres-exporter'),
    args: [`--web.listen-address=127.0.0.1:${port}`, `--extend.query-path=${EXPORTER_QUERIES}`],
    env: { ...process.env, DATA_SOURCE_NAME: dsn.toString() },
  });
  const address = `127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (!proc.running) throw new Error(`postgres_exporter exited:\n${proc.tail()}`);
    if (
      await fetch(`http://${address}/metrics`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return { address, stop: () => proc.stop() };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`postgres_exporter did not answer in 15 s:\n${proc.tail()}`);
}
