// npm run fn -- <function>: runs one function on $PORT (default 8081) against $KUBECONFIG
// (in-cluster config when unset), exactly as its image does.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '@pgfn/controlplane';

const name = process.argv[2];
const available = readdirSync(join(repoRoot, 'functions')).filter((d) => existsSync(join(repoRoot, 'functions', d, 'src/main.ts')));
if (name === undefined || !available.includes(name)) {
  console.error(`usage: npm run fn -- <function>   (one of: ${available.join(', ')})`);
  process.exit(2);
}
await import(join(repoRoot, 'functions', name, 'src/main.ts'));
