// A real Prometheus for the local stack and tests: file-based service discovery (targets are JSON
// files Prometheus watches, so targets come and go while it runs), the repository's rule files, a
// one-second scrape and evaluation interval, and a small client for its HTTP API.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ManagedProcess, freePort, assertExclusive } from '@pgfn/controlplane';
import { monitoringBinary } from './binaries.js';

export interface PrometheusOptions {
  /** Data, configuration, targets and log live here. */
  readonly dir: string;
  /** Rule files to load (absolute paths). */
  readonly ruleFiles?: readonly string[];
  /** Rule evaluation interval (default 1s). */
  readonly interval?: string;
  /** Scrape interval and timeout (default 2s: postgres_exporter takes about 1 s to report a server that refuses connections). */
  readonly scrapeInterval?: string;
}

/** One scrape target of file-based discovery. */
export interface Target {
  readonly address: string;
  readonly labels: Readonly<Record<string, string>>;
}

export interface Sample {
  readonly metric: Record<string, string>;
  readonly value: [number, string];
}

export interface AlertState {
  readonly labels: Record<string, string>;
  readonly state: 'pending' | 'firing' | 'inactive';
}

export class Prometheus {
  private constructor(
    readonly url: string,
    private readonly process: ManagedProcess,
    private readonly targetsDir: string,
  ) {}

  static async start(opts: PrometheusOptions): Promise<Prometheus> {
    assertExclusive('Prometheus', ['misc']);
    const targetsDir = join(opts.dir, 'targets');
    mkdirSync(join(opts.dir, 'data'), { recursive: true });
    mkdirSync(targetsDir, { recursive: true });
    const scrape = opts.scrapeInterval ?? '2s';
    const config = {
      global: { scrape_interval: scrape, scrape_timeout: scrape, evaluation_interval: opts.interval ?? '1s' },
      rule_files: opts.ruleFiles ?? [],
      scrape_configs: [
        {
          job_name: 'pgfn',
          file_sd_configs: [{ files: [join(targetsDir, '*.json')], refresh_interval: '1s' }],
        },
      ],
    };
    // JSON is YAML: Prometheus reads it as its configuration file.
    const configFile = join(opts.dir, 'prometheus.yml');
    writeFileSync(configFile, JSON.stringify(config, null, 2));
    const port = await freePort();
    const proc = new ManagedProcess({
      name: 'prometheus',
      logFile: join(opts.dir, 'prometheus.log'),
      command: monitoringBinary('prometheus'),
      args: [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${join(opts.dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--web.enable-lifecycle',
        '--log.level=warn',
      ],
    });
    const prom = new Prometheus(`http://127.0.0.1:${port}`, proc, targetsDir);
    await prom.waitReady(30_000);
    return prom;
  }

  /** Replaces the targets of one group (one file), written atomically so Prometheus never reads half of it. */
  setTargets(group: string, targets: readonly Target[]): void {
    const file = join(this.targetsDir, `${group}.json`);
    const body = targets.map((t) => ({ targets: [t.address], labels: t.labels }));
    writeFileSync(`${file}.tmp`, JSON.stringify(body));
    renameSync(`${file}.tmp`, file);
  }

  async query(promql: string): Promise<Sample[]> {
    const data = await this.api<{ resultType: string; result: Sample[] }>(`/api/v1/query?query=${encodeURIComponent(promql)}`);
    return data.result;
  }

  async alerts(): Promise<AlertState[]> {
    return (await this.api<{ alerts: AlertState[] }>('/api/v1/alerts')).alerts;
  }

  async targets(): Promise<{ labels: Record<string, string>; health: string; lastScrapeDuration: number; lastError: string }[]> {
    return (await this.api<{ activeTargets: never[] }>('/api/v1/targets?state=active')).activeTargets;
  }

  async stop(): Promise<void> {
    await this.process.stop();
  }

  logTail(): string {
    return this.process.tail(40);
  }

  private async api<T>(path: string): Promise<T> {
    const res = await fetch(`${this.url}${path}`);
    const body = (await res.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`prometheus ${path}: ${body.error ?? res.status}`);
    return body.data;
  }

  private async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.process.running) throw new Error(`prometheus exited:\n${this.logTail()}`);
      const ok = await fetch(`${this.url}/-/ready`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`prometheus not ready in ${timeoutMs} ms:\n${this.logTail()}`);
  }
}
