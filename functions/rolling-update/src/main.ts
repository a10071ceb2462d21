// The rolling-update function's process: the kit's clients plus a Patroni client, served on $PORT.
// Env besides the kit's: POD_TIMEOUT_SECONDS (default 300), POD_NAME (the Lease holder; default host).
import { hostname } from 'node:os';
import { positiveNumber, runFunction } from '@pgfn/fn-runtime';
import { loadKubeConfig, podExec } from '@pgfn/kube';
import { PatroniClient } from '@pgfn/patroni';
import { createHandler } from './handler.js';

runFunction('rolling-update', (kit) =>
  createHandler({
    ...kit,
    patroni: new PatroniClient(),
    exec: podExec(loadKubeConfig(process.env)),
    holder: process.env['POD_NAME'] ?? hostname(),
    podTimeoutMs: (positiveNumber(process.env, 'POD_TIMEOUT_SECONDS') ?? 300) * 1000,
    watchedNamespace: kit.env.watchedNamespace,
  }),
);
