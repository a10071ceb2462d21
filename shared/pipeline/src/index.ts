export { ReceiveAdapter, SYSTEM_NAMESPACE, receiveAdapterBinary } from './adapter.js';
export type { ReceiveAdapterOptions } from './adapter.js';
export { Child } from './child.js';
export type { ChildOptions } from './child.js';
export { LocalBroker } from './broker.js';
export type { Attempt, BrokerOptions, DeliveryRecord, Destination, ResolveDestination, TriggerState } from './broker.js';
export { isRetryable, isSuccess, parseIsoDuration, retryPolicy, waitBeforeRetry } from './delivery.js';
export type { DeliverySpec, DestinationSpec, RetryPolicy } from './delivery.js';
export { evaluateTrigger, triggerPasses, validateTriggerFilters } from './filters.js';
export type { FilterResult, SubscriptionsApiFilter, TriggerFilterSpec } from './filters.js';
export {
  FUNCTION_LABEL,
  KNATIVE_DIR,
  ROLE_LABEL,
  apiServerSourcesOf,
  knativeServicesOf,
  loadKustomization,
  loadManifests,
  ofKind,
  pingSourcesOf,
  triggersOf,
} from './manifests.js';
export type {
  ApiServerSourceManifest,
  KnativeServiceManifest,
  LabelSelector,
  Manifest,
  PingSourceManifest,
  TriggerManifest,
} from './manifests.js';
export { LocalPings, PING_TYPE, parseCron, pingEvent, pingSourceUri } from './ping.js';
export type { CronSchedule } from './ping.js';
export { BROKER_NAMESPACE, startPipeline } from './pipeline.js';
export { installKnativeCrds, knativeCrdFiles, knativeCrdsDir } from './knative-crds.js';
export { TriggerWatch } from './trigger-watch.js';
export { ServiceWatch, userServiceFunction } from './service-watch.js';
export type { ServiceWatchOptions } from './service-watch.js';
export { localProcessFor } from './local-images.js';
export { EVENTING_BINARIES, knativeEventingDir } from './knative-process.js';
export { KnativeControllers } from './knative-controllers.js';
export type { KnativeControllersOptions } from './knative-controllers.js';
export { KnativeDataPlane } from './knative-data-plane.js';
export type { KnativeDataPlaneOptions } from './knative-data-plane.js';
export { PLACEHOLDER_IP, applyObjects } from './knative-objects.js';
export type { KubeObject } from './knative-objects.js';
export { publishServices, sameServingStatus, serviceAddress, serviceOfHost, servingStatus } from './serving-stand-in.js';
export type { ServingStatus } from './serving-stand-in.js';
export { HostProxy } from './host-proxy.js';
export { deleteTriggers, startKnativePath } from './knative-path.js';
export type { KnativePath, KnativePathOptions } from './knative-path.js';
export type { HostRoute, ProxyTarget } from './host-proxy.js';
export type { TriggerChange, TriggerWatchOptions } from './trigger-watch.js';
export { bundleEntry, bundleFunction } from './bundle.js';
export type { BundleResult } from './bundle.js';
export { CJS_WRAPPER, CODE_CACHE_OUT, FUNCTION_NODE_ARGS, FUNCTION_TRUST_ENV, launcherSource, REHEARSAL_EXPORT } from './launcher.js';
export type { Pipeline, PipelineOptions } from './pipeline.js';
export { adapterConfigFor, guessResource, selectorString } from './source-config.js';
export type { AdapterConfig } from './source-config.js';
export { FunctionSupervisor } from './supervisor.js';
export type { ColdStart, FunctionLease, FunctionProcessSpec, SupervisedScaling, SupervisorOptions } from './supervisor.js';
export { parseGoDuration, scalingOf } from './scaling.js';
export type { Scaling } from './scaling.js';
export { fromHttp, jsonData, toBinaryHeaders, withAttributes } from './wire-event.js';
export type { WireEvent } from './wire-event.js';
export {
  admissionResponse,
  defaultingPatch,
  TriggerAdmission,
  DEFAULTING_WEBHOOK,
  VALIDATING_WEBHOOK,
  webhookConfigurations,
} from './knative-admission.js';
export { admitFiles, admitObjects, defaultedOrThrow, knativeWebhookBinary } from './knative-webhook.js';
export type { AdmissionResult } from './knative-webhook.js';
export { identityForFunction, identityForServiceAccount } from './identity.js';
export type { Identity, IdentityOptions } from './identity.js';
export { binds, boundVariables } from './sink-binding.js';
export type { SinkBindingManifest } from './sink-binding.js';
