// The writer half of a lost-write checker (Jepsen's "acknowledged writes" check): it inserts one row
// at a time into whatever the master Service points at and keeps a ledger of every attempt and its
// outcome. Only a COMMIT the server answered counts as acknowledged; an error or a timeout leaves the
// outcome unknown (the row may or may not exist). The checker half, `check()`, reads what survived on
// the master after a fault: an acknowledged id that is missing is a lost write.
//
// No statement_timeout on the session, on purpose: PostgreSQL answers a COMMIT whose wait for the
// synchronous standby was cancelled with success plus a warning, so a server-side timeout would turn
// "not replicated" into "acknowledged". A client-side timeout abandons the connection instead, and
// warnings about synchronous replication are recorded with the ack so a report can tell them apart.
import pg from 'pg';
import type { ServiceResolver } from '../resolver.js';

export interface LedgerWriterOptions {
  readonly resolver: ServiceResolver;
  /** `<cluster>.<namespace>.svc` */
  readonly host: string;
  readonly user: string;
  readonly password: string;
  readonly table: string;
  readonly intervalMs?: number;
  /** Client-side bound on one INSERT before the connection is abandoned (default 2 s). */
  readonly queryTimeoutMs?: number;
}

export interface LedgerAck {
  readonly id: number;
  readonly at: number;
  readonly server: string;
  /** The server warned that the commit may not have reached the synchronous standby. */
  readonly syncWarning: boolean;
}

export interface LedgerCheck {
  readonly attempted: number;
  readonly acknowledged: number;
  /** Attempts that failed or timed out (the writer saw the fault). */
  readonly failedAttempts: number;
  /** Acknowledged ids the master no longer has. */
  readonly lost: readonly number[];
  /** Of those, the ones acknowledged with a synchronous-replication warning. */
  readonly lostWithWarning: number;
  /** Attempts that failed or timed out but whose row exists (committed, never acknowledged: allowed). */
  readonly unacknowledgedButPresent: number;
}

export class LedgerWriter {
  readonly acks: LedgerAck[] = [];
  readonly failed: number[] = [];
  private readonly failures: { readonly id: number; readonly at: number }[] = [];
  private client: pg.Client | undefined;
  private server = '';
  private running = false;
  private loop: Promise<void> | undefined;
  private nextId = 1;
  private warned = false;

  constructor(private readonly o: LedgerWriterOptions) {}

  /** Creates the table through the master (retrying while it has no ready pod, up to 2 min) and starts writing. */
  async start(): Promise<void> {
    const deadline = Date.now() + 120_000;
    let client: pg.Client | undefined;
    while (client === undefined) {
      client = await this.connect().catch((err: unknown) => {
        if (Date.now() > deadline) throw err;
        return undefined;
      });
      if (client === undefined) await new Promise((r) => setTimeout(r, 250));
    }
    await client.query(`CREATE TABLE IF NOT EXISTS ${this.o.table} (id bigint PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())`);
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    await this.client?.end().catch(() => undefined);
    this.client = undefined;
  }

  /** Epoch ms of the first failed attempt started after `since`, if any. */
  failedSince(since: number): number | undefined {
    return this.failures.find((f) => f.at > since)?.at;
  }

  /** True once a write was acknowledged by `server` after `since` (epoch ms). */
  ackedBy(server: string, since: number): boolean {
    return this.acks.some((a) => a.at > since && a.server === server);
  }

  /** The longest pause between two acknowledged writes ending after `since`, in ms. */
  maxGapMs(since = 0): number {
    let gap = 0;
    for (let i = 1; i < this.acks.length; i++) {
      const a = this.acks[i - 1] as LedgerAck;
      const b = this.acks[i] as LedgerAck;
      if (b.at >= since) gap = Math.max(gap, b.at - a.at);
    }
    return gap;
  }

  /** Compares the ledger with the rows `client` (connected to the master) has. */
  async check(client: pg.Client): Promise<LedgerCheck> {
    const result = await client.query<{ id: string }>(`SELECT id FROM ${this.o.table}`);
    const present = new Set(result.rows.map((r) => Number(r.id)));
    const lost = this.acks.filter((a) => !present.has(a.id));
    return {
      attempted: this.nextId - 1,
      acknowledged: this.acks.length,
      failedAttempts: this.failed.length,
      lost: lost.map((a) => a.id),
      lostWithWarning: lost.filter((a) => a.syncWarning).length,
      unacknowledgedButPresent: this.failed.filter((id) => present.has(id)).length,
    };
  }

  private async run(): Promise<void> {
    const interval = this.o.intervalMs ?? 50;
    while (this.running) {
      const started = Date.now();
      const id = this.nextId++;
      try {
        const client = this.client ?? (await this.connect());
        this.warned = false;
        await client.query(`INSERT INTO ${this.o.table} (id) VALUES ($1)`, [id]);
        this.acks.push({ id, at: Date.now(), server: this.server, syncWarning: this.warned });
      } catch {
        this.failed.push(id);
        this.failures.push({ id, at: started });
        const broken = this.client;
        this.client = undefined;
        void broken?.end().catch(() => undefined);
      }
      await new Promise((r) => setTimeout(r, Math.max(0, interval - (Date.now() - started))));
    }
  }

  private async connect(): Promise<pg.Client> {
    const [target] = await this.o.resolver.resolveAddresses(this.o.host, 5432);
    if (target === undefined) throw new Error(`${this.o.host} has no ready pod`);
    const client = new pg.Client({
      host: target.ip,
      port: target.port,
      user: this.o.user,
      password: this.o.password,
      database: 'postgres',
      ssl: { rejectUnauthorized: false },
      connectionTimeoutMillis: 1000,
      query_timeout: this.o.queryTimeoutMs ?? 2000,
    });
    client.on('error', () => undefined);
    client.on('notice', (n) => {
      if (/synchronous replication/i.test(n.message ?? '')) this.warned = true;
    });
    try {
      await client.connect();
    } catch (err) {
      void client.end().catch(() => undefined);
      throw err;
    }
    this.client = client;
    this.server = target.ip;
    return client;
  }
}
