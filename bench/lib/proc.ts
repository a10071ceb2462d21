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

export async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}
