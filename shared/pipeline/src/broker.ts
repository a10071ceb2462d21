import { appendFileSync, closeSync, openSync, writeSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isRetryable, isSuccess, retryPolicy, waitBeforeRetry, type DestinationSpec, type RetryPolicy } from './delivery.js';
import { triggerPasses, validateTriggerFilters } from './filters.js';
import { post } from './http-post.js';
import type { TriggerManifest } from './manifests.js';
import { fromHttp, toBinaryHeaders, withAttributes, type WireEvent } from './wire-event.js';

/** Something a Trigger delivers to: a URL, possibly behind a process started on demand. */
export interface Destination {
  readonly describe: string;
  /** `timeoutMs`: the destination's own request limit (a Knative Service's timeoutSeconds), if any. */
  acquire(): Promise<{ readonly url: string; readonly timeoutMs?: number; release(responded: boolean): void }>;
}

/** Maps a Trigger's subscriber or dead-letter sink to a local destination; undefined if unknown. */
export type ResolveDestination = (dest: DestinationSpec, namespace: string, broker: LocalBroker) => Destination | undefined;

export interface BrokerOptions {
  readonly triggers: readonly TriggerManifest[];
  readonly resolve: ResolveDestination;
  /** The Broker the Triggers must name (spec.broker); others are ignored. Default "pgfn". */
  readonly broker?: string;
  readonly port?: number;
  /** One JSON line per delivery outcome. */
  readonly logFile?: string;
  /** Called after every delivery finishes (tests, benchmarks). */
  readonly onDelivery?: (record: DeliveryRecord) => void;
}

export interface Attempt {
  readonly status?: number;
  readonly error?: string;
  readonly ms: number;
  /** The wait the broker chose before the next attempt (absent on the last one). */
  readonly backoffMs?: number;
}

export interface DeliveryRecord {
  readonly trigger: string;
  readonly subscriber: string;
  readonly id: string;
  readonly type: string;
  readonly subject?: string;
  readonly attempts: readonly Attempt[];
  readonly outcome: 'delivered' | 'failed' | 'dead-lettered' | 'dead-letter-failed';
  /** What the function said it did with a delivered event (its Pgfn-Outcome header: ok, ignored, …), when it said. */
  readonly answer?: string;
  /** The event's `kind` extension (ApiServerSource events), for counting deliveries per watched kind. */
  readonly kind?: string;
  /** Broker ingress until the final answer (ms). */
  readonly totalMs: number;
}

interface ActiveTrigger {
  readonly manifest: TriggerManifest;
  readonly policy: RetryPolicy;
  readonly subscriber: Destination;
  readonly deadLetter?: Destination;
}

/** Whether a Trigger routes, or why not (the reason is a Knative-style condition reason). */
export type TriggerState =
  { readonly ready: true; readonly subscriber: string } | { readonly ready: false; readonly reason: string; readonly message: string };

type NotRouting = Extract<TriggerState, { ready: false }>;

const triggerKey = (m: TriggerManifest): string => `${m.metadata.namespace ?? 'default'}/${m.metadata.name}`;

const MAX_RECORDS = 10_000;

/**
 * A local stand-in for Knative's multi-tenant Broker that routes with our own Trigger manifests:
 * the same filter semantics (filters.ts), the same retry policy and dead-letter behaviour
 * (delivery.ts), delivery in binary mode with `Prefer: reply`, and replies that are CloudEvents fed
 * back into the Broker. Ingress answers 202 once the event is accepted, as Knative's does.
 */
export class LocalBroker {
  private server: Server | undefined;
  private closed = false;
  private triggers: ActiveTrigger[] = [];
  private readonly inflight = new Set<Promise<void>>();
  private readonly records: DeliveryRecord[] = [];
  private readonly dead: WireEvent[] = [];
  private readonly ingressed: WireEvent[] = [];
  /** The delivery log, kept open: one write per record instead of open, write and close. */
  private logFd: number | undefined;
  /** Triggers left out because a destination could not be resolved, with the reason. */
  readonly skipped: string[] = [];
  url = '';

  private constructor(private readonly opts: BrokerOptions) {}

