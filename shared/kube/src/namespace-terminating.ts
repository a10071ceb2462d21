// The API server refuses new objects in a namespace that is being deleted (403, cause NamespaceTerminating):
// whatever lived there is going away with it, so a caller acting on it has nothing left to do.
import { statusCode } from './client.js';

interface StatusCause {
  readonly reason?: string;
}

/** Whether `err` (or an error it wraps) is the API server refusing a write because the namespace is being terminated. */
export function isNamespaceTerminating(err: unknown): boolean {
  if (statusCode(err) !== 403) return false;
  return causesOf(err).some((c) => c.reason === 'NamespaceTerminating');
}

/** The Status body's details.causes along the error's cause chain (the client keeps the body as text). */
function causesOf(err: unknown): StatusCause[] {
  for (let e: unknown = err; typeof e === 'object' && e !== null; e = (e as { cause?: unknown }).cause) {
    const body = (e as { body?: unknown }).body;
    if (body === undefined) continue;
    const status = typeof body === 'string' ? parseJson(body) : body;
    const causes = (status as { details?: { causes?: unknown } } | undefined)?.details?.causes;
    return Array.isArray(causes) ? (causes as StatusCause[]) : [];
  }
  return [];
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
