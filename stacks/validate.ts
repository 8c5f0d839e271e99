/**
 * Validating a stack's `canary:*` config with the one schema, after the environment's defaults: pure,
 * with no Pulumi runtime, so the `rollout` command reads stack files without loading @pulumi/pulumi
 * (a quarter of a second at every start). The program reads the config through `config.ts`.
 */
import { ENVIRONMENTS, ENVIRONMENT_DEFAULTS, Environment } from "./environments";
import { deepMerge, isObject } from "./merge";
import { ConfigIssue, parseStackConfig, StackConfig, SECRET_KEYS } from "./schema";

/** Config values arrive as strings; structured ones (numbers, booleans, objects) are JSON. */
export function decodeConfigValue(value: string): unknown {
    try {
        return JSON.parse(value);
    } catch {
        return value;
    }
}

/** The value at a key's path, or undefined where the path leaves the objects (own keys only: `constructor` is no default of any key). */
export function valueAt(root: unknown, path: readonly (string | number)[]): unknown {
    return path.reduce<unknown>((v, p) => (v !== null && typeof v === "object" && Object.hasOwn(v, p) ? (v as Record<string, unknown>)[p] : undefined), root);
}

function keyName(project: string, path: readonly (string | number)[]): string {
    const [head, ...rest] = path;
    return `${project}:${String(head)}${rest.map((p) => (typeof p === "number" ? `[${p}]` : `.${p}`)).join("")}`;
}

const SECRET_PATHS = [...SECRET_KEYS].map((k) => k.split("."));
const SECRET_SHOWN = "[secret]";

/**
 * A key's value as an error shows it: `[secret]` for a secret key or anything below one, and a key
 * above a secret (`canary:analysis` holds `analysis.judge.token`) with the secret's value replaced.
 */
function shownValue(values: unknown, path: readonly (string | number)[]): string {
    const v = valueAt(values, path);
    if (v === undefined) return "(not set)";
    if (SECRET_PATHS.some((s) => s.length <= path.length && s.every((p, i) => p === String(path[i])))) return SECRET_SHOWN;
    const below = SECRET_PATHS.filter((s) => s.length > path.length && path.every((p, i) => String(p) === s[i]) && valueAt(v, s.slice(path.length)) !== undefined);
    if (below.length === 0) return JSON.stringify(v);
    const redacted = structuredClone(v);
    for (const s of below) (valueAt(redacted, s.slice(path.length, -1)) as Record<string, unknown>)[s[s.length - 1]] = SECRET_SHOWN;
    return JSON.stringify(redacted);
}

/** One line per issue: the key, the value given (or that it is missing), and what is allowed. */
export function formatIssues(project: string, values: unknown, issues: readonly ConfigIssue[]): string {
    // The schema's messages name other keys as `canary:<key>`; a project of another name reads its own prefix.
    const named = (message: string) => (project === "canary" ? message : message.replace(/\bcanary:(?=[a-zA-Z])/g, `${project}:`));
    const lines = issues.map((i) => `  ${keyName(project, i.path)} = ${shownValue(values, i.path)}: ${named(i.message)}`);
    return `Invalid stack config:\n${lines.join("\n")}`;
}

/**
 * The environment: `canary:environment`, or the stack name when it names one.
 */
export function environmentOf(stack: string, raw: Record<string, unknown>): unknown {
    return raw.environment ?? ((ENVIRONMENTS as readonly string[]).includes(stack) ? stack : undefined);
}

/** Whether two keys overlap: one is the other or below it. */
const overlaps = (a: readonly (string | number)[], b: readonly (string | number)[]) => a.slice(0, Math.min(a.length, b.length)).every((p, i) => p === b[i]);

/**
 * Stand-ins for the keys no environment has a default for (the app is the stack's own): only for
 * judging the other keys' cross-key rules while these keys are reported missing, never deployed.
 */
const MISSING_STAND_INS = {
    app: {
        name: "app",
        port: 8080,
        probes: { readiness: { path: "/" }, liveness: { path: "/" } },
        host: "app.example.com",
        stable: { image: "registry.example.com/app:1.0.0" },
    },
};

/**
 * `values` with every refused key back at a default: the first of `defaults` that has one, else the
 * schema's. The cross-key rules need a whole config, and this one lets them judge every key that was
 * not refused; a stand-in (another environment's default, or `MISSING_STAND_INS` for the app's own
 * keys) is never reported, as its key already is.
 */
function withRefusedAtDefaults(values: unknown, defaults: readonly unknown[], issues: readonly ConfigIssue[]): unknown {
    const out = structuredClone(values);
    for (const { path } of issues) {
        // An element of a list cannot fall back alone: the whole list does.
        const element = path.findIndex((p) => typeof p === "number");
        const at = element === -1 ? path : path.slice(0, element);
        const parent = valueAt(out, at.slice(0, -1));
        if (at.length === 0 || !isObject(parent)) continue;
        const key = String(at[at.length - 1]);
        const fallback = defaults.map((d) => valueAt(d, at)).find((v) => v !== undefined);
        if (fallback === undefined) delete parent[key];
        else parent[key] = structuredClone(fallback);
    }
    return out;
}

/**
 * Validates `raw` in `environment`, after filling in the environment's defaults: each key's own
 * issues and, in the same run, the cross-key rules over every key that was not refused.
 */
function check(environment: Environment, raw: Record<string, unknown>): { values: unknown; config?: StackConfig; issues: ConfigIssue[] } {
    const defaults = ENVIRONMENT_DEFAULTS[environment];
    const values = deepMerge(defaults, { ...raw, environment });
    const first = parseStackConfig(values);
    if (first.ok) return { values, config: first.config, issues: [] };
    const standIns = [defaults, ...ENVIRONMENTS.filter((e) => e !== environment).map((e) => ENVIRONMENT_DEFAULTS[e]), MISSING_STAND_INS];
    const second = parseStackConfig(withRefusedAtDefaults(values, standIns, first.issues));
    const more = second.ok ? [] : second.issues.filter((i) => !first.issues.some((f) => overlaps(f.path, i.path)));
    return { values, issues: [...first.issues, ...more] };
}

/** A validated config, or the one message that names every bad key. */
export type Validated = { readonly ok: true; readonly config: StackConfig } | { readonly ok: false; readonly message: string };

/**
 * Validates raw config (key without the project prefix → decoded value) against the schema; every
 * bad key in one message. Pure: tests call it directly.
 */
export function validateStackConfig(project: string, stack: string, raw: Record<string, unknown>): Validated {
    const environment = environmentOf(stack, raw);
    if ((ENVIRONMENTS as readonly unknown[]).includes(environment)) {
        const checked = check(environment as Environment, raw);
        if (checked.config) return { ok: true, config: checked.config };
        return { ok: false, message: formatIssues(project, checked.values, checked.issues) };
    }
    // Without an environment there are no defaults to judge the rest against: what every environment
    // refuses is wrong whichever the stack names, so that is reported with it.
    const message = `must be one of ${ENVIRONMENTS.join(", ")} (stack "${stack}" is not an environment name, so set it)`;
    const [first, ...others] = ENVIRONMENTS.map((e) => check(e, raw).issues);
    const same = (a: ConfigIssue, b: ConfigIssue) => a.message === b.message && a.path.join("\0") === b.path.join("\0");
    const everywhere = first.filter((i) => others.every((o) => o.some((j) => same(i, j))));
    return { ok: false, message: formatIssues(project, { ...raw, environment }, [{ path: ["environment"], message }, ...everywhere]) };
}
