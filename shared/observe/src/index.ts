// @pgfn/observe: the local monitoring harness (a real Prometheus, postgres_exporter processes). Not shipped.
export { MONITORING_ROOT, monitoringBinary } from './binaries.js';
export type { MonitoringBinary } from './binaries.js';
export { Prometheus } from './prometheus.js';
export type { AlertState, PrometheusOptions, Sample, Target } from './prometheus.js';
export { EXPORTER_QUERIES, startExporter } from './exporter.js';
export type { ExporterOptions, RunningExporter } from './exporter.js';
