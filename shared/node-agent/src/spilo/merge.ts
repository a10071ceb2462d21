// Spilo's merge of SPILO_CONFIGURATION into the generated Patroni configuration (deep_update in
// configure_spilo.py): mappings merge key by key, a user list replaces the generated list wholesale,
// and any other user value wins unless it is null.

export type Yamlish = null | boolean | number | string | Yamlish[] | { [key: string]: Yamlish };

export function isMapping(value: unknown): value is Record<string, Yamlish> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A scalar as YAML would print it (str() in Spilo's Python); mappings and lists as JSON. */
export function yamlText(value: Yamlish | undefined): string {
  if (value === undefined || value === null) return value === null ? 'None' : '';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

/** `user` merged over `generated`; neither input is modified. */
export function spiloDeepUpdate(user: Yamlish | undefined, generated: Yamlish | undefined): Yamlish | undefined {
  if (isMapping(user) && isMapping(generated)) {
    const out: Record<string, Yamlish> = { ...structuredClone(user) };
    for (const [key, value] of Object.entries(generated)) {
      out[key] = Object.hasOwn(user, key) ? (spiloDeepUpdate(user[key], value) as Yamlish) : structuredClone(value);
    }
    return out;
  }
  if (Array.isArray(user) && Array.isArray(generated)) return structuredClone(user);
  return user !== undefined && user !== null ? structuredClone(user) : structuredClone(generated);
}