  static async start(opts: BrokerOptions): Promise<LocalBroker> {
    const broker = new LocalBroker(opts);
    await broker.listen(opts.port ?? 0);
    broker.triggers = broker.activate(opts.triggers);
    return broker;
  }

  /** The broker's own dead-letter sink: it keeps what reaches it (see deadLetters()). */
  get deadLetterUrl(): string {
    return `${this.url}/dead-letter`;
  }

  get triggerNames(): string[] {
    return this.triggers.map((t) => t.manifest.metadata.name);
  }

  deliveries(): readonly DeliveryRecord[] {
    return this.records;
  }

  deadLetters(): readonly WireEvent[] {
    return this.dead;
  }

  /** Every event accepted at ingress, oldest first (bounded). */
  received(): readonly WireEvent[] {
    return this.ingressed;
  }

  /** Accepts an event as if it had been POSTed to the ingress. */
  publish(event: WireEvent): void {
    if (this.closed) return;
    remember(this.ingressed, event);
    for (const t of this.triggers) {
      if (!triggerPasses(t.manifest.spec, event.attributes)) continue;
      const p = this.dispatch(t, event, performance.now()).finally(() => this.inflight.delete(p));
      this.inflight.add(p);
    }
  }

  /** Resolves once no delivery is in flight (including retries and dead letters). */
  async idle(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }

