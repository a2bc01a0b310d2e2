/**
 * Deep copy of a simulation's object graph, for FleetSim.fork().
 *
 * The simulator's state is plain objects, arrays, Maps, Sets, typed arrays and class instances
 * that reference each other (replicas point at their variant, events at replicas and nodes, one
 * request sits in a queue and in a finishing bucket). Copying the graph in one pass with a memo
 * keeps those identities: whatever two places shared in the original, they share in the copy.
 * Class instances keep their prototype, so the copy runs the same code.
 *
 * Frozen objects are shared, not copied: the simulator freezes what it never mutates (parsed
 * config, replica profiles, histogram bounds, the arrays of requests still to arrive), which is
 * what keeps a fork's cost proportional to the live state rather than to the trace.
 *
 * Functions (closures) cannot be copied faithfully, so meeting one is a programming error: state
 * that changes must live in fields (see SeededRandom).
 */
export function forkGraph<T extends object>(root: T): T {
  const copies = new Map<object, unknown>();

  const copy = (value: unknown): unknown => {
    if (typeof value === 'function') throw new TypeError('cannot fork a function-valued field');
    if (typeof value !== 'object' || value === null) return value;
    const known = copies.get(value);
    if (known !== undefined) return known;
    if (Object.isFrozen(value)) return value;
    if (Array.isArray(value)) {
      const out: unknown[] = new Array(value.length);
      copies.set(value, out);
      for (let i = 0; i < value.length; i++) out[i] = copy(value[i]);
      return out;
    }
    if (value instanceof Map) {
      const out = new Map();
      copies.set(value, out);
      for (const [k, v] of value) out.set(copy(k), copy(v));
      return out;
    }
    if (value instanceof Set) {
      const out = new Set();
      copies.set(value, out);
      for (const v of value) out.add(copy(v));
      return out;
    }
    if (ArrayBuffer.isView(value)) {
      const out = (value as unknown as { slice(): unknown }).slice();
      copies.set(value, out);
      return out;
    }
    // Copy every field at once (the engine's fast path for same-shaped objects), then replace the
    // fields that reference other objects with their copies. (for-in also walks inherited
    // enumerable properties; class methods and Object.prototype have none.)
    const proto = Object.getPrototypeOf(value) as object | null;
    const source = value as Record<string, unknown>;
    const out = (
      proto === Object.prototype ? { ...source } : Object.assign(Object.create(proto) as object, source)
    ) as Record<string, unknown>;
    copies.set(value, out);
    for (const key in out) {
      const field = out[key];
      if (typeof field === 'object' && field !== null) out[key] = copy(field);
      else if (typeof field === 'function' && Object.hasOwn(out, key)) copy(field);
    }
    return out;
  };

  return copy(root) as T;
}

/** Freezes an object and everything reachable from it (for state the simulation never mutates). */
export function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  Object.freeze(value);
  for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  return value;
}
