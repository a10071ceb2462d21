// Zalando's postgres-operator, built once from its Go module into the cache (bench/lib/zalando.ts), and
// its module source downloaded: the differential test (test/differential/) runs it as the oracle and
// reads upstream's example manifests from that source; bench/convergence.ts runs it as the other side.
// Run by hack/setup.sh. Cold on this machine (2 cores, shared): about 3.5 minutes.
import { ensureZalando, zalandoModuleDir } from '../bench/lib/zalando.js';

const log = (line: string): void => console.error(`[build-zalando] ${line}`);
const bin = await ensureZalando(undefined, log);
log(`binary ${bin}`);
log(`module source ${await zalandoModuleDir()}`);
