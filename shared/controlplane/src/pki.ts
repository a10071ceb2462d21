import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

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
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run('openssl', ['req', '-x509', ...ec, '-keyout', p('ca.key'), '-out', p('ca.crt'), '-days', '3650', '-subj', '/CN=pgfn-local-ca']);
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
  await signed({ p, name: 'server', subj: '/CN=kube-apiserver', ext: 'server.ext', ec });
  await writeFile(p('client.ext'), 'extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n');
  await signed({ p, name: 'admin', subj: '/O=system:masters/CN=pgfn-admin', ext: 'client.ext', ec });
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
  /** The `openssl req` arguments making the key. */
  readonly ec: string[];
}

async function signed({ p, name, subj, ext, ec }: Signing): Promise<void> {
  await run('openssl', ['req', ...ec, '-keyout', p(`${name}.key`), '-out', p(`${name}.csr`), '-subj', subj]);
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

/** A client certificate signed by the cluster CA, for an identity of the caller's choosing. */
export async function clientCert(
  dir: string,
  name: string,
  user: string,
  groups: readonly string[],
): Promise<{ cert: string; key: string }> {
  const p = (n: string): string => join(dir, n);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const subj = [...groups.map((g) => `/O=${g}`), `/CN=${user}`].join('');
  await signed({ p, name, subj, ext: 'client.ext', ec });
  return { cert: p(`${name}.crt`), key: p(`${name}.key`) };
}
