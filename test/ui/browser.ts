// Debian's headless Chromium driven by playwright-core (no browser download): the flags keep it from
// reaching the network or a GPU. Missing browser fails loudly (hack/setup.sh installs it).
import { existsSync, readFileSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { assertExclusive } from '@pgfn/controlplane';

const CANDIDATES = ['/usr/bin/chromium-headless-shell', '/usr/bin/chromium'];

export async function launchBrowser(): Promise<Browser> {
  assertExclusive('a browser', ['misc']);
  const executablePath = process.env['PGFN_CHROMIUM'] ?? CANDIDATES.find((p) => existsSync(p));
  if (executablePath === undefined)
    throw new Error(`no Chromium at ${CANDIDATES.join(' or ')}: run npm run setup (chromium-headless-shell)`);
  return chromium.launch({
    executablePath,
    headless: true,
    args: [
      '--no-sandbox',
      '--headless',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** A PNG file's width and height (from its IHDR chunk); throws when the file is not a PNG. */
export function pngSize(file: string): { width: number; height: number; bytes: number } {
  const png = readFileSync(file);
  if (png.subarray(1, 4).toString('latin1') !== 'PNG') throw new Error(`${file} is not a PNG`);
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20), bytes: png.length };
}
