// VolumesResized, owned by rolling-update (it grows claims and refuses shrinks). reconcile states the
// same "up to date" condition for a cluster whose claims it is about to create from the manifest, so a new
// cluster needs no look and no status write of rolling-update's (ADR 0131).
import type { ConditionInput } from './status-write.js';

export const VOLUMES_RESIZED = 'VolumesResized';

/** Every claim has the manifest's size. */
export const VOLUMES_UP_TO_DATE: ConditionInput = {
  type: VOLUMES_RESIZED,
  status: 'True',
  reason: 'UpToDate',
  message: 'every volume has the size of the manifest',
};
