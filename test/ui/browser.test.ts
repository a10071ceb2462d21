import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { expect } from 'chai';
import type { Browser, Page } from 'playwright-core';
import { DEFAULT_OPERATOR_CONFIG, type Postgresql } from '@pgfn/api';
import { repoRoot } from '@pgfn/controlplane';
import { loadKustomization } from '@pgfn/pipeline';
import { ensureCrds } from '../crds/install.js';
import { identityForServiceAccount } from '../support/fn-identity.js';
import { adminConfig, createNamespace, eventually, statusOf } from '../support/kube.js';
import { resourceEvent, startReconcile, type RunningReconcile } from '../reconcile/support.js';
import { runningKwokCluster, startUi, waitRunning, type RunningUi } from '../monitoring/support.js';
import { launchBrowser, pngSize } from './browser.js';

const PG = { group: 'acid.zalan.do', version: 'v1', plural: 'postgresqls' };
const SHOTS = join(repoRoot, 'bench/results/ui-screenshots');

/**
 * The UI in headless Chromium against the real control plane. The UI reads as its own ServiceAccount
 * (knative/ui's ClusterRole); the browser sends the user's token (as an authenticating proxy would),
 * a ServiceAccount allowed to write postgresqls in the test namespace only. reconcile's real handler
 * turns the cluster into kwok pods; the test posts it the add event the ApiServerSource would send.
 */
