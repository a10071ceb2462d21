// Checks a manifest against the CRD's structural schema as the API server would, for `render`, which
// runs without one: types, required keys, enums, patterns (allowedSourceRanges' CIDRs …), formats
// (clone.uid is a uuid), bounds. A field the schema does not know is a warning: the API server would
// silently drop it (structural pruning), so the cluster would be built without it.
import type { ValidationError } from './validation.js';

/** The subset of an OpenAPI v3 schema node that CRDs use. */
export interface SchemaNode {
  readonly type?: string;
  readonly nullable?: boolean;
  readonly properties?: Readonly<Record<string, SchemaNode>>;
  readonly additionalProperties?: SchemaNode | boolean;
  readonly items?: SchemaNode;
  readonly required?: readonly string[];
  readonly enum?: readonly unknown[];
  readonly pattern?: string;
  readonly description?: string;
  readonly format?: string;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly anyOf?: readonly SchemaNode[];
  readonly 'x-kubernetes-int-or-string'?: boolean;
  readonly 'x-kubernetes-preserve-unknown-fields'?: boolean;
}

const UUID = /^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$/;

/** Every place where `value` breaks `schema` (errors) or holds fields it does not know (warnings). */
export function checkAgainstSchema(value: unknown, schema: SchemaNode, path: string): ValidationError[] {
  const out: ValidationError[] = [];
  visit({ value, schema, path, out });
  return out;
}

interface Visit {
  readonly value: unknown;
  readonly schema: SchemaNode;
  readonly path: string;
  readonly out: ValidationError[];
}

function visit(v: Visit): void {
  const { value, schema, path, out } = v;
  if (value === null || value === undefined) {
    if (value === null && schema.nullable !== true && schema.type !== undefined) out.push(err(path, 'must not be null'));
    return;
  }
  if (schema['x-kubernetes-int-or-string'] === true) {
    if (typeof value !== 'string' && !Number.isInteger(value)) out.push(err(path, `must be an integer or a string, not ${show(value)}`));
    else checkScalar(v);
    return;
  }
  if (schema.anyOf !== undefined && !schema.anyOf.some((branch) => checkAgainstSchema(value, branch, path).length === 0)) {
    out.push(err(path, `${show(value)} matches none of the allowed forms`));
    return;
  }
  if (!hasType(value, schema.type)) {
    out.push(err(path, `must be of type ${schema.type ?? '?'}, not ${show(value)}`));
    return;
  }
  if (Array.isArray(value)) {
    const items = schema.items;
    // An item's pattern is explained by its list's description.
    const itemSchema = items === undefined ? undefined : { description: schema.description, ...items };
    if (itemSchema !== undefined) value.forEach((item, i) => visit({ value: item, schema: itemSchema, path: `${path}[${i}]`, out }));
    return;
  }
  if (typeof value === 'object') {
    visitObject({ ...v, value: value as Record<string, unknown> });
    return;
  }
  checkScalar(v);
}

function visitObject(v: Visit & { value: Record<string, unknown> }): void {
  const { value, schema, path, out } = v;
  for (const key of schema.required ?? []) if (value[key] === undefined) out.push(err(`${path}.${key}`, 'is required'));
  for (const [key, child] of Object.entries(value)) {
    const childPath = `${path}.${key}`;
    const known = schema.properties?.[key];
    if (known !== undefined) visit({ value: child, schema: known, path: childPath, out });
    else if (typeof schema.additionalProperties === 'object')
      visit({ value: child, schema: schema.additionalProperties, path: childPath, out });
    else if (
      schema.additionalProperties !== true &&
      schema['x-kubernetes-preserve-unknown-fields'] !== true &&
      schema.properties !== undefined
    ) {
      out.push({
        path: childPath,
        message: 'unknown field: the postgresql CRD does not define it, so the API server drops it.',
        severity: 'warning',
      });
    }
  }
}

function checkScalar(v: Visit): void {
  const { value, schema, path, out } = v;
  if (schema.enum !== undefined && !schema.enum.includes(value)) {
    out.push(err(path, `${show(value)} is not one of ${schema.enum.map(show).join(', ')}`));
  }
  if (typeof value === 'string') {
    if (schema.pattern !== undefined && !new RegExp(schema.pattern).test(value)) {
      const pattern = schema.pattern.length > 60 ? 'the pattern the CRD gives for this field' : schema.pattern;
      out.push(err(path, `"${value}" does not match ${pattern}${schema.description === undefined ? '' : ` (${schema.description})`}`));
    }
    if (schema.format === 'uuid' && !UUID.test(value)) out.push(err(path, `"${value}" is not a UUID`));
    if (schema.minLength !== undefined && value.length < schema.minLength)
      out.push(err(path, `must be at least ${schema.minLength} characters`));
    if (schema.maxLength !== undefined && value.length > schema.maxLength)
      out.push(err(path, `must be at most ${schema.maxLength} characters`));
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) out.push(err(path, `must be at least ${schema.minimum}`));
    if (schema.maximum !== undefined && value > schema.maximum) out.push(err(path, `must be at most ${schema.maximum}`));
  }
}

function hasType(value: unknown, type: string | undefined): boolean {
  switch (type) {
    case undefined:
      return true;
    case 'object':
      return typeof value === 'object' && !Array.isArray(value);
    case 'array':
      return Array.isArray(value);
    case 'integer':
      return Number.isInteger(value);
    case 'number':
      return typeof value === 'number';
    default:
      return typeof value === type;
  }
}

function err(path: string, message: string): ValidationError {
  return { path, message: `${message} (as the postgresql CRD requires).`, severity: 'error' };
}

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