  /** Stops accepting events; deliveries in flight finish their current attempt and are not retried. */
  async stop(): Promise<void> {
    this.closed = true;
    if (this.logFd !== undefined) closeSync(this.logFd);
    this.logFd = undefined;
    await new Promise<void>((resolve) => {
      if (this.server === undefined) return resolve();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  /**
   * Adds a Trigger or replaces the one of the same namespace and name (deliveries in flight finish with
   * the old one). Returns whether it routes now, or why not.
   */
  setTrigger(m: TriggerManifest): TriggerState {
    const key = triggerKey(m);
    const active = this.activateOne(m);
    const kept = this.triggers.filter((t) => triggerKey(t.manifest) !== key);
    this.triggers = 'subscriber' in active ? [...kept, active] : kept;
    if ('subscriber' in active) return { ready: true, subscriber: active.subscriber.describe };
    return active;
  }

  /** Stops routing to a Trigger; false when it was not routing. */
  removeTrigger(namespace: string, name: string): boolean {
    const before = this.triggers.length;
    this.triggers = this.triggers.filter((t) => triggerKey(t.manifest) !== `${namespace}/${name}`);
    return this.triggers.length < before;
  }

  private activate(manifests: readonly TriggerManifest[]): ActiveTrigger[] {
    const active: ActiveTrigger[] = [];
    for (const m of manifests) {
      const a = this.activateOne(m);
      if ('subscriber' in a) active.push(a);
      else if (a.reason === 'Refused') throw new Error(`Trigger ${triggerKey(m)} ${a.message}`);
      else if (a.reason !== 'OtherBroker') this.skipped.push(`${triggerKey(m)}: ${a.message}`);
    }
    return active;
  }

  private activateOne(m: TriggerManifest): ActiveTrigger | NotRouting {
    if (m.spec.broker !== (this.opts.broker ?? 'pgfn')) {
      return { ready: false, reason: 'OtherBroker', message: `names Broker ${m.spec.broker}, not ${this.opts.broker ?? 'pgfn'}` };
    }
    const problems = validateTriggerFilters(m.spec);
    if (problems.length > 0) return { ready: false, reason: 'Refused', message: `would be refused by Knative: ${problems.join('; ')}` };
    const namespace = m.metadata.namespace ?? 'default';
    const subscriber = this.opts.resolve(m.spec.subscriber, namespace, this);
    if (subscriber === undefined) {
      return {
        ready: false,
        reason: 'SubscriberUnavailable',
        message: `subscriber ${describeDestination(m.spec.subscriber)} is not available locally`,
      };
    }
    const dls = m.spec.delivery?.deadLetterSink;
    const deadLetter = dls === undefined ? undefined : this.opts.resolve(dls, namespace, this);
    if (dls !== undefined && deadLetter === undefined) {
      return {
        ready: false,
        reason: 'DeadLetterSinkUnavailable',
        message: `dead-letter sink ${describeDestination(dls)} is not available locally`,
      };
    }
    let policy: RetryPolicy;
    try {
      policy = retryPolicy(m.spec.delivery);
    } catch (err) {
      return { ready: false, reason: 'Refused', message: (err as Error).message };
    }
    return { manifest: m, policy, subscriber, ...(deadLetter === undefined ? {} : { deadLetter }) };
  }

  private async listen(port: number): Promise<void> {
    const server = createServer((req, res) => {
      void this.handle(req, res);
    });
    server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method === 'GET' && (req.url === '/healthz' || req.url === '/readyz')) return void res.writeHead(200).end('ok');
    if (req.method !== 'POST') return void res.writeHead(405).end();
    const body = await readBody(req);
    const event = fromHttp(req.headers, body);
    if (typeof event === 'string') return void res.writeHead(400, { 'content-type': 'text/plain' }).end(event);
    if (req.url === '/dead-letter') {
      remember(this.dead, event);
      this.log({ deadLetter: event.attributes });
    } else {
      this.publish(event);
    }
    res.writeHead(202).end();
  }

  private async dispatch(t: ActiveTrigger, event: WireEvent, receivedAt: number): Promise<void> {
    const attempts: Attempt[] = [];
    let last = await this.send(t.subscriber, event, t.policy, attempts);
    let outcome: DeliveryRecord['outcome'] = isSuccess(last.status) ? 'delivered' : 'failed';
    if (outcome === 'delivered' && last.reply !== undefined) this.publish(last.reply);
    if (outcome === 'failed' && t.deadLetter !== undefined) {
      // Knative sends the original event, annotated with who failed and how.
      const annotated = withAttributes(event, {
        knativeerrordest: last.url ?? t.subscriber.describe,
        knativeerrorcode: String(last.status ?? 500),
        knativeerrordata: Buffer.from(last.body ?? last.error ?? '')
          .toString('base64')
          .slice(0, 1024),
      });
      last = await this.send(t.deadLetter, annotated, t.policy, []);
      outcome = isSuccess(last.status) ? 'dead-lettered' : 'dead-letter-failed';
    }
    const record: DeliveryRecord = {
      trigger: t.manifest.metadata.name,
      subscriber: t.subscriber.describe,
      id: event.attributes['id'] ?? '',
      type: event.attributes['type'] ?? '',
      subject: event.attributes['subject'],
      ...(event.attributes['kind'] === undefined ? {} : { kind: event.attributes['kind'] }),
      attempts,
      outcome,
      ...(last.answer === undefined ? {} : { answer: last.answer }),
      totalMs: performance.now() - receivedAt,
    };
    remember(this.records, record);
    this.log(record);
    this.opts.onDelivery?.(record);
  }

  /** One delivery with retries; every attempt is appended to `attempts`. */
  private async send(dest: Destination, event: WireEvent, policy: RetryPolicy, attempts: Attempt[]): Promise<SendResult> {
    for (let n = 0; ; n++) {
      const result = await attempt(dest, event, policy.timeoutMs);
      const last = isSuccess(result.status) || !isRetryable(result.status) || n >= policy.retries || this.closed;
      const backoffMs = last ? undefined : waitBeforeRetry(policy, n, result);
      attempts.push({
        ...(result.status === undefined ? {} : { status: result.status }),
        ...(result.error === undefined ? {} : { error: result.error }),
        ms: result.ms ?? 0,
        ...(backoffMs === undefined ? {} : { backoffMs }),
      });
      if (backoffMs === undefined) return result;
      await sleep(backoffMs);
    }
  }

  private log(entry: unknown): void {
    if (this.opts.logFile === undefined) return;
    const line = `${JSON.stringify({ at: new Date().toISOString(), ...(entry as object) })}\n`;
    // Deliveries in flight at stop() finish after the file is closed: those few lines append as before.
    if (this.closed) return appendFileSync(this.opts.logFile, line);
    this.logFd ??= openSync(this.opts.logFile, 'a');
    writeSync(this.logFd, line);
  }
}

interface SendResult {
  readonly url?: string;
  readonly status?: number;
  readonly error?: string;
  readonly body?: string;
  readonly retryAfter?: string;
  readonly reply?: WireEvent;
  /** The subscriber's Pgfn-Outcome header. */
  readonly answer?: string;
  readonly ms?: number;
}

async function attempt(dest: Destination, event: WireEvent, timeoutMs: number | undefined): Promise<SendResult> {
  const started = performance.now();
  let lease;
  try {
    lease = await dest.acquire();
  } catch (err) {
    return { error: `${dest.describe} unavailable: ${(err as Error).message.split('\n')[0] ?? ''}`, ms: performance.now() - started };
  }
  let responded = false;
  // The Service's own limit cuts a request short as Knative's queue-proxy does: with a 504.
  const serviceLimited = lease.timeoutMs !== undefined && (timeoutMs === undefined || lease.timeoutMs < timeoutMs);
  const limitMs = serviceLimited ? lease.timeoutMs : timeoutMs;
  try {
    const res = await post(lease.url, {
      headers: { ...toBinaryHeaders(event), prefer: 'reply' },
      body: event.data,
      ...(limitMs === undefined ? {} : { timeoutMs: limitMs }),
    });
    responded = true;
    const reply = isSuccess(res.status) ? replyOf(res.headers, res.body) : undefined;
    // As Knative's broker filter (v0.49): an answer with a body that is not a CloudEvent is a failed
    // delivery, answered 502 and redelivered by the Trigger's policy.
    if (isSuccess(res.status) && reply === undefined && res.body.length > 0)
      return { url: lease.url, status: 502, body: NOT_A_CLOUDEVENT, ms: performance.now() - started };
    return {
      url: lease.url,
      status: res.status,
      body: isSuccess(res.status) ? undefined : res.body.toString('utf8'),
      retryAfter: res.headers['retry-after'],
      ...(reply === undefined ? {} : { reply }),
      ...(res.headers[ANSWER_HEADER] === undefined ? {} : { answer: res.headers[ANSWER_HEADER] }),
      ms: performance.now() - started,
    };
  } catch (err) {
    const e = err as Error;
    if (e.name === 'TimeoutError' && serviceLimited) {
      const body = `request timed out after ${limitMs} ms (the Service's timeoutSeconds)`;
      return { url: lease.url, status: 504, body, ms: performance.now() - started };
    }
    return {
      url: lease.url,
      error:
        e.name === 'TimeoutError'
          ? `timed out after ${timeoutMs} ms`
          : `${e.message}${e.cause === undefined ? '' : `: ${String((e.cause as Error).message ?? e.cause)}`}`,
      ms: performance.now() - started,
    };
  } finally {
    lease.release(responded);
  }
}

/** fn-runtime's OUTCOME_HEADER as node:http names it (lower case); read for the records only, never for routing. */
const ANSWER_HEADER = 'pgfn-outcome';

/** Knative's broker filter's error for an answer whose body is not a CloudEvent. */
export const NOT_A_CLOUDEVENT =
  'received a non-empty response not recognized as CloudEvent. The response MUST be either empty or a valid CloudEvent';

/** A response that is itself a CloudEvent is a reply, which Knative feeds back into the Broker. */
function replyOf(headers: Readonly<Record<string, string>>, body: Buffer): WireEvent | undefined {
  const isEvent = headers['ce-type'] !== undefined || (headers['content-type'] ?? '').startsWith('application/cloudevents+json');
  if (!isEvent) return undefined;
  const event = fromHttp(headers, body);
  return typeof event === 'string' ? undefined : event;
}

function describeDestination(d: DestinationSpec): string {
  return d.uri ?? `${d.ref?.kind ?? '?'} ${d.ref?.name ?? '?'}`;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function remember<T>(list: T[], item: T): void {
  list.push(item);
  if (list.length > MAX_RECORDS) list.splice(0, list.length - MAX_RECORDS);
}

async function sleep(ms: number): Promise<void> {
  if (ms > 0) await new Promise((r) => setTimeout(r, ms));
}
