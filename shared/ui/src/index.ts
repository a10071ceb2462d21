// @pgfn/ui: the web UI and the fleet metrics (ADR 0040, 0041).
export { createUiApp, UI_FIELD_MANAGER } from './app.js';
export type { UiDeps } from './app.js';
export { registerFleetMetrics } from './fleet-metrics.js';
export { readFleet } from './read.js';
export type { FleetReader } from './read.js';
export { summarize } from './summary.js';
export type { ClusterSummary, EventSummary, PodSummary, SummaryInputs } from './summary.js';
export { EMPTY_FORM, formFromBody, formFromManifest, manifestFromForm } from './form.js';
export type { ClusterForm, FormProblem } from './form.js';
export { previewCluster } from './preview.js';
export type { Preview } from './preview.js';
export { userKubeConfig, writeIdentityFromEnv } from './identity.js';
export type { UserConfig, WriteIdentityMode } from './identity.js';
export { CSRF_COOKIE, CSRF_FIELD, csrfValid } from './csrf.js';
