import { randomUUID } from 'node:crypto';
import type { PingSourceManifest } from './manifests.js';
import type { WireEvent } from './wire-event.js';

/** PingSource's event type and source (knative.dev/eventing pkg/apis/sources/v1 PingSourceSource). */
export const PING_TYPE = 'dev.knative.sources.ping';
export const pingSourceUri = (namespace: string, name: string): string => `/apis/v1/namespaces/${namespace}/pingsources/${name}`;

/** The event a PingSource sends when its schedule fires. */
export function pingEvent(source: PingSourceManifest, now: Date = new Date()): WireEvent {
  const { contentType, data, dataBase64 } = source.spec;
  const attributes: Record<string, string> = {
    specversion: '1.0',
    id: randomUUID(),
    type: PING_TYPE,
    source: pingSourceUri(source.metadata.namespace ?? 'default', source.metadata.name),
    time: now.toISOString(),
  };
  const body = dataBase64 !== undefined ? Buffer.from(dataBase64, 'base64') : Buffer.from(data ?? '', 'utf8');
  if (body.length > 0) attributes['datacontenttype'] = contentType ?? 'text/plain';
  return { attributes, data: body };
}

const DESCRIPTORS: Readonly<Record<string, string>> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

interface Field {
  readonly values: ReadonlySet<number>;
  readonly star: boolean;
}

export interface CronSchedule {
  /** The first minute strictly after `after` at which the schedule fires (UTC). */
  next(after: Date): Date;
}

/**
 * A five-field cron schedule (minute hour day-of-month month day-of-week) as PingSource accepts it:
 * numbers, `*`, ranges, steps, lists and the @hourly-style descriptors, evaluated in UTC. When both
 * day fields are restricted, either may match (standard cron).
 */
export function parseCron(expr: string): CronSchedule {
  const text = DESCRIPTORS[expr.trim()] ?? expr.trim();
  const parts = text.split(/\s+/);
  if (parts.length !== 5) throw new Error(`schedule "${expr}": expected five fields (minute hour day-of-month month day-of-week)`);
  const [min, hour, dom, mon, dow] = [
    field(parts[0] ?? '', 0, 59, expr),
    field(parts[1] ?? '', 0, 23, expr),
    field(parts[2] ?? '', 1, 31, expr),
    field(parts[3] ?? '', 1, 12, expr),
    sundayIsZero(field(parts[4] ?? '', 0, 7, expr)),
  ];
  const dayMatches = (d: Date): boolean => {
    const a = dom.values.has(d.getUTCDate());
    const b = dow.values.has(d.getUTCDay());
    return dom.star || dow.star ? a && b : a || b;
  };
  return {
    next(after) {
      const t = new Date(Math.floor(after.getTime() / 60_000) * 60_000 + 60_000);
      for (let i = 0; i < 60 * 24 * 366 * 5; i++, t.setTime(t.getTime() + 60_000)) {
        if (min.values.has(t.getUTCMinutes()) && hour.values.has(t.getUTCHours()) && mon.values.has(t.getUTCMonth() + 1) && dayMatches(t))
          return new Date(t);
      }
      throw new Error(`schedule "${expr}" never fires`);
    },
  };
}

/** Day of week 7 is Sunday, like 0. */
function sundayIsZero(f: Field): Field {
  return f.values.has(7) ? { star: f.star, values: new Set([...f.values].map((v) => v % 7)) } : f;
}

function field(text: string, lo: number, hi: number, expr: string): Field {
  const values = new Set<number>();
  for (const item of text.split(',')) {
    const m = /^(\*|\d+)(?:-(\d+))?(?:\/(\d+))?$/.exec(item);
    if (m === null) throw new Error(`schedule "${expr}": cannot read "${item}"`);
    const from = m[1] === '*' ? lo : Number(m[1]);
    const to = m[2] !== undefined ? Number(m[2]) : m[1] === '*' || m[3] !== undefined ? hi : from;
    const step = m[3] === undefined ? 1 : Number(m[3]);
    if (from < lo || to > hi || from > to || step < 1) throw new Error(`schedule "${expr}": "${item}" is outside ${lo}-${hi}`);
    for (let v = from; v <= to; v += step) values.add(v);
  }
  return { values, star: text === '*' || text.startsWith('*/') };
}

/** Our PingSources, firing on their schedules into `publish` until stopped. */
export class LocalPings {
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly sources: readonly PingSourceManifest[],
    private readonly publish: (e: WireEvent) => void,
  ) {
    for (const s of sources) {
      if (s.spec.timezone !== undefined)
        throw new Error(`PingSource ${s.metadata.name}: spec.timezone is not supported locally (schedules run in UTC)`);
      parseCron(s.spec.schedule);
    }
  }

  get names(): string[] {
    return this.sources.map((s) => s.metadata.name);
  }

  start(): void {
    for (const s of this.sources) this.schedule(s);
  }

  /** Fires one PingSource now (tests, `npm run local`'s resync on demand). */
  fire(name: string): WireEvent {
    const source = this.sources.find((s) => s.metadata.name === name);
    if (source === undefined) throw new Error(`no PingSource ${name} (known: ${this.names.join(', ')})`);
    const event = pingEvent(source);
    this.publish(event);
    return event;
  }

  stop(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  private schedule(s: PingSourceManifest): void {
    const now = new Date();
    const at = parseCron(s.spec.schedule).next(now);
    const timer = setTimeout(() => {
      this.publish(pingEvent(s, at));
      this.schedule(s);
    }, at.getTime() - now.getTime());
    timer.unref();
    this.timers.set(s.metadata.name, timer);
  }
}
