// rolling-update looks first without the cluster's Lease (most events find nothing to do) and takes
// the Lease only to act: on that first look, the first effect a step would have throws WouldAct, and
// the step is taken again under the Lease with everything read anew.

/** Thrown on the first look when a step would have an effect. */
export class WouldAct extends Error {}

/** Call before every effect (a write, an Event, a Patroni call that changes something). */
export function mustAct(ctx: { readonly act: boolean }): void {
  if (!ctx.act) throw new WouldAct('this step needs the Lease');
}
