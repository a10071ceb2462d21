import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** `openssl req` arguments for a new EC P-256 key (fast to generate), unencrypted. */
const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export interface Pki {
  readonly caCert: string;
  readonly caKey: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly adminCert: string;
  readonly adminKey: string;
  readonly saKey: string;
  readonly saPub: string;
}

/**
 * Fresh certificates for one control plane, made with the openssl CLI (Node can make keys but not
 * X.509 certificates). EC P-256 keeps generation fast; the admin client certificate is in
 * `system:masters` so it bypasses RBAC like a cluster-admin kubeconfig.
 */
export async function generatePki(dir: string): Promise<Pki> {
  const p = (name: string): string => join(dir, name);
  await run('openssl', [
    'req',
    '-x509',
    ...EC_KEY,
    '-keyout',
    p('ca.key'),
    '-out',
    p('ca.crt'),
    '-days',
    '3650',
    '-subj',
    '/CN=pgfn-local-ca',
  ]);
  await writeFile(
    p('server.ext'),
    [
      `subjectAltName=${[
        'IP:127.0.0.1',
        'DNS:localhost',
        'DNS:kubernetes',
        'DNS:kubernetes.default',
        'DNS:kubernetes.default.svc',
        'DNS:kubernetes.default.svc.cluster.local',
        'IP:10.96.0.1',
      ].join(',')}`,
      'extendedKeyUsage=serverAuth,clientAuth',
      'keyUsage=digitalSignature,keyEncipherment',
    ].join('\n'),
  );
  await signed({ p, name: 'server', subj: '/CN=kube-apiserver', ext: 'server.ext' });
  await writeFile(p('client.ext'), 'extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n');
  await signed({ p, name: 'admin', subj: '/O=system:masters/CN=pgfn-admin', ext: 'client.ext' });
  // Service-account tokens are signed with RSA (the apiserver's default RS256 issuer).
  await run('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', p('sa.key')]);
  await run('openssl', ['pkey', '-in', p('sa.key'), '-pubout', '-out', p('sa.pub')]);
  return {
    caCert: p('ca.crt'),
    caKey: p('ca.key'),
    serverCert: p('server.crt'),
    serverKey: p('server.key'),
    adminCert: p('admin.crt'),
    adminKey: p('admin.key'),
    saKey: p('sa.key'),
    saPub: p('sa.pub'),
  };
}

interface Signing {
  /** Path of a file in the PKI folder. */
  readonly p: (n: string) => string;
  /** Base name of the key, CSR and certificate files. */
  readonly name: string;
  readonly subj: string;
  /** The extensions file (in the PKI folder). */
  readonly ext: string;
}

async function signed({ p, name, subj, ext }: Signing): Promise<void> {
  await run('openssl', ['req', ...EC_KEY, '-keyout', p(`${name}.key`), '-out', p(`${name}.csr`), '-subj', subj]);
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    p(`${name}.csr`),
    '-CA',
    p('ca.crt'),
    '-CAkey',
    p('ca.key'),
    '-CAcreateserial',
    '-days',
    '3650',
    '-out',
    p(`${name}.crt`),
    '-extfile',
    p(ext),
  ]);
}

/** A client certificate signed by the cluster CA (in `dir`, the PKI folder), for an identity of the caller's choosing. */
export async function clientCert(
  dir: string,
  opts: { readonly name: string; readonly user: string; readonly groups: readonly string[] },
): Promise<{ cert: string; key: string }> {
  const p = (n: string): string => join(dir, n);
  const subj = [...opts.groups.map((g) => `/O=${g}`), `/CN=${opts.user}`].join('');
  await signed({ p, name: opts.name, subj, ext: 'client.ext' });
  return { cert: p(`${opts.name}.crt`), key: p(`${opts.name}.key`) };
}

/** A self-signed serving certificate for a loopback server the API server calls (a webhook), PEM in memory. */
export async function selfSignedServerCert(opts: { readonly cn: string; readonly days: number }): Promise<{ cert: Buffer; key: Buffer }> {
  const dir = mkdtempSync(join(tmpdir(), 'pgfn-cert-'));
  try {
    const [key, cert] = [join(dir, 'tls.key'), join(dir, 'tls.crt')];
    const subj = `/CN=${opts.cn}`;
    await run('openssl', [
      'req',
      '-x509',
      ...EC_KEY,
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      String(opts.days),
      '-subj',
      subj,
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ]);
    return { cert: readFileSync(cert), key: readFileSync(key) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
