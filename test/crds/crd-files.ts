// Reading our CRD and example files, and rewriting the embedded Kubernetes schemas inside the CRDs.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { V1CustomResourceDefinition } from '@kubernetes/client-node';
import { parseAllDocuments, parseDocument } from 'yaml';
import { EMBEDDINGS, embeddedSchema, type Schema } from './k8s-schemas.js';

export const CRDS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../crds');
export const EXAMPLES_DIR = join(CRDS_DIR, 'examples');
export const CRD_FILES = ['postgresql.crd.yaml', 'operatorconfiguration.crd.yaml', 'postgresteam.crd.yaml'] as const;

/** Where a version's schema sits inside a CRD document. */
const SCHEMA_ROOT = ['spec', 'versions', 0, 'schema', 'openAPIV3Schema'];
// Keep long regular expressions on one line; our files are written that way.
const STRINGIFY = { lineWidth: 0 } as const;

/** A Kubernetes object read from a manifest: enough shape for the tests. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [key: string]: unknown };
  [key: string]: unknown;
}

/** Parses a file that must hold exactly one YAML document. */
export function readSingleDocument<T>(path: string): T {
  const docs = parseAllDocuments(readFileSync(path, 'utf8'));
  if (!Array.isArray(docs) || docs.length !== 1) throw new Error(`${path} must hold exactly one YAML document`);
  const doc = docs[0];
  if (doc === undefined || doc.errors.length > 0)
    throw new Error(`${path} is not valid YAML: ${doc?.errors.map((e) => e.message).join('; ')}`);
  return doc.toJS() as T;
}

export function readCrd(file: string): V1CustomResourceDefinition {
  return readSingleDocument<V1CustomResourceDefinition>(join(CRDS_DIR, file));
}

/** Every example manifest, by file name. */
export function readExamples(): Map<string, Manifest> {
  const files = readdirSync(EXAMPLES_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .sort();
  return new Map(files.map((f) => [f, readSingleDocument<Manifest>(join(EXAMPLES_DIR, f))]));
}

/** The schema node at `path` below a CRD's openAPIV3Schema, or undefined. */
export function schemaAt(crd: V1CustomResourceDefinition, path: readonly string[]): unknown {
  let node: unknown = crd.spec.versions[0]?.schema?.openAPIV3Schema;
  for (const key of path) node = typeof node === 'object' && node !== null ? (node as Schema)[key] : undefined;
  return node;
}

/** Rewrites every embedded Kubernetes schema in the CRD files from `definitions`; keeps comments and layout. */
export function rewriteEmbeddedSchemas(definitions: Record<string, Schema>): string[] {
  const changed: string[] = [];
  for (const file of CRD_FILES) {
    const path = join(CRDS_DIR, file);
    const before = readFileSync(path, 'utf8');
    const doc = parseDocument(before);
    for (const e of EMBEDDINGS.filter((x) => x.crd === file)) {
      doc.setIn([...SCHEMA_ROOT, ...e.path], doc.createNode(embeddedSchema(definitions, e.definition, e.description)));
    }
    const after = doc.toString(STRINGIFY);
    if (after !== before) {
      writeFileSync(path, after);
      changed.push(file);
    }
  }
  return changed;
}
