// Knative's Trigger filter semantics (knative.dev/eventing v0.49 pkg/eventfilter and
// pkg/apis/eventing/v1/trigger_validation.go), so the Triggers we ship route locally as they will in
// a cluster. Two dialects: the legacy `filter.attributes` and the Subscriptions API `filters` list,
// which wins when both are set.

/** One entry of a Trigger's `spec.filters`: exactly one dialect is set. */
export interface SubscriptionsApiFilter {
  readonly exact?: Readonly<Record<string, string>>;
  readonly prefix?: Readonly<Record<string, string>>;
  readonly suffix?: Readonly<Record<string, string>>;
  readonly all?: readonly SubscriptionsApiFilter[];
  readonly any?: readonly SubscriptionsApiFilter[];
  readonly not?: SubscriptionsApiFilter;
  readonly cesql?: string;
}

export interface TriggerFilterSpec {
  readonly filter?: { readonly attributes?: Readonly<Record<string, string>> };
  readonly filters?: readonly SubscriptionsApiFilter[];
}

/** Knative's three filter outcomes: only `fail` stops delivery. */
export type FilterResult = 'pass' | 'fail' | 'none';

type Attributes = Readonly<Record<string, string>>;

const ATTRIBUTE_NAME = /^[a-z][a-z0-9]*$/;

/** Whether the Trigger lets the event through. */
export function triggerPasses(spec: TriggerFilterSpec, attributes: Attributes): boolean {
  return evaluateTrigger(spec, attributes) !== 'fail';
}

export function evaluateTrigger(spec: TriggerFilterSpec, attributes: Attributes): FilterResult {
  if (spec.filters !== undefined && spec.filters.length > 0) return allOf(spec.filters, attributes);
  if (spec.filter !== undefined) return attributesFilter(spec.filter.attributes, attributes);
  return 'none';
}

/**
 * The legacy dialect: every listed attribute must exist and equal the value; the value "" means
 * "present and not empty".
 */
function attributesFilter(want: Attributes | undefined, attributes: Attributes): FilterResult {
  if (want === undefined) return 'none';
  for (const [name, value] of Object.entries(want)) {
    const got = attributes[name];
    if (got === undefined || (value === '' && got === '')) return 'fail';
    if (value !== '' && value !== got) return 'fail';
  }
  return 'pass';
}

function evaluate(f: SubscriptionsApiFilter, attributes: Attributes): FilterResult {
  if (f.exact !== undefined && Object.keys(f.exact).length > 0) return compare(f.exact, attributes, (got, v) => got === v);
  if (f.prefix !== undefined && Object.keys(f.prefix).length > 0) return compare(f.prefix, attributes, (got, v) => got.startsWith(v));
  if (f.suffix !== undefined && Object.keys(f.suffix).length > 0) return compare(f.suffix, attributes, (got, v) => got.endsWith(v));
  if (f.all !== undefined && f.all.length > 0) return allOf(f.all, attributes);
  if (f.any !== undefined && f.any.length > 0) return anyOf(f.any, attributes);
  if (f.not !== undefined) {
    const inner = evaluate(f.not, attributes);
    return inner === 'pass' ? 'fail' : inner === 'fail' ? 'pass' : 'none';
  }
  if (f.cesql !== undefined && f.cesql !== '') throw new Error('CESQL filters are not supported by the local broker');
  return 'none';
}

/**
 * A missing attribute fails. A filter with an empty name or value cannot be built in Knative and is
 * dropped (no filter); validateTriggerFilters refuses such Triggers outright.
 */
function compare(want: Attributes, attributes: Attributes, match: (got: string, want: string) => boolean): FilterResult {
  if (Object.entries(want).some(([name, value]) => name === '' || value === '')) return 'none';
  for (const [name, value] of Object.entries(want)) {
    const got = attributes[name];
    if (got === undefined || !match(got, value)) return 'fail';
  }
  return 'pass';
}

/** `all`: the first failing filter decides; otherwise the last result (so all-"none" stays "none"). */
function allOf(filters: readonly SubscriptionsApiFilter[], attributes: Attributes): FilterResult {
  let result: FilterResult = 'none';
  for (const f of filters) {
    result = evaluate(f, attributes);
    if (result === 'fail') return 'fail';
  }
  return result;
}

/** `any`: the first passing filter decides; otherwise the last result. */
function anyOf(filters: readonly SubscriptionsApiFilter[], attributes: Attributes): FilterResult {
  let result: FilterResult = 'none';
  for (const f of filters) {
    result = evaluate(f, attributes);
    if (result === 'pass') return 'pass';
  }
  return result;
}

/**
 * The problems Knative's webhook would report for these filters (field path and message), so a Trigger
 * that a cluster would refuse is refused locally too. CESQL is refused here: not implemented.
 */
export function validateTriggerFilters(spec: TriggerFilterSpec, path = 'spec'): string[] {
  const problems: string[] = [];
  for (const name of Object.keys(spec.filter?.attributes ?? {})) {
    if (!ATTRIBUTE_NAME.test(name))
      problems.push(`${path}.filter.attributes.${name}: attribute names are lowercase letters and digits, starting with a letter`);
  }
  (spec.filters ?? []).forEach((f, i) => problems.push(...validateFilter(f, `${path}.filters[${i}]`)));
  return problems;
}

function validateFilter(f: SubscriptionsApiFilter, path: string): string[] {
  const problems: string[] = [];
  const dialects = (['exact', 'prefix', 'suffix', 'all', 'any', 'not', 'cesql'] as const).filter((d) => isSet(f, d));
  if (dialects.length > 1) problems.push(`${path}: only one dialect per filter, found ${dialects.join(', ')}`);
  for (const d of ['exact', 'prefix', 'suffix'] as const) {
    for (const [name, value] of Object.entries(f[d] ?? {})) {
      if (!ATTRIBUTE_NAME.test(name))
        problems.push(`${path}.${d}.${name}: attribute names are lowercase letters and digits, starting with a letter`);
      if (value === '') problems.push(`${path}.${d}.${name}: the value must not be empty`);
    }
  }
  (f.all ?? []).forEach((g, i) => problems.push(...validateFilter(g, `${path}.all[${i}]`)));
  (f.any ?? []).forEach((g, i) => problems.push(...validateFilter(g, `${path}.any[${i}]`)));
  if (f.not !== undefined) problems.push(...validateFilter(f.not, `${path}.not`));
  if (isSet(f, 'cesql')) problems.push(`${path}.cesql: CESQL is not supported by pgfn's local broker`);
  return problems;
}

/** Knative counts a map or list dialect as set when it is not empty, `not` when present. */
function isSet(f: SubscriptionsApiFilter, dialect: keyof SubscriptionsApiFilter): boolean {
  const v = f[dialect];
  if (v === undefined || v === null || v === '') return false;
  if (dialect === 'not') return true;
  return Array.isArray(v) ? v.length > 0 : typeof v === 'object' ? Object.keys(v).length > 0 : true;
}
