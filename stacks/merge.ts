/**
 * Merging config objects: the environment's defaults under a stack's values, and the tests' overrides over a
 * stack file. A module of its own, importing nothing, so the mock harness (test/harness.ts) merges config
 * without loading the schema: `npm run bench:program` runs the one-Deployment program through that harness,
 * and the baseline must not pay for zod.
 */

/** A plain object (not null, not an array): what merges key by key. */
export function isObject(v: unknown): v is Record<string, unknown> {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Objects merge key by key; anything else in `over` replaces what is in `base`. */
export function deepMerge(base: unknown, over: unknown): unknown {
    if (!isObject(base) || !isObject(over)) {
        return over === undefined ? base : over;
    }
    const out: Record<string, unknown> = { ...base };
    for (const [k, v] of Object.entries(over)) {
        // Own keys, defined rather than assigned: a key named `__proto__` or `constructor` is a key like
        // any other (the schema refuses it as unknown), never the object's prototype or Object's constructor.
        Object.defineProperty(out, k, { value: deepMerge(Object.hasOwn(base, k) ? base[k] : undefined, v), enumerable: true, writable: true, configurable: true });
    }
    return out;
}
