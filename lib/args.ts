/**
 * Command-line options for the project's entry points (the `rollout` command, the demo app, the
 * benchmark): `--name value` and `--name=value`, booleans without a value (or `=true`, `=false`), every option checked
 * against the list the command accepts, so a misspelt or misplaced option is an error, not ignored.
 */

/** A usage problem: the entry point prints the message and exits 2 (`exitOnProblem`, lib/system.ts). */
export class UsageError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "UsageError";
    }
}

export interface OptionSpec {
    readonly name: string;
    /** The value's placeholder in help (`URL`, `15s`); absent for a boolean flag. */
    readonly value?: string;
    readonly help: string;
}

export type Options = Readonly<Record<string, string | true>>;

/** The help lines of `specs`, aligned. */
export function optionHelp(specs: readonly OptionSpec[]): string[] {
    const heads = specs.map((s) => `--${s.name}${s.value ? ` ${s.value}` : ""}`);
    const width = Math.max(0, ...heads.map((h) => h.length));
    return specs.map((s, i) => `  ${heads[i].padEnd(width)}  ${s.help}`);
}

/** Parses `argv` (options only) against `specs`; `where` names the command in messages. */
export function parseOptions(argv: readonly string[], specs: readonly OptionSpec[], where: string): Options {
    const byName = new Map(specs.map((s) => [s.name, s]));
    const out: Record<string, string | true> = {};
    const seen = new Set<string>();
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        const m = /^--([^=]+)(?:=(.*))?$/s.exec(arg);
        if (!m) throw new UsageError(`${where}: unexpected argument ${JSON.stringify(arg)} (options are --name value or --name=value)`);
        const [, name, inline] = m;
        const spec = byName.get(name);
        if (!spec) {
            const known = specs.map((s) => `--${s.name}`).join(", ") || "none";
            throw new UsageError(`${where}: unknown option --${name} (options here: ${known})`);
        }
        if (seen.has(name)) throw new UsageError(`${where}: --${name} is given twice`);
        seen.add(name);
        if (!spec.value) {
            // `--json=true` and `--json=false` as scripts write a flag they compute; nothing else.
            if (inline !== undefined && inline !== "true" && inline !== "false") throw new UsageError(`${where}: --${name} takes no value, or =true or =false (got ${JSON.stringify(inline)})`);
            if (inline !== "false") out[name] = true;
            continue;
        }
        const value = inline ?? argv[++i];
        if (value === undefined || (inline === undefined && value.startsWith("--"))) throw new UsageError(`${where}: --${name} needs a value (${spec.value})`);
        if (value === "") throw new UsageError(`${where}: --${name} needs a value (${spec.value}), got an empty one`);
        out[name] = value;
    }
    return out;
}

/** A string option's value; a flag given where a value belongs cannot happen after `parseOptions`. */
export const stringOption = (o: Options, name: string): string | undefined => (typeof o[name] === "string" ? (o[name] as string) : undefined);

/** A number option within [min, max]; `integer` refuses fractions. */
export function numberOption(o: Options, name: string, fallback: number, min: number, max: number, integer = false): number {
    const raw = stringOption(o, name);
    if (raw === undefined) return fallback;
    const v = Number(raw);
    if (raw.trim() === "" || !Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v))) {
        throw new UsageError(`--${name} ${JSON.stringify(raw)}: must be ${integer ? "a whole number" : "a number"} from ${min} to ${max}`);
    }
    return v;
}

const UNITS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/** `500ms`, `30s`, `5m`, `1h` in milliseconds; undefined for anything else. */
export function parseDuration(value: string): number | undefined {
    const d = /^(\d+)(ms|s|m|h)$/.exec(value);
    return d ? Number(d[1]) * UNITS[d[2] as keyof typeof UNITS] : undefined;
}

/** Milliseconds in the largest unit that writes them whole: 300000 → `5m`. */
export function formatDuration(ms: number): string {
    const [unit, size] = (Object.entries(UNITS) as [string, number][]).reverse().find(([, n]) => ms % n === 0) ?? ["ms", 1];
    return `${ms / size}${unit}`;
}

/** A duration option in milliseconds, from `minMs` to `maxMs`. */
export function durationOption(o: Options, name: string, fallbackMs: number, minMs = 1, maxMs = Infinity): number {
    const raw = stringOption(o, name);
    if (raw === undefined) return fallbackMs;
    const ms = parseDuration(raw);
    if (ms === undefined) throw new UsageError(`--${name} ${JSON.stringify(raw)} is not a duration such as 30s, 5m or 1h`);
    if (ms < minMs) throw new UsageError(`--${name} ${raw} is too short: at least ${minMs} ms`);
    if (ms > maxMs) throw new UsageError(`--${name} ${raw} is too long: at most ${formatDuration(maxMs)}`);
    return ms;
}

/**
 * An absolute http(s) URL given as `--<name>` (`what` prefixes the message, e.g. "load: "); anything else
 * is a UsageError that says how to write it.
 */
export function httpUrlOption(name: string, value: string, example: string, what = ""): URL {
    let url: URL;
    try {
        url = new URL(value);
    } catch {
        throw new UsageError(`${what}--${name} ${JSON.stringify(value)} is not a URL: write it with its scheme, e.g. ${example}`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new UsageError(`${what}--${name} ${JSON.stringify(value)}: the scheme must be http or https, not ${url.protocol.replace(/:$/, "")}`);
    return url;
}
