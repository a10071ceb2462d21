// Whom a function process trusts when started as the image starts it (ADR 0143): Node with
// FUNCTION_NODE_ARGS (--use-openssl-ca) and FUNCTION_TRUST_ENV (a hashed certificate directory)
// instead of Node's bundled roots. Real TLS servers on loopback, real child processes.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { repoRoot, selfSignedServerCert } from '@pgfn/controlplane';
import { FUNCTION_NODE_ARGS, FUNCTION_TRUST_ENV } from '@pgfn/pipeline';

const run = promisify(execFile);

/** What a process started like a function sees when it calls `url`: 'ok' or the TLS error's code. */
const PROBE = [
  "const https = require('node:https');",
  "const ca = process.env.PROBE_CA ? require('node:fs').readFileSync(process.env.PROBE_CA) : undefined;",
  'https.get(process.env.PROBE_URL, { ca }, (res) => { res.resume(); console.log("ok"); })',
  '  .on("error", (err) => console.log(err.code));',
].join('\n');

async function probe(env: Record<string, string>, nodeArgs: readonly string[] = FUNCTION_NODE_ARGS): Promise<string> {
  const { stdout } = await run(process.execPath, [...nodeArgs, '-e', PROBE], {
    env: { PATH: process.env['PATH'] ?? '', ...env },
  });
  return stdout.trim();
}

/** A loopback HTTPS server with a self-signed certificate; its certificate PEM and URL. */
async function tlsServer(cn: string): Promise<{ server: Server; cert: Buffer; url: string }> {
  const { cert, key } = await selfSignedServerCert({ cn, days: 1 });
  const server = createServer({ cert, key }, (_req, res) => res.end('{}'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { server, cert, url: `https://127.0.0.1:${address.port}/` };
}

describe('function processes trust the image certificate directory (ADR 0143)', function () {
  this.timeout(60_000);
  let trusted: Awaited<ReturnType<typeof tlsServer>>;
  let other: Awaited<ReturnType<typeof tlsServer>>;
  const dir = mkdtempSync(join(tmpdir(), 'pgfn-trust-'));
  const certDir = join(dir, 'certs');

  before(async () => {
    [trusted, other] = await Promise.all([tlsServer('trusted-ca'), tlsServer('other-ca')]);
    execFileSync('mkdir', ['-p', certDir]);
    const pem = join(certDir, 'trusted.pem');
    writeFileSync(pem, trusted.cert);
    // OpenSSL finds a directory's certificates by subject hash: <hash>.0, as update-ca-certificates links them.
    const hash = execFileSync('openssl', ['x509', '-hash', '-noout', '-in', pem], { encoding: 'utf8' }).trim();
    writeFileSync(join(certDir, `${hash}.0`), trusted.cert);
    writeFileSync(join(dir, 'other.pem'), other.cert);
  });
  after(() => {
    trusted.server.close();
    other.server.close();
  });

  it('a connection without its own CA is verified against SSL_CERT_DIR, found by hash', async () => {
    expect(await probe({ SSL_CERT_DIR: certDir, PROBE_URL: trusted.url })).to.equal('ok');
  });

  it('a server whose CA is not in the directory is refused', async () => {
    expect(await probe({ SSL_CERT_DIR: certDir, PROBE_URL: other.url })).to.equal('DEPTH_ZERO_SELF_SIGNED_CERT');
  });

  it('without FUNCTION_NODE_ARGS the directory is not consulted (Node’s bundled roots decide)', async () => {
    expect(await probe({ SSL_CERT_DIR: certDir, PROBE_URL: trusted.url }, [])).to.equal('DEPTH_ZERO_SELF_SIGNED_CERT');
  });

  it('a connection given its own CA (the kubeconfig’s) trusts that CA only, as without the flag', async () => {
    expect(await probe({ SSL_CERT_DIR: certDir, PROBE_URL: other.url, PROBE_CA: join(dir, 'other.pem') })).to.equal('ok');
    expect(await probe({ SSL_CERT_DIR: certDir, PROBE_URL: trusted.url, PROBE_CA: join(dir, 'other.pem') })).to.not.equal('ok');
  });

  it('the Dockerfile starts functions with FUNCTION_NODE_ARGS and FUNCTION_TRUST_ENV, and sets no SSL_CERT_FILE', () => {
    const dockerfile = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');
    const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    expect(runtime).to.include(`ENTRYPOINT ${JSON.stringify(['node', ...FUNCTION_NODE_ARGS])}`.replace(/","/g, '", "'));
    for (const [key, value] of Object.entries(FUNCTION_TRUST_ENV))
      expect(runtime).to.match(new RegExp(`\\nENV .*\\b${key}=${value}(\\s|$)`));
    expect(runtime).to.include('ca-certificates');
    expect(dockerfile).to.not.include('SSL_CERT_FILE=');
  });
});
