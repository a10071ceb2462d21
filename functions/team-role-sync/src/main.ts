// The team-role-sync function's process: the kit's clients wired into the handler, served on $PORT.
// Beyond the kit's environment (functionEnv): TEAMS_API_TIMEOUT_MS (default 10000).
import { positiveNumber, runFunction } from '@pgfn/fn-runtime';
import { createHandler } from './handler.js';

runFunction('team-role-sync', (kit) => {
  const timeoutMs = positiveNumber(process.env, 'TEAMS_API_TIMEOUT_MS');
  return createHandler({
    ...kit,
    operatorNamespace: kit.env.configSource.namespace,
    sslmode: kit.env.sslmode,
    ...(timeoutMs === undefined ? {} : { teamsApi: { timeoutMs } }),
    watchedNamespace: kit.env.watchedNamespace,
  });
});
