// Which test files are heavy (ADR 0090): those that start real processes — a node agent (Patroni,
// PostgreSQL, PgBouncer), Knative's processes, an S3 server, Prometheus or its exporter, a browser, a
// private control plane. Read from the file and every local module it imports, transitively. A heavy
// part started by a file this misses fails at once (assertExclusive), naming this file.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

export const HEAVY =
  /\b(startNodeAgent|startTestAgent|startLocalNodes|startTestNodes|startStack|S3Server|startS3|Prometheus|startExporter|KnativeControllers|KnativeDataPlane|startKnativePath|TriggerAdmission|launchBrowser|ControlPlane\.start|runFault)\b|\bknative: \{/;

const cache = new Map<string, boolean>();

/** True when the file, or a local module it imports (transitively), starts a heavy part. */
export function isHeavyFile(file: string, seen: Set<string> = new Set()): boolean {
  const known = cache.get(file);
  if (known !== undefined) return known;
  if (seen.has(file) || !existsSync(file)) return false;
  seen.add(file);
  const text = readFileSync(file, 'utf8');
  const heavy =
    HEAVY.test(text) ||
    [...text.matchAll(/from '(\.{1,2}\/[^']+)\.js'/g)].some((m) => isHeavyFile(resolve(dirname(file), `${m[1] ?? ''}.ts`), seen));
  cache.set(file, heavy);
  return heavy;
}
