import http from 'node:http';
import https from 'node:https';
import { CloudEvent, emitterFor, Mode, type Message } from 'cloudevents';

export type Emit = (type: string, subject: string, data: Record<string, unknown>) => Promise<void>;

/** How long the sink may take to accept an event: the Broker's ingress answers in milliseconds. */
export const EMIT_TIMEOUT_MS = 10_000;

/**
 * Sends our own CloudEvents (binary mode) to the sink a SinkBinding injects as K_SINK. Without a
 * sink the events are dropped on purpose. A sink that refuses (non-2xx), fails or does not answer
 * within `timeoutMs` fails the emit, so the delivery that caused it is retried: an emit that never
 * returned would hold its namespace's reconciles behind it (ADR 0150).
 */
export function createEmitter(sink: string | undefined, source: string, timeoutMs = EMIT_TIMEOUT_MS): Emit {
  if (sink === undefined || sink === '') return () => Promise.resolve();
  const send = emitterFor(postTransport(sink, timeoutMs), { mode: Mode.BINARY });
  return async (type, subject, data) => {
    await send(new CloudEvent({ type, source, subject, datacontenttype: 'application/json', data }));
  };
}

/** cloudevents' httpTransport with what it lacks: a deadline and the answer's status checked. */
function postTransport(sink: string, timeoutMs: number): (message: Message) => Promise<void> {
  const url = new URL(sink);
  const base = url.protocol === 'https:' ? https : url.protocol === 'http:' ? http : undefined;
  if (base === undefined) throw new TypeError(`K_SINK ${sink}: unsupported protocol ${url.protocol}`);
  return (message) =>
    new Promise<void>((resolve, reject) => {
      const req = base.request(url, { method: 'POST', headers: message.headers, signal: AbortSignal.timeout(timeoutMs) }, (res) => {
        res.resume();
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve();
          else reject(new Error(`the event sink ${url.origin} answered ${status}`));
        });
      });
      req.on('error', (err) => {
        reject(
          err.name === 'AbortError' || err.name === 'TimeoutError'
            ? new Error(`the event sink ${url.origin} did not answer within ${timeoutMs} ms`)
            : err,
        );
      });
      req.end(message.body as string | Buffer);
    });
}
