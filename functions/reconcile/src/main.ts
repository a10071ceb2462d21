// The reconcile function's process: the kit's clients wired into the handler, served on $PORT.
import { runFunction } from '@pgfn/fn-runtime';
import { realBuilder } from './builder-port.js';
import { createHandler } from './handler.js';
import { syncRoles } from './role-sync.js';
import { syncStreams } from './streams-sync.js';

// The code-cache training run calls it (ADR 0152).
export { rehearse } from './rehearsal.js';

runFunction('reconcile', (kit) =>
  createHandler({
    ...kit,
    builder: realBuilder,
    syncRoles: (cluster, config, pods, log) => syncRoles({ ...kit, sslmode: kit.env.sslmode }, { cluster, config, pods, log }),
    syncStreams: (cluster, config, pods) => syncStreams({ ...kit, sslmode: kit.env.sslmode }, { cluster, config, pods }),
    watchedNamespace: kit.env.watchedNamespace,
  }),
);
