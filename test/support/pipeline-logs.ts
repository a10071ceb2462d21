import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** An adapter's watches (re)starting or ending, and its errors (klog E lines, zap error level). */
const ADAPTER_NEWS = /watch ended|Caches populated|"level":"error"|^E\d{4} /;

/**
 * What a pipeline's logs say about where an event went, short enough to ride in a failure's message:
 * CI keeps the end of a run's output (the failures), not the log tails printed as tests fail.
 */
export function pipelineDiagnosis(logDir: string): string {
  const parts = [
    section(logDir, 'reconcile.log', { lines: 12, keep: () => true, shape: functionLine }),
    section(logDir, 'adapter-pgfn-resources.log', { lines: 8, keep: (l) => ADAPTER_NEWS.test(l) }),
    section(logDir, 'adapter-pgfn-spilo.log', { lines: 4, keep: (l) => ADAPTER_NEWS.test(l) }),
    section(logDir, 'broker.jsonl', { lines: 6, keep: () => true }),
    ...['knative-ingress.log', 'knative-channel_dispatcher.log', 'knative-filter.log'].map((f) =>
      section(logDir, f, { lines: 5, keep: (l) => /"level":"(error|warn)"/.test(l) && !/OIDC|oidc|deliver spec|tls/.test(l) }),
    ),
  ];
  return `\n  pipeline logs (${logDir}):\n${parts.filter((p) => p !== '').join('\n')}`;
}

/** Runs a test body; a failure carries the pipeline's log diagnosis in its message. */
export function explained(logDir: () => string, body: () => Promise<void>): () => Promise<void> {
  return async () => {
    try {
      await body();
    } catch (err) {
      if (err instanceof Error) err.message += pipelineDiagnosis(logDir());
      throw err;
    }
  };
}

interface Pick {
  readonly lines: number;
  readonly keep: (line: string) => boolean;
  readonly shape?: (line: string) => string;
}

function section(dir: string, file: string, { lines, keep, shape = (l) => l }: Pick): string {
  const path = join(dir, file);
  if (!existsSync(path)) return '';
  const picked = readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '' && keep(l))
    .slice(-lines);
  return picked.length === 0 ? '' : `  --- ${file}\n${picked.map((l) => `    ${shape(l).slice(0, 320)}`).join('\n')}`;
}

/** A function's JSON log line as time, message and the fields that tell what it acted on. */
function functionLine(line: string): string {
  try {
    const j = JSON.parse(line) as Record<string, unknown>;
    const time = typeof j['time'] === 'number' ? new Date(j['time']).toISOString().slice(11, 23) : '?';
    const fields = ['ceType', 'subject', 'outcome', 'cluster', 'status', 'err', 'steps', 'reason']
      .filter((k) => j[k] !== undefined)
      .map((k) => `${k}=${JSON.stringify(j[k])}`);
    return `${time} ${String(j['msg'])} ${fields.join(' ')}`;
  } catch {
    return line;
  }
}
