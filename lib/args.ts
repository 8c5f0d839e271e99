/**
 * Command-line options for the project's entry points (the `rollout` command, the demo app, the
 * benchmark), on Node's `util.parseArgs`: `--name value` and `--name=value`, booleans without a value (or `=true`, `=false`), every option checked
 * against the list the command accepts, so a misspelt or misplaced option is an error, not ignored.
 */
import { parseArgs as nodeParseArgs } from "node:util";

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

/**
 * Parses `argv` (options only) against `specs`; `where` names the command in messages. The words are
 * split by Node's own `util.parseArgs` (its tokens: `--name value`, `--name=value`, `-x`, `--`,
 * positionals); it runs lenient (`strict: false`) so that each refusal here names the option and
 * what it takes, as its own errors do not (a missing value, a flag given `=false` as a script writes it).
 */
export function parseOptions(argv: readonly string[], specs: readonly OptionSpec[], where: string): Options {
    const byName = new Map(specs.map((s) => [s.name, s]));
    const config = Object.fromEntries(specs.map((s) => [s.name, { type: s.value ? ("string" as const) : ("boolean" as const) }]));
    const { tokens } = nodeParseArgs({ args: [...argv], options: config, strict: false, allowPositionals: true, tokens: true });
    const out: Record<string, string | true> = {};
    const seen = new Set<string>();
    for (const t of tokens) {
        if (t.kind !== "option" || !t.rawName.startsWith("--") || t.name.includes("=")) {
            throw new UsageError(`${where}: unexpected argument ${JSON.stringify(argv[t.index])} (options are --name value or --name=value)`);
        }
        const { name } = t;
        const spec = byName.get(name);
        if (!spec) {
            const known = specs.map((s) => `--${s.name}`).join(", ") || "none";
            throw new UsageError(`${where}: unknown option --${name} (options here: ${known})`);
        }
        if (seen.has(name)) throw new UsageError(`${where}: --${name} is given twice`);
        seen.add(name);
        if (!spec.value) {
            // `--json=true` and `--json=false` as scripts write a flag they compute; nothing else.
            if (t.inlineValue && t.value !== "true" && t.value !== "false") throw new UsageError(`${where}: --${name} takes no value, or =true or =false (got ${JSON.stringify(t.value)})`);
            if (t.value !== "false") out[name] = true;
            continue;
        }
        // parseArgs takes the next word as the value whatever it is; another option there means the value is missing.
        if (t.value === undefined || (!t.inlineValue && t.value.startsWith("--"))) throw new UsageError(`${where}: --${name} needs a value (${spec.value})`);
        if (t.value === "") throw new UsageError(`${where}: --${name} needs a value (${spec.value}), got an empty one`);
        out[name] = t.value;
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

/**
 * An absolute http(s) URL given as `--<name>` (`what` prefixes the message, e.g. "load: "); anything else
 * is a UsageError that says how to write it.
 */
export function httpUrlOption(name: string, value: string, example: string, what = ""): URL {
    // `localhost:9090` parses as a URL whose scheme is "localhost": a host and port without a scheme is the likelier meaning.
    if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
        const guess = /^[^\s/:?#]+(:\d+)?(\/\S*)?$/.test(value) ? `http://${value}` : example;
        throw new UsageError(`${what}--${name} ${JSON.stringify(value)} is not a URL: write it with its scheme, e.g. ${guess}`);
    }
    let url: URL;
    try {
        url = new URL(value);
    } catch {
        throw new UsageError(`${what}--${name} ${JSON.stringify(value)} is not a URL: write it with its scheme, e.g. ${example}`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new UsageError(`${what}--${name} ${JSON.stringify(value)}: the scheme must be http or https, not ${url.protocol.replace(/:$/, "")}`);
    return url;
}
