// The UI as an express app: pages read with the UI's own ServiceAccount; the form's Apply writes the
// manifest with the user's identity (identity.ts) after the same validation the preview showed.
import * as k8s from '@kubernetes/client-node';
import express, { type Request, type Response } from 'express';
import type { Registry } from 'prom-client';
import type { OperatorConfig, Postgresql } from '@pgfn/api';
import { CSRF_FIELD, csrfCookie, csrfValid, newCsrfToken } from './csrf.js';
import { EMPTY_FORM, formFromBody, formFromManifest, manifestFromForm, type ClusterForm } from './form.js';
import { userKubeConfig, type WriteIdentityMode } from './identity.js';
import { clusterPage, errorPage, formPage, listPage } from './pages.js';
import { previewCluster } from './preview.js';
import type { ClusterSummary } from './summary.js';

/** The field manager of the UI's server-side applies (the user's, acting through the UI). */
export const UI_FIELD_MANAGER = 'pgfn-ui';

export interface UiDeps {
  readonly readFleet: () => Promise<ClusterSummary[]>;
  readonly readCluster: (namespace: string, name: string) => Promise<Postgresql | undefined>;
  readonly loadConfig: () => Promise<{ config: OperatorConfig }>;
  /** The UI's own kubeconfig: its server and CA, and its credentials when impersonating. */
  readonly baseConfig: k8s.KubeConfig;
  readonly writeIdentity: WriteIdentityMode;
  readonly registry: Registry;
  readonly now: () => Date;
  /** Set the CSRF cookie Secure (behind TLS). */
  readonly secureCookies: boolean;
}

export function createUiApp(deps: UiDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use((_req, res, next) => {
    res.set({
      'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'same-origin',
    });
    next();
  });
  app.use(express.urlencoded({ extended: false, limit: '64kb' }));

  const formWithToken = (res: Response, render: (csrf: string) => string, status = 200): void => {
    const csrf = newCsrfToken();
    res.status(status).set('Set-Cookie', csrfCookie(csrf, deps.secureCookies)).type('html').send(render(csrf));
  };

  app.get('/healthz', (_req, res) => void res.type('text').send('ok'));
  app.get('/metrics', async (_req, res) => {
    res.type(deps.registry.contentType).send(await deps.registry.metrics());
  });
  app.get('/', async (_req, res) => {
    res.type('html').send(listPage(await deps.readFleet()));
  });
  app.get('/api/clusters', async (_req, res) => {
    res.json(await deps.readFleet());
  });
  app.get('/clusters/:namespace/:name', async (req, res) => {
    const { namespace, name } = req.params;
    const [fleet, manifest] = await Promise.all([deps.readFleet(), deps.readCluster(namespace, name)]);
    const summary = fleet.find((c) => c.namespace === namespace && c.name === name);
    if (summary === undefined || manifest === undefined)
      return void res
        .status(404)
        .type('html')
        .send(errorPage(404, `no cluster ${namespace}/${name}`));
    res.type('html').send(clusterPage(summary, manifest.spec));
  });
  app.get('/clusters/:namespace/:name/edit', async (req, res) => {
    const manifest = await deps.readCluster(req.params.namespace, req.params.name);
    if (manifest === undefined)
      return void res
        .status(404)
        .type('html')
        .send(errorPage(404, `no cluster ${req.params.namespace}/${req.params.name}`));
    formWithToken(res, (csrf) => formPage({ form: formFromManifest(manifest), csrf, editing: true }));
  });
  app.get('/new', (_req, res) => formWithToken(res, (csrf) => formPage({ form: EMPTY_FORM, csrf, editing: false })));

  /** Both POSTs: CSRF first, then the form, then the builder's validation and preview. */
  const judge = async (req: Request, res: Response) => {
    if (!csrfValid(req.headers.cookie, (req.body as Record<string, unknown>)[CSRF_FIELD])) {
      res
        .status(403)
        .type('html')
        .send(errorPage(403, 'the form has expired or did not come from this page (CSRF check failed); reload it'));
      return undefined;
    }
    const body = req.body as Record<string, unknown>;
    const form = formFromBody(body);
    const editing = body['editing'] === '1';
    const { manifest, problems } = manifestFromForm(form);
    if (manifest === undefined) {
      formWithToken(res, (csrf) => formPage({ form, csrf, editing, problems }), 422);
      return undefined;
    }
    const { config } = await deps.loadConfig();
    const preview = previewCluster(manifest, config, deps.now());
    return { form, editing, manifest, preview };
  };
  app.post('/preview', async (req, res) => {
    const judged = await judge(req, res);
    if (judged === undefined) return;
    const { form, editing, preview } = judged;
    const failed = preview.errors.some((e) => e.severity === 'error');
    formWithToken(res, (csrf) => formPage({ form, csrf, editing, errors: preview.errors, preview: preview.yaml }), failed ? 422 : 200);
  });
  app.post('/apply', async (req, res) => {
    const judged = await judge(req, res);
    if (judged === undefined) return;
    const { form, editing, manifest, preview } = judged;
    const again = (status: number, extra: { refused?: string }): void =>
      formWithToken(res, (csrf) => formPage({ form, csrf, editing, errors: preview.errors, preview: preview.yaml, ...extra }), status);
    if (preview.errors.some((e) => e.severity === 'error')) return again(422, {});
    const user = userKubeConfig(deps.baseConfig, deps.writeIdentity, req.headers);
    if ('refused' in user) return again(403, { refused: `Not applied: ${user.refused}.` });
    try {
      await applyAsUser(user.kc, manifest);
    } catch (err) {
      return again(statusOf(err) === 403 ? 403 : 502, { refused: `Not applied: the API server answered ${apiMessage(err)}` });
    }
    res.redirect(303, `/clusters/${encodeURIComponent(form.namespace)}/${encodeURIComponent(form.name)}`);
  });
  return app;
}

async function applyAsUser(kc: k8s.KubeConfig, manifest: Postgresql): Promise<void> {
  const api = k8s.KubernetesObjectApi.makeApiClient(kc);
  await api.patch(manifest, undefined, undefined, UI_FIELD_MANAGER, false, k8s.PatchStrategy.ServerSideApply);
}

function statusOf(err: unknown): number | undefined {
  return (err as { code?: number }).code;
}

function apiMessage(err: unknown): string {
  const body = (err as { body?: unknown }).body;
  try {
    const parsed = (typeof body === 'string' ? JSON.parse(body) : body) as { message?: string } | undefined;
    if (parsed?.message !== undefined) return parsed.message;
  } catch {
    // not JSON: the error's own message below
  }
  return (err as Error).message;
}

export type { ClusterForm };
