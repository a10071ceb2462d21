// Issue 20, item 7: search log files for secrets. A password counts as found raw or base64-encoded
// (the form a Secret's data takes), so a log that prints a Secret object is caught too.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Every regular file below `dir` (none when it does not exist). */
export function filesBelow(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((f) => {
    const path = join(dir, f);
    const st = statSync(path, { throwIfNoEntry: false });
    return st === undefined ? [] : st.isDirectory() ? filesBelow(path) : [path];
  });
}

/** One line per file holding a password, raw or base64; the password itself is never printed. */
export function passwordHits(files: readonly string[], passwords: readonly string[]): string[] {
  const hits: string[] = [];
  for (const file of files) {
    if (!existsSync(file)) continue;
    const text = readFileSync(file, 'utf8');
    for (const pw of passwords)
      for (const form of [pw, Buffer.from(pw).toString('base64')])
        if (text.includes(form)) hits.push(`${file}: a password (${form === pw ? 'raw' : 'base64'})`);
  }
  return hits;
}
