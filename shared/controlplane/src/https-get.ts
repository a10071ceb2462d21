import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import type { Pki } from './pki.js';

/** The admin client certificate and the CA that signed the apiserver's serving certificate. */
export type AdminTls = Pick<Pki, 'caCert' | 'adminCert' | 'adminKey'>;

/**
 * A GET against an apiserver-like HTTPS endpoint, authenticated with the admin client certificate;
 * without `tls` it skips verification (the self-signed health endpoints of kcm and the scheduler).
 */
export function httpsGet(
  server: string,
  path: string,
  tls: AdminTls | undefined,
  timeoutMs = 5000,
): Promise<{ status: number; body: string }> {
  return new Promise((resolveGet, reject) => {
    const req = request(
      new URL(path, server),
      {
        method: 'GET',
        timeout: timeoutMs,
        ...(tls === undefined
          ? { rejectUnauthorized: false }
          : { ca: readFileSync(tls.caCert), cert: readFileSync(tls.adminCert), key: readFileSync(tls.adminKey) }),
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('end', () => resolveGet({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}
