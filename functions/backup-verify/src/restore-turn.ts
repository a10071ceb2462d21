// A restore test in its turn (ADR 0071): the fleet-wide slot first (restore-slots.ts), renewed while
// the test runs; no slot is a queued test, not a failure. When the test ends, the clusters now at the
// head of the queue are asked to go again (dev.pgfn.backup.verify.requested).
import type { Kit } from '@pgfn/fn-runtime';
import type { RestoreSlots } from './restore-slots.js';
import { runRestoreTest, type RestoreResult, type RestoreRun } from './restore-run.js';

export const VERIFY_REQUESTED_TYPE = 'dev.pgfn.backup.verify.requested';

export type RestoreTurn = { readonly ran: RestoreResult } | { readonly queued: { readonly position: number; readonly waiting: number } };

/** How often a running test renews its slot (a third of the slot's time to live, as Leases are renewed). */
const RENEW_EVERY_MS = 20_000;

export async function restoreInTurn(
  o: RestoreRun & { slots: RestoreSlots | undefined; holder: string; emit: Kit['emit'] },
): Promise<RestoreTurn> {
  if (o.slots === undefined) return { ran: await runRestoreTest(o) };
  const slots = o.slots;
  const key = `${o.cluster.metadata.namespace ?? ''}/${o.cluster.metadata.name ?? ''}`;
  const admission = await slots.enter(key, o.holder);
  if (!admission.admitted) return { queued: { position: admission.position, waiting: admission.waiting } };
  const lost = new AbortController();
  const timer = setInterval(() => {
    slots.renew(key, o.holder).then(
      (held) => {
        if (!held) lost.abort(new Error(`the restore-test slot of ${key} was lost`));
      },
      () => undefined,
    );
  }, RENEW_EVERY_MS);
  try {
    const signal = o.signal === undefined ? lost.signal : AbortSignal.any([o.signal, lost.signal]);
    return { ran: await runRestoreTest({ ...o, signal }) };
  } finally {
    clearInterval(timer);
    const heads = await slots.leave(key, o.holder);
    for (const head of heads.filter((h) => h !== key)) {
      await o.emit(VERIFY_REQUESTED_TYPE, head, { reason: 'a restore-test slot is free' });
    }
  }
}