describe('ui: in a real browser', function () {
  this.timeout(300_000);
  let kc: k8s.KubeConfig;
  let ns: { name: string; cleanup: () => Promise<void> };
  let reconcile: RunningReconcile;
  let ui: RunningUi;
  let browser: Browser;
  let page: Page;
  let userToken: string;
  const custom = (): k8s.CustomObjectsApi => kc.makeApiClient(k8s.CustomObjectsApi);

  const shot = async (name: string, texts: readonly string[]): Promise<void> => {
    for (const text of texts) expect(await page.locator('body').innerText(), `${name} shows "${text}"`).to.include(text);
    const file = join(SHOTS, `${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    const size = pngSize(file);
    expect(size.width, `${name}.png width`).to.be.greaterThan(600);
    expect(size.bytes, `${name}.png is not blank`).to.be.greaterThan(15_000);
  };

  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    kc = adminConfig();
    await ensureCrds(kc);
    ns = await createNamespace(kc, 'ui');
    // A cluster made from the form has no node affinity of its own: the operator's node_readiness_label
    // keeps its pods on kwok, never on a node agent of a file running beside this one.
    reconcile = await startReconcile(kc, ns.name, { ...DEFAULT_OPERATOR_CONFIG, nodeReadinessLabel: { type: 'kwok' } });
    await runningKwokCluster({ kc, reconcile, namespace: ns.name, name: 'acid-listed' });
    const own = await identityForServiceAccount('pgfn-ui', 'pgfn-system', loadKustomization(join(repoRoot, 'knative/ui')));
    userToken = await userWhoMayWritePostgresqls(kc, ns.name);
    ui = await startUi({ readConfig: own.kubeconfig });
    browser = await launchBrowser();
    const context = await browser.newContext({
      viewport: { width: 1400, height: 900 },
      extraHTTPHeaders: { Authorization: `Bearer ${userToken}` },
    });
    page = await context.newPage();
  });
  after(async () => {
    await browser?.close();
    await ui?.stop();
    await reconcile?.stop();
    await ns?.cleanup();
  });

  it('lists clusters across namespaces with status, pods and roles, and opens one', async () => {
    await page.goto(ui.url);
    const row = page.locator(`tr[data-cluster="${ns.name}/acid-listed"]`);
    expect(await row.innerText()).to.match(/acid-listed\s+acid\s+17\s+Running/);
    expect(await row.innerText())
      .to.include('acid-listed-0 master Running')
      .and.include('acid-listed-1 replica Running');
    await shot('list', ['Clusters', 'acid-listed', 'Running', 'Last verified backup']);
    await row.getByRole('link', { name: 'acid-listed' }).click();
    await page.waitForURL(`**/clusters/${ns.name}/acid-listed`);
    expect(await page.locator('#pods').innerText()).to.match(/acid-listed-0\s+master\s+Running\s+yes/);
    expect(await page.locator('#conditions').innerText()).to.include('PodsReady');
    expect(await page.locator('#events').innerText()).to.match(/Normal/);
    await shot('cluster', [`${ns.name}/acid-listed`, 'Pods', 'Conditions', 'Recent Events', 'no verified backup yet']);
  });

  it('creates a cluster from the form: preview first, then apply as the user; it appears and becomes Running', async () => {
    await page.goto(`${ui.url}new`);
    await page.fill('input[name=namespace]', ns.name);
    await page.fill('input[name=name]', 'acid-formed');
    await page.fill('input[name=team]', 'acid');
    await page.fill('input[name=version]', '15');
    await page.fill('textarea[name=users]', 'app_owner: createdb');
    await page.fill('textarea[name=databases]', 'app: app_owner');
    await page.click('#preview-button');
    const preview = await page.locator('#preview').innerText();
    expect(preview).to.include('kind: StatefulSet').and.include('name: acid-formed');
    expect(preview).to.include('kind: Secret').and.include('password values are placeholders');
    await shot('preview', ['Preview', 'kind: StatefulSet', 'acid-formed']);
    expect(await exists(ns.name, 'acid-formed'), 'nothing applied by a preview').to.equal(false);

    await page.click('#apply-button');
    await page.waitForURL(`**/clusters/${ns.name}/acid-formed`);
    const created = (await custom().getNamespacedCustomObject({ ...PG, namespace: ns.name, name: 'acid-formed' })) as Postgresql &
      k8s.KubernetesObject;
    expect(created.spec).to.deep.include({ teamId: 'acid', numberOfInstances: 2, databases: { app: 'app_owner' } });
    const manager = created.metadata?.managedFields?.find((f) => f.manager === 'pgfn-ui');
    expect(manager?.operation, "applied with the UI's field manager").to.equal('Apply');

    expect((await reconcile.post(resourceEvent('add', created))).status).to.equal(200);
    await waitRunning({ kc, reconcile, namespace: ns.name, name: 'acid-formed' });
    await page.goto(ui.url);
    expect(await page.locator(`tr[data-cluster="${ns.name}/acid-formed"]`).innerText()).to.match(/acid-formed\s+acid\s+15\s+Running/);
    await shot('created', ['acid-formed', 'acid-formed-0 master Running']);
  });

  it('edits a cluster through its form: the current spec filled in, the change applied as the user', async () => {
    await page.goto(`${ui.url}clusters/${ns.name}/acid-formed`);
    await page.getByRole('link', { name: 'Edit' }).click();
    expect(await page.inputValue('input[name=instances]')).to.equal('2');
    expect(await page.inputValue('textarea[name=databases]')).to.equal('app: app_owner');
    await page.fill('input[name=instances]', '3');
    await page.click('#apply-button');
    await page.waitForURL(`**/clusters/${ns.name}/acid-formed`);
    const edited = (await custom().getNamespacedCustomObject({ ...PG, namespace: ns.name, name: 'acid-formed' })) as Postgresql;
    expect(edited.spec.numberOfInstances).to.equal(3);
    await shot('edited', [`${ns.name}/acid-formed`, '3 instances']);
  });

  it('shows validation errors for a bad form and applies nothing', async () => {
    await page.goto(`${ui.url}new`);
    await page.fill('input[name=namespace]', ns.name);
    await page.fill('input[name=name]', 'acid_Bad_Name');
    await page.fill('input[name=team]', 'acid');
    await page.fill('input[name=version]', '9.6');
    await page.click('#apply-button');
    const errors = await page.locator('#errors').innerText();
    expect(errors).to.include('The manifest is not valid').and.include('metadata.name').and.include('spec.postgresql.version');
    await shot('invalid', ['The manifest is not valid', 'acid_Bad_Name']);
    expect(await exists(ns.name, 'acid_Bad_Name')).to.equal(false);

    await page.fill('input[name=instances]', 'two');
    await page.click('#preview-button');
    expect(await page.locator('#errors').innerText()).to.include('instances: Instances must be a whole number.');
  });

  it('refuses a write without the CSRF token or without a user identity, and shows no secret values', async () => {
    const form = new URLSearchParams({
      namespace: ns.name,
      name: 'acid-sneaky',
      team: 'acid',
      version: '15',
      instances: '1',
      volumeSize: '1Gi',
    });
    const forged = await fetch(`${ui.url}apply`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: `Bearer ${userToken}` },
      body: form,
    });
    expect(forged.status).to.equal(403);
    expect(await forged.text()).to.include('CSRF check failed');

    // A fresh page without the user's token: the CSRF pair is valid, the identity is missing.
    const anonymous = await browser.newPage();
    await anonymous.goto(`${ui.url}new`);
    await anonymous.fill('input[name=namespace]', ns.name);
    await anonymous.fill('input[name=name]', 'acid-sneaky');
    await anonymous.fill('input[name=team]', 'acid');
    await anonymous.click('#apply-button');
    expect(await anonymous.locator('#refused').innerText()).to.include('Not applied: no user token was forwarded');
    await anonymous.close();
    expect(await exists(ns.name, 'acid-sneaky')).to.equal(false);

    const core = kc.makeApiClient(k8s.CoreV1Api);
    const secret = await core.readNamespacedSecret({
      namespace: ns.name,
      name: 'postgres.acid-listed.credentials.postgresql.acid.zalan.do',
    });
    const password = Buffer.from(secret.data?.['password'] ?? '', 'base64').toString();
    expect(password).to.have.length.greaterThan(20);
    for (const path of ['', `clusters/${ns.name}/acid-listed`, `clusters/${ns.name}/acid-listed/edit`, 'api/clusters', 'metrics']) {
      expect(await (await fetch(`${ui.url}${path}`)).text(), `/${path}`).to.not.include(password);
    }
  });

  async function exists(namespace: string, name: string): Promise<boolean> {
    return custom()
      .getNamespacedCustomObject({ ...PG, namespace, name })
      .then(
        () => true,
        (err: unknown) => {
          if (statusOf(err) === 404) return false;
          throw err;
        },
      );
  }
});

/** A ServiceAccount token for a "user" who may read and write postgresqls in `namespace` only. */
async function userWhoMayWritePostgresqls(kc: k8s.KubeConfig, namespace: string): Promise<string> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
  await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: 'alice' } } });
  await rbac.createNamespacedRole({
    namespace,
    body: {
      metadata: { name: 'postgresql-editor' },
      rules: [{ apiGroups: ['acid.zalan.do'], resources: ['postgresqls'], verbs: ['get', 'list', 'create', 'patch', 'update'] }],
    },
  });
  await rbac.createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name: 'alice-edits-postgresqls' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'postgresql-editor' },
      subjects: [{ kind: 'ServiceAccount', name: 'alice', namespace }],
    },
  });
  const token = await eventually(
    'a token for alice',
    async () =>
      (await core.createNamespacedServiceAccountToken({ namespace, name: 'alice', body: { spec: { audiences: [] } } })).status?.token,
  );
  return token;
}
