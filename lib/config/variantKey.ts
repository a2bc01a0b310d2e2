/** `namespace/name`, the key of a variant everywhere outside the config file. */
export function variantKey(v: { namespace: string; name: string }): string {
  return `${v.namespace}/${v.name}`;
}
