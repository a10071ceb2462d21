import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Where hack/setup.sh unpacks Debian's prometheus and prometheus-postgres-exporter (dpkg -x: no services started). */
export const MONITORING_ROOT = join(process.env['PGFN_CACHE'] ?? join(homedir(), '.cache', 'pgfn'), 'prom-root', 'usr', 'bin');

export type MonitoringBinary = 'prometheus' | 'promtool' | 'prometheus-postgres-exporter';

/** The binary's path; fails loudly when setup has not unpacked it. */
export function monitoringBinary(name: MonitoringBinary): string {
  const path = join(MONITORING_ROOT, name);
  if (!existsSync(path)) throw new Error(`${path} is missing: run \`npm run setup\` (hack/setup.sh unpacks Debian's ${name})`);
  return path;
}
