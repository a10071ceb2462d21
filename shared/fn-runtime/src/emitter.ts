import http from 'node:http';
import https from 'node:https';
import { CloudEvent, HTTP, type Message } from 'cloudevents';

export type Emit = (type: string, subject: string, data: Record<string, unknown>) => Promise<void>;

/** How long an emit waits for the sink's answer before it goes on (ADR 0150). */
export const EMIT_TIMEOUT_MS = 10_000;

export interface EmitterOptions {
  readonly timeoutMs?: number;
  /** Told of an event whose answer did not come in time (sent, outcome unknown). */
  readonly onTimeout?: (what: { type: string; subject: string; timeoutMs: number }) => void;
}

/**
 * Sends our own CloudEvents (binary mode) to the sink a SinkBinding injects as K_SINK. Without a
 * sink the events are dropped on purpose. A sink that refuses the event (non-2xx) or cannot be
 * reached fails the emit, so the delivery that caused it is retried. A sink that has the event but
 * does not answer within `timeoutMs` is left to finish on its own: a Broker on a synchronous channel
 * (Knative's InMemoryChannel) answers only once every subscriber has, and an emit waiting for that
 * would hold its namespace's reconciles (ADR 0150).
 */
export function createEmitter(sink: string | undefined, source: string, o: EmitterOptions = {}): Emit {
  if (sink === undefined || sink === '') return () => Promise.resolve();
  const timeoutMs = o.timeoutMs ?? EMIT_TIMEOUT_MS;
  const post = postTransport(sink, timeoutMs);
  return async (type, subject, data) => {
    const answered = await post(HTTP.binary(new CloudEvent({ type, source, subject, datacontenttype: 'application/json', data })));
    if (!answered) o.onTimeout?.({ type, subject, timeoutMs });
  };
}

/**
 * cloudevents' httpTransport with what it lacks: the answer's status checked, and a deadline. Resolves
 * true on a 2xx, false when the request was sent whole and no answer came in time.
 */
function postTransport(sink: string, timeoutMs: number): (message: Message) => Promise<boolean> {
  const url = new URL(sink);
  const base = url.protocol === 'https:' ? https : url.protocol === 'http:' ? http : undefined;
  if (base === undefined) throw new TypeError(`K_SINK ${sink}: unsupported protocol ${url.protocol}`);
  return (message) =>
    new Promise<boolean>((resolve, reject) => {
      let sent = false;
      const req = base.request(url, { method: 'POST', headers: message.headers }, (res) => {
        res.resume();
        res.on('end', () => {
          clearTimeout(timer);
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve(true);
          else reject(new Error(`the event sink ${url.origin} answered ${status}`));
        });
      });
      const timer = setTimeout(() => {
        if (sent) resolve(false);
        else reject(new Error(`the event sink ${url.origin} took no event within ${timeoutMs} ms`));
        req.destroy();
      }, timeoutMs);
      req.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      req.end(message.body as string | Buffer, () => {
        sent = true;
      });
    });
}
