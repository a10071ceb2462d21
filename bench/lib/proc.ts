import { Child } from '@pgfn/pipeline';

/**
 * A process the bench starts (the extra apiserver, Zalando's operator, the pgfn side): the pipeline's
 * Child (own process group, output in a log file, stop() signals the group), except that a missing pid
 * is an error and stop() waits longer before SIGKILL.
 */
export class BenchProcess extends Child {
  override get pid(): number {
    const pid = super.pid;
    if (pid === undefined) throw new Error(`${this.name} has no pid (it failed to start)`);
    return pid;
  }

  /** SIGTERM to the group, SIGKILL after `graceMs`. */
  override async stop(graceMs = 10_000): Promise<void> {
    await super.stop(graceMs);
  }
}

/** Polls `check` every `everyMs` until it returns true; fails naming `what` after `timeoutMs`. */
export async function waitUntil(what: string, check: () => Promise<boolean> | boolean, timeoutMs: number, everyMs = 200): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await Promise.resolve(check()).catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Polls `check` every `everyMs` until it returns a value (a throw counts as none); fails naming `what` after `timeoutMs`. */
export async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

export async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

/**
 * Request/answer over a child's IPC channel: each request carries a sequence number that its answer
 * echoes; an answer with `error` rejects, and so does the child exiting first.
 */
export class IpcRequester {
  private seq = 0;
  private readonly replies = new Map<number, (msg: Record<string, unknown>) => void>();

  constructor(private readonly proc: BenchProcess) {
    proc.ipc.on('message', (raw) => {
      const msg = raw as Record<string, unknown> & { seq?: number };
      if (msg.seq === undefined) return;
      this.replies.get(msg.seq)?.(msg);
      this.replies.delete(msg.seq);
    });
  }

  async request(req: Record<string, unknown>): Promise<Record<string, unknown>> {
    const seq = ++this.seq;
    const reply = new Promise<Record<string, unknown>>((resolve, reject) => {
      this.replies.set(seq, (msg) => (msg['error'] === undefined ? resolve(msg) : reject(new Error(JSON.stringify(msg['error'])))));
      void this.proc.exited.then(() => reject(new Error(`${this.proc.name} exited:\n${this.proc.tail(20)}`)));
    });
    this.proc.ipc.send({ ...req, seq });
    return reply;
  }
}

/** Starts a bench child with IPC and waits for its `{ ready: true }`. */
export async function startIpcChild(opts: { proc: BenchProcess; what: string; timeoutMs?: number }): Promise<IpcRequester> {
  const { proc } = opts;
  const requester = new IpcRequester(proc);
  let ready = false;
  proc.ipc.once('message', (m) => {
    ready = (m as { ready?: boolean }).ready === true;
  });
  await waitUntil(
    opts.what,
    () => {
      if (!proc.running) throw new Error(`${proc.name} exited while starting:\n${proc.tail(30)}`);
      return ready;
    },
    opts.timeoutMs ?? 120_000,
    100,
  );
  return requester;
}
