import { CloudEvent, emitterFor, httpTransport, Mode } from 'cloudevents';

export type Emit = (type: string, subject: string, data: Record<string, unknown>) => Promise<void>;

/**
 * Sends our own CloudEvents (binary mode) to the sink a SinkBinding injects as K_SINK. Without a
 * sink the events are dropped on purpose: emitting is a courtesy to subscribers, never a step the
 * operator's correctness depends on.
 */
export function createEmitter(sink: string | undefined, source: string): Emit {
  if (sink === undefined || sink === '') return () => Promise.resolve();
  const send = emitterFor(httpTransport(sink), { mode: Mode.BINARY });
  return async (type, subject, data) => {
    await send(new CloudEvent({ type, source, subject, datacontenttype: 'application/json', data }));
  };
}
