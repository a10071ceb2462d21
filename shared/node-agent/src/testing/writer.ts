// A client that commits one row every `intervalMs` to whatever the master Service points at, the way
// an application would: it resolves the Service name for every new connection, reconnects after any
// error, and records which rows the server acknowledged. After a failover, `missing()` says which
// acknowledged rows the new master lacks, and `gaps()` how long writes stopped.
import pg from 'pg';
import type { ServiceResolver } from '../resolver.js';

export interface WriterOptions {
  readonly resolver: ServiceResolver;
  /** `<cluster>.<namespace>.svc` */
  readonly host: string;
  readonly port?: number;
  readonly user: string;
  readonly password: string;
  readonly database?: string;
  readonly table?: string;
  readonly intervalMs?: number;
}

export interface Ack {
  readonly id: number;
  readonly at: number;
  readonly server: string;
}

export class FailoverWriter {
  readonly acks: Ack[] = [];
  errors = 0;
  /** The newest failure and where it was headed (for a test's timeout message). */
  lastError: { readonly at: number; readonly message: string; readonly target: string } | undefined;
  private client: pg.Client | undefined;
  private server = '';
  private running = false;
  private loop: Promise<void> | undefined;
  private nextId = 1;
  readonly table: string;

  constructor(private readonly o: WriterOptions) {
    this.table = o.table ?? 'failover_probe';
  }

  /** Creates the table through the master and starts writing. */
  async start(): Promise<void> {
    const client = await this.connect();
    await client.query(`CREATE TABLE IF NOT EXISTS ${this.table} (id bigint PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())`);
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    await this.client?.end().catch(() => undefined);
    this.client = undefined;
  }

  private async run(): Promise<void> {
    const interval = this.o.intervalMs ?? 50;
    while (this.running) {
      const started = Date.now();
      const id = this.nextId++;
      try {
        const client = this.client ?? (await this.connect());
        await client.query(`INSERT INTO ${this.table} (id) VALUES ($1)`, [id]);
        this.acks.push({ id, at: Date.now(), server: this.server });
      } catch (err) {
        this.errors++;
        this.lastError = { at: Date.now(), message: (err as Error).message, target: this.server };
        const broken = this.client;
        this.client = undefined;
        void broken?.end().catch(() => undefined);
      }
      await new Promise((r) => setTimeout(r, Math.max(0, interval - (Date.now() - started))));
    }
  }

  private async connect(): Promise<pg.Client> {
    const port = this.o.port ?? 5432;
    // An API call that never answers must not stop the writer for good: give up after 3 s and retry.
    let timer: NodeJS.Timeout | undefined;
    const addresses = await Promise.race([
      this.o.resolver.resolveAddresses(this.o.host, port),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`resolving ${this.o.host} took over 3 s`)), 3000);
      }),
    ]).finally(() => clearTimeout(timer));
    const target = addresses[0];
    this.server = target?.ip ?? '';
    if (target === undefined) throw new Error(`${this.o.host} has no ready pod`);
    const client = new pg.Client({
      host: target.ip,
      port: target.port,
      user: this.o.user,
      password: this.o.password,
      database: this.o.database ?? 'postgres',
      ssl: { rejectUnauthorized: false },
      connectionTimeoutMillis: 1000,
      query_timeout: 2000,
      statement_timeout: 2000,
    });
    client.on('error', () => undefined);
    try {
      await client.connect();
    } catch (err) {
      void client.end().catch(() => undefined);
      throw err;
    }
    this.client = client;
    return client;
  }

  /** What the writer did last, for a timeout message: acknowledgements by server, errors, the newest error. */
  describe(): string {
    const byServer = new Map<string, number>();
    for (const a of this.acks) byServer.set(a.server, (byServer.get(a.server) ?? 0) + 1);
    const acked = [...byServer].map(([server, n]) => `${n} by ${server}`).join(', ') || 'none';
    const last = this.lastError;
    const error = last === undefined ? '' : `; newest error ${Date.now() - last.at} ms ago (to ${last.target || '?'}): ${last.message}`;
    return `acknowledged ${acked}; ${this.errors} errors${error}`;
  }

  /** The longest pause between two acknowledged writes, in ms (optionally only pauses ending after `since`). */
  maxGapMs(since = 0): number {
    let gap = 0;
    for (let i = 1; i < this.acks.length; i++) {
      const a = this.acks[i - 1] as Ack;
      const b = this.acks[i] as Ack;
      if (b.at >= since) gap = Math.max(gap, b.at - a.at);
    }
    return gap;
  }

  /** Acknowledged ids that `client` (connected to the new master) does not have. */
  async missing(client: pg.Client): Promise<number[]> {
    const result = await client.query<{ id: string }>(`SELECT id FROM ${this.table}`);
    const present = new Set(result.rows.map((r) => Number(r.id)));
    return this.acks.map((a) => a.id).filter((id) => !present.has(id));
  }
}
