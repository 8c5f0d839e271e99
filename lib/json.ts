/** JSON with the +Inf bucket as "+Inf" (JSON has no Infinity), as Prometheus writes it. */
export const toJson = (value: unknown) => JSON.stringify(value, (_k, v: unknown) => (v === Infinity ? "+Inf" : v));
