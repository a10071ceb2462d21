// Where the node agent finds barman-cloud (the stand-in for WAL-G, ADR 0016): a venv that
// hack/setup.sh installs under the cache, bind-mounted read-only into every Spilo pod that archives
// or restores, at the path the scripts expect.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir, readVersions } from '@pgfn/controlplane';

/** Inside the pod (scripts/barman_cloud.sh runs `<this>/bin/python3 -m barman.clients.…`). */
export const BARMAN_MOUNT = '/usr/local/lib/pgfn-barman';

/** The venv on this machine; throws a sentence naming the fix when it is missing. */
export function barmanVenv(): string {
  const version = readVersions()['BARMAN_VERSION'];
  if (version === undefined) throw new Error('hack/versions.env lacks BARMAN_VERSION');
  const venv = join(cacheDir(), `venv-barman-${version}`);
  if (!existsSync(join(venv, 'bin', 'python3'))) {
    throw new Error(`barman ${version} is not installed (${venv}); WAL archiving and restores need it: run bash hack/setup.sh`);
  }
  return venv;
}
