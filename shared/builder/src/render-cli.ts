// Entry point of `npm run render` (node --import tsx shared/builder/src/render-cli.ts …); see render.ts.
import { readFileSync } from 'node:fs';
import { runRender } from './render.js';

process.exitCode = runRender(process.argv.slice(2), {
  readFile: (path) => readFileSync(path, 'utf8'),
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  today: () => new Date(),
});
