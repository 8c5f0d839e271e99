/**
 * The one duration parser of the project: the command's options (`--interval 1h30m`, `--since 90s`),
 * the judge's `deadline=` and the stack config's duration keys all read durations here.
 *
 * Go's syntax (`go`, the default): what Argo Rollouts reads an AnalysisRun's `interval` with
 * (argoproj/argo-rollouts pkg/apis/rollouts/v1alpha1/analysis_types.go, `DurationString.Duration` is
 * `time.ParseDuration`), and Go's src/time/format.go `ParseDuration`: an optional sign, then one or
 * more decimal numbers, each with an optional fraction and a unit (`1h30m`, `1.5h`, `300ms`,
 * `2h45m30s`), units ns, us, µs (U+00B5 or U+03BC), ms, s, m, h; `0` alone is zero; longer than
 * 2^63-1 ns (some 292 years) is out of range.
 *
 * Prometheus's syntax (`prometheus`): what Prometheus reads its flags and PromQL's range selectors
 * with (prometheus/common model/time.go `ParseDuration`): whole numbers, units y, w, d, h, m, s, ms,
 * each at most once and from the largest to the smallest (`1d12h`), no sign, no fraction. Only a
 * value Prometheus itself reads takes it (`canary:monitoring.retention`): `1.5h` is no Prometheus
 * duration, and `30d` no Go one.
 */

export type DurationSyntax = "go" | "prometheus";

/**
 * The longest duration text read: far above any real one (`2h45m30s`), so hostile input (a
 * megabyte of digits) is refused before any work.
 */
export const MAX_DURATION_CHARS = 64;

const NS_PER = { ns: 1n, us: 1_000n, ms: 1_000_000n, s: 1_000_000_000n } as const;
const MINUTE = 60n * NS_PER.s;
const HOUR = 60n * MINUTE;
const DAY = 24n * HOUR;

/** Go's unitMap (src/time/format.go). */
const GO_UNITS: ReadonlyMap<string, bigint> = new Map([
    ["ns", NS_PER.ns],
    ["us", NS_PER.us],
    ["\u00b5s", NS_PER.us],
    ["\u03bcs", NS_PER.us],
    ["ms", NS_PER.ms],
    ["s", NS_PER.s],
    ["m", MINUTE],
    ["h", HOUR],
]);

/** prometheus/common model/time.go unitMap, in the order a duration must write them (a year is 365 days there). */
const PROMETHEUS_UNITS: ReadonlyMap<string, bigint> = new Map([
    ["y", 365n * DAY],
    ["w", 7n * DAY],
    ["d", DAY],
    ["h", HOUR],
    ["m", MINUTE],
    ["s", NS_PER.s],
    ["ms", NS_PER.ms],
]);

/**
 * The two syntaxes as JSON Schema patterns, for editors (the stack file's schema): the form only; the
 * range and "above zero" are the parser's.
 */
export const GO_DURATION_PATTERN = "^[-+]?(0|(([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h))+)$";
export const PROMETHEUS_DURATION_PATTERN = "^(0|(?=[0-9])([0-9]+y)?([0-9]+w)?([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?([0-9]+ms)?)$";

/** Go's time.Duration is an int64 of nanoseconds; both parsers refuse more. */
const MAX_NANOS = (1n << 63n) - 1n;

const FORMS: Record<DurationSyntax, string> = {
    go: "a Go duration such as 30s, 1h30m, 1.5h or 300ms (units ns, us, ms, s, m, h)",
    prometheus: "a Prometheus duration such as 30d, 12h or 1d12h (whole numbers; units y, w, d, h, m, s, ms, largest first)",
};

/** A duration refused: the message names the text and says what a duration is. */
export class DurationError extends Error {
    constructor(
        text: string,
        why: string,
        syntax: DurationSyntax,
        /** A duration in form, longer than any Go or Prometheus reads. */
        readonly outOfRange = false,
    ) {
        super(`${JSON.stringify(text.length > MAX_DURATION_CHARS ? `${text.slice(0, MAX_DURATION_CHARS)}...` : text)} is not a duration (${why}): write ${FORMS[syntax]}`);
        this.name = "DurationError";
    }
}

/** One `<number><unit>` term: Go's `[0-9]*(\.[0-9]*)?[a-z]+`, the unit running to the next digit or '.'. */
const TERM = /^([0-9]*)(?:\.([0-9]*))?([^0-9.]*)/;

/** Nanoseconds in `text`, as the syntax reads it; a DurationError saying why not. */
function nanoseconds(text: string, syntax: DurationSyntax): bigint {
    const refuse = (why: string) => new DurationError(text, why, syntax);
    if (text.length > MAX_DURATION_CHARS) throw refuse(`longer than ${MAX_DURATION_CHARS} characters`);
    const units = syntax === "go" ? GO_UNITS : PROMETHEUS_UNITS;
    let rest = text;
    let negative = false;
    if (syntax === "go" && (rest.startsWith("-") || rest.startsWith("+"))) {
        negative = rest.startsWith("-");
        rest = rest.slice(1);
    }
    if (rest === "0") return 0n;
    if (rest === "") throw refuse("empty");
    let total = 0n;
    let lastUnit = -1;
    while (rest !== "") {
        const [term, whole, fraction, unit] = TERM.exec(rest) as RegExpExecArray;
        if (whole === "" && (fraction ?? "") === "") throw refuse("a number must come before each unit");
        if (unit === "") throw refuse(`no unit after ${JSON.stringify(term)}`);
        const size = units.get(unit);
        if (size === undefined) throw refuse(`unknown unit ${JSON.stringify(unit)}`);
        if (syntax === "prometheus") {
            if (fraction !== undefined) throw refuse("Prometheus takes whole numbers only");
            const position = [...units.keys()].indexOf(unit);
            if (position <= lastUnit) throw refuse("Prometheus takes each unit once, largest first");
            lastUnit = position;
        }
        // As Go: the fraction through a float, exact to the nanosecond for fractions of an hour.
        const part = BigInt(whole || "0") * size + (fraction ? BigInt(Math.floor(Number(`0.${fraction}`) * Number(size))) : 0n);
        total += part;
        if (total > MAX_NANOS) throw new DurationError(text, "out of range: longer than 2562047h, Go's longest duration", syntax, true);
        rest = rest.slice(term.length);
    }
    return negative ? -total : total;
}

/** Milliseconds in a duration written in `syntax` (default Go's); a DurationError for anything else. */
export function durationMs(text: string, syntax: DurationSyntax = "go"): number {
    return Number(nanoseconds(text, syntax)) / 1e6;
}

/** Seconds in a duration written in `syntax` (default Go's); a DurationError for anything else. */
export const durationSeconds = (text: string, syntax: DurationSyntax = "go"): number => durationMs(text, syntax) / 1000;

/** Whether `text` is a duration in `syntax` above zero: what a stack config's duration key holds. */
export function isPositiveDuration(text: string, syntax: DurationSyntax = "go"): boolean {
    try {
        return nanoseconds(text, syntax) > 0n;
    } catch (e) {
        if (e instanceof DurationError) return false;
        throw e;
    }
}

const FORMAT_UNITS: readonly (readonly [string, number])[] = [
    ["h", 3_600_000],
    ["m", 60_000],
    ["s", 1000],
    ["ms", 1],
];

/** Milliseconds in the largest unit that writes them whole: 300000 → `5m`, 5400000 → `90m`. */
export function formatDuration(ms: number): string {
    const [unit, size] = FORMAT_UNITS.find(([, n]) => ms % n === 0) ?? ["ms", 1];
    return `${ms / size}${unit}`;
}
