/**
 * Reads the stack's `canary:*` config once, at program start, and validates it with the one schema.
 * A bad value throws before any resource is registered.
 */
import * as pulumi from "@pulumi/pulumi";
import { ENVIRONMENTS, ENVIRONMENT_DEFAULTS, Environment } from "./environments";
import { ConfigIssue, parseStackConfig, SECRET_KEYS, StackConfig } from "./schema";

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

/** Config values arrive as strings; structured ones (numbers, booleans, objects) are JSON. */
export function decodeConfigValue(value: string): unknown {
    try {
        return JSON.parse(value);
    } catch {
        return value;
    }
}

function isObject(v: unknown): v is Record<string, unknown> {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Objects merge key by key; anything else in `over` replaces what is in `base`. */
export function deepMerge(base: unknown, over: unknown): unknown {
    if (!isObject(base) || !isObject(over)) {
        return over === undefined ? base : over;
    }
    const out: Record<string, unknown> = { ...base };
    for (const [k, v] of Object.entries(over)) {
        out[k] = deepMerge(base[k], v);
    }
    return out;
}

function valueAt(root: unknown, path: readonly (string | number)[]): unknown {
    return path.reduce<unknown>((v, p) => (v !== null && typeof v === "object" ? (v as Record<string, unknown>)[p] : undefined), root);
}

function keyName(project: string, path: readonly (string | number)[]): string {
    const [head, ...rest] = path;
    return `${project}:${String(head)}${rest.map((p) => (typeof p === "number" ? `[${p}]` : `.${p}`)).join("")}`;
}

/** One line per issue: the key, the value given (or that it is missing), and what is allowed. */
export function formatIssues(project: string, values: unknown, issues: readonly ConfigIssue[]): string {
    const lines = issues.map((i) => {
        const v = valueAt(values, i.path);
        const shown = v === undefined ? "(not set)" : SECRET_KEYS.has(String(i.path[0])) ? "[secret]" : JSON.stringify(v);
        return `  ${keyName(project, i.path)} = ${shown}: ${i.message}`;
    });
    return `Invalid stack config:\n${lines.join("\n")}`;
}

/**
 * The environment: `canary:environment`, or the stack name when it names one.
 */
function environmentOf(stack: string, raw: Record<string, unknown>): unknown {
    return raw.environment ?? ((ENVIRONMENTS as readonly string[]).includes(stack) ? stack : undefined);
}

/**
 * Validates raw config (key without the project prefix → decoded value) against the schema,
 * after filling in the environment's defaults. Pure: tests call it directly.
 */
export function buildStackConfig(project: string, stack: string, raw: Record<string, unknown>): StackConfig {
    const environment = environmentOf(stack, raw);
    if (!(ENVIRONMENTS as readonly unknown[]).includes(environment)) {
        // Without an environment there are no defaults to check the rest against.
        const message = `must be one of ${ENVIRONMENTS.join(", ")} (stack "${stack}" is not an environment name, so set it)`;
        throw new ConfigError(formatIssues(project, { environment }, [{ path: ["environment"], message }]));
    }
    const merged = deepMerge(ENVIRONMENT_DEFAULTS[environment as Environment], { ...raw, environment });
    const result = parseStackConfig(merged);
    if (!result.ok) {
        throw new ConfigError(formatIssues(project, merged, result.issues));
    }
    return result.config;
}

/** Reads every `<project>:*` key of the running stack and validates it. */
export function readStackConfig(): StackConfig {
    const project = pulumi.getProject();
    const prefix = `${project}:`;
    const raw: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(pulumi.runtime.allConfig())) {
        if (key.startsWith(prefix)) {
            raw[key.slice(prefix.length)] = decodeConfigValue(value);
        }
    }
    return buildStackConfig(project, pulumi.getStack(), raw);
}
