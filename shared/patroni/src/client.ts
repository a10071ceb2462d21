// Patroni's REST API over node:http with a timeout per request. Every call names the member it talks
// to (its API base URL, e.g. http://10.0.0.5:8008), because some answers are member-local (GET
// /patroni, POST /restart) and others go through that member to the DCS (GET/PATCH /config, POST
// /switchover).
import { request } from 'node:http';
import type { ClusterView, DynamicConfig, MemberStatus } from './types.js';

export class PatroniError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'PatroniError';
  }
}

export interface PatroniClientOptions {
  /** Per request; default 5 s (a switchover waits for the new leader, so it gets `switchoverTimeoutMs`). */
  readonly timeoutMs?: number;
  /** Default 35 s: Patroni itself polls up to ~30 s for the new leader before it answers. */
  readonly switchoverTimeoutMs?: number;
}

export interface SwitchoverRequest {
  readonly leader: string;
  readonly candidate: string;
}

export interface RestartRequest {
  /** Restart only when Patroni says a restart is pending (default true). */
  readonly restartPending?: boolean;
}

interface Call {
  readonly base: string;
  readonly method: string;
  readonly path: string;
  readonly body?: unknown;
  readonly timeoutMs: number;
}

/** The API base URL of a pod: Spilo's Patroni listens on port 8008 of the pod IP. */
export function patroniUrl(podIp: string, port = 8008): string {
  return `http://${podIp.includes(':') ? `[${podIp}]` : podIp}:${port}`;
}

export class PatroniClient {
  private readonly timeoutMs: number;
  private readonly switchoverTimeoutMs: number;

  constructor(options: PatroniClientOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.switchoverTimeoutMs = options.switchoverTimeoutMs ?? 35_000;
  }

  async cluster(base: string): Promise<ClusterView> {
    return JSON.parse(await this.call({ base, method: 'GET', path: '/cluster', timeoutMs: this.timeoutMs })) as ClusterView;
  }

  /** This member's own status (200 while Patroni runs, whatever Postgres does). */
  async member(base: string): Promise<MemberStatus> {
    return JSON.parse(await this.call({ base, method: 'GET', path: '/patroni', timeoutMs: this.timeoutMs })) as MemberStatus;
  }

  async config(base: string): Promise<DynamicConfig> {
    return JSON.parse(await this.call({ base, method: 'GET', path: '/config', timeoutMs: this.timeoutMs })) as DynamicConfig;
  }

  /** PATCH /config: a JSON merge of `patch` into the DCS configuration (null deletes a key). Returns the result. */
  async patchConfig(base: string, patch: DynamicConfig): Promise<DynamicConfig> {
    const text = await this.call({ base, method: 'PATCH', path: '/config', body: patch, timeoutMs: this.timeoutMs });
    return JSON.parse(text) as DynamicConfig;
  }

  /** POST /switchover; resolves once Patroni reports the candidate as the new leader. */
  async switchover(base: string, body: SwitchoverRequest): Promise<string> {
    return this.call({ base, method: 'POST', path: '/switchover', body, timeoutMs: this.switchoverTimeoutMs });
  }

  /** POST /restart on the member behind `base`. */
  async restart(base: string, options: RestartRequest = {}): Promise<string> {
    const body = { restart_pending: options.restartPending ?? true };
    return this.call({ base, method: 'POST', path: '/restart', body, timeoutMs: this.switchoverTimeoutMs });
  }

  private call(c: Call): Promise<string> {
    const url = new URL(c.path, c.base);
    const payload = c.body === undefined ? undefined : JSON.stringify(c.body);
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          method: c.method,
          timeout: c.timeoutMs,
          headers: payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) resolve(text);
            else reject(new PatroniError(`${c.method} ${url.href}: ${status} ${text.trim().slice(0, 300)}`, status));
          });
          res.on('error', (err) => reject(new PatroniError(`${c.method} ${url.href}: ${err.message}`, undefined, { cause: err })));
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${c.timeoutMs} ms`)));
      req.on('error', (err) => reject(new PatroniError(`${c.method} ${url.href}: ${err.message}`, undefined, { cause: err })));
      req.end(payload);
    });
  }
}
