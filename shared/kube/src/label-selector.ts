/** The equality-based label selector a list or watch takes (`k1=v1,k2=v2`) for labels that must all match. */
export function equalitySelector(labels: Readonly<Record<string, string>>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}
