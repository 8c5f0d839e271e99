/**
 * Reads the stack's `<project>:*` config once, at program start; `buildStackConfig` validates it with the
 * one schema, and a bad value throws before any resource is registered.
 */
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "./schema";
import { decodeConfigValue, validateStackConfig } from "./validate";

/** A config error: `pulumi up` prints the message alone, without a stack trace. */
export class ConfigError extends pulumi.RunError {
    constructor(message: string) {
        super(message);
        this.name = "ConfigError";
        messageOnly(this);
    }
}

/**
 * Drops an error's stack frames, for the errors the program raises on purpose (a refused config, a
 * failed stage): the engine shows their message only, yet @pulumi/pulumi's runner still formats every
 * uncaught error with `util.inspect(err, { colors: true })` for its tracing span (cmd/run/run.js,
 * `uncaughtHandler`), and Node.js before the fix of nodejs/node#64011 (#64022; still in 22.23 and 20)
 * loops in `markNodeModules` on a source-mapped frame such as `node_modules/@pulumi/resource.ts:1687`
 * until the string overflows: about 14 s and 3.5 GB before the refusal is printed.
 */
export function messageOnly<E extends Error>(e: E): E {
    e.stack = `${e.name}: ${e.message}`;
    return e;
}

/**
 * Validates raw config (key without the project prefix → decoded value) against the schema; every
 * bad key in one ConfigError. Pure: tests call it directly.
 */
export function buildStackConfig(project: string, stack: string, raw: Record<string, unknown>): StackConfig {
    const v = validateStackConfig(project, stack, raw);
    if (!v.ok) throw new ConfigError(v.message);
    return v.config;
}

/** Every `<project>:*` key of the running stack, decoded as the program reads it (validated by `CanaryService`). */
export function readRawConfig(): Record<string, unknown> {
    const prefix = `${pulumi.getProject()}:`;
    const raw: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(pulumi.runtime.allConfig())) {
        if (key.startsWith(prefix)) raw[key.slice(prefix.length)] = decodeConfigValue(value);
    }
    return raw;
}
