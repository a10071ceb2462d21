import type { IncomingHttpHeaders } from 'node:http';

/**
 * A CloudEvent as the broker carries it: context attributes (standard and extensions) as strings, the
 * data as the exact bytes received. The broker never re-encodes data, so whatever the adapter or a
 * function sent arrives unchanged at every subscriber.
 */
export interface WireEvent {
  readonly attributes: Readonly<Record<string, string>>;
  readonly data: Buffer;
}

const REQUIRED = ['id', 'source', 'specversion', 'type'] as const;
const STRUCTURED = 'application/cloudevents+json';
const BATCH = 'application/cloudevents-batch+json';

/** The event in an HTTP request (binary or structured mode), or the reason it is not one. */
export function fromHttp(headers: IncomingHttpHeaders, body: Buffer): WireEvent | string {
  const contentType = header(headers, 'content-type') ?? '';
  if (contentType.startsWith(BATCH)) return 'batched CloudEvents are not supported';
  const event = contentType.startsWith(STRUCTURED) ? fromStructured(body) : fromBinary(headers, body, contentType);
  if (typeof event === 'string') return event;
  const missing = REQUIRED.filter((a) => (event.attributes[a] ?? '') === '');
  return missing.length > 0 ? `not a CloudEvent: missing ${missing.join(', ')}` : event;
}

function fromBinary(headers: IncomingHttpHeaders, body: Buffer, contentType: string): WireEvent | string {
  const attributes: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!name.startsWith('ce-') || value === undefined) continue;
    attributes[name.slice(3)] = decodeHeaderValue(Array.isArray(value) ? value.join(',') : value);
  }
  if (Object.keys(attributes).length === 0) return 'not a CloudEvent: no ce-* headers and not application/cloudevents+json';
  if (contentType !== '') attributes['datacontenttype'] = contentType;
  return { attributes, data: body };
}

function fromStructured(body: Buffer): WireEvent | string {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch (err) {
    return `structured CloudEvent is not JSON: ${(err as Error).message}`;
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return 'structured CloudEvent is not a JSON object';
  const attributes: Record<string, string> = {};
  let data: Buffer = Buffer.alloc(0);
  for (const [key, value] of Object.entries(doc as Record<string, unknown>)) {
    if (key === 'data') data = encodeData(value, (doc as Record<string, unknown>)['datacontenttype']);
    else if (key === 'data_base64') data = Buffer.from(String(value), 'base64');
    else if (value !== null && value !== undefined) attributes[key] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  return { attributes, data };
}

/** In structured mode, JSON data is embedded as JSON; anything else is a string. */
function encodeData(value: unknown, contentType: unknown): Buffer {
  const isJson = typeof contentType !== 'string' || contentType === '' || /[/+]json(;|$)/.test(contentType);
  if (typeof value === 'string' && !isJson) return Buffer.from(value, 'utf8');
  return Buffer.from(JSON.stringify(value), 'utf8');
}

/** Binary-mode HTTP headers for an event (the broker always delivers in binary mode, as Knative's does). */
export function toBinaryHeaders(event: WireEvent): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.attributes)) {
    if (name === 'datacontenttype') headers['content-type'] = value;
    else headers[`ce-${name}`] = encodeHeaderValue(value);
  }
  return headers;
}

/** The event with extra or replaced attributes (dead-letter extensions, for instance). */
export function withAttributes(event: WireEvent, extra: Record<string, string>): WireEvent {
  return { attributes: { ...event.attributes, ...extra }, data: event.data };
}

/** The data parsed as JSON, or undefined when it is not JSON. */
export function jsonData(event: WireEvent): unknown {
  try {
    return JSON.parse(event.data.toString('utf8'));
  } catch {
    return undefined;
  }
}

// The HTTP binding percent-encodes space, double quote, percent and anything outside printable ASCII.
function encodeHeaderValue(value: string): string {
  return value.replace(/[^\x21-\x7e]|["%]/gu, (c) => encodeURIComponent(c));
}

function decodeHeaderValue(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}
