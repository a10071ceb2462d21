// Our stand-ins for Spilo's /scripts, copied into every pod's fresh RW_DIR on each start.
import { chmodSync, copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export interface ScriptCopy {
  /** The directory holding the scripts (SCRIPTS_SOURCE). */
  readonly from: string;
  /** The pod's RW_DIR/scripts on the host. */
  readonly to: string;
}

/**
 * Copies the regular files of `from` into `to`, executable, and returns their names. Anything else is
 * left out: Python importing one of the scripts (a test calling logical_backup.py's functions) leaves a
 * __pycache__ directory beside them, and copying that directory failed every Spilo start (EISDIR).
 */
export function copyScripts({ from, to }: ScriptCopy): string[] {
  mkdirSync(to, { recursive: true });
  const files = readdirSync(from, { withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => entry.name);
  for (const file of files) {
    copyFileSync(join(from, file), join(to, file));
    chmodSync(join(to, file), 0o755);
  }
  return files;
}
