import type { OperatorConfig, Postgresql } from '@pgfn/api';
import { buildCluster, placeholderPasswords, renderYaml, type ValidationError } from '@pgfn/builder';

export interface Preview {
  /** What render prints: every object pgfn would create, passwords as placeholders. Empty on errors. */
  readonly yaml: string;
  readonly errors: readonly ValidationError[];
}

/** `npm run render` for one manifest: the builder with placeholder passwords, never a real secret. */
export function previewCluster(manifest: Postgresql, config: OperatorConfig, now: Date): Preview {
  const result = buildCluster({
    cluster: structuredClone(manifest),
    config,
    existingSecrets: new Map(),
    newPassword: placeholderPasswords(),
    now,
  });
  const failed = result.errors.some((e) => e.severity === 'error');
  return { yaml: failed ? '' : renderYaml(result.objects), errors: result.errors };
}
