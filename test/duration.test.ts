/**
 * The one duration parser (domain/duration.ts) against Go's time.ParseDuration and Prometheus's
 * model.ParseDuration: the values below are what those functions return for the same text (Go's
 * src/time/time_test.go parseDurationTests; prometheus/common model/time_test.go).
 */
import * as assert from "assert";
import { DurationError, durationMs, DurationSyntax, formatDuration, GO_DURATION_PATTERN, isPositiveDuration, MAX_DURATION_CHARS, PROMETHEUS_DURATION_PATTERN } from "../domain/duration";

describe("durations: one parser, Go's syntax (and Prometheus's where Prometheus reads the value)", () => {
    it("Go's forms: compound, fractions, every unit, a sign, a lone 0", () => {
        const cases: [string, number][] = [
            ["1h30m", 5_400_000],
            ["1.5h", 5_400_000],
            ["300ms", 300],
            ["2h45m30s", 9_930_000],
            ["-1.5h", -5_400_000],
            ["+5s", 5000],
            ["0", 0],
            ["1.s", 1000],
            [".5s", 500],
            ["1500ns", 0.0015],
            ["2us", 0.002],
            ["2\u00b5s", 0.002],
            ["2\u03bcs", 0.002],
            ["1m1m", 120_000],
            ["9223372036854775807ns", 9223372036854.775],
        ];
        for (const [text, ms] of cases) assert.strictEqual(durationMs(text), ms, text);
    });

    it("refuses what Go refuses, each saying why and what a duration is", () => {
        const cases: [string, RegExp][] = [
            ["", /"" is not a duration \(empty\): write a Go duration such as 30s, 1h30m/],
            ["1", /no unit after "1"/],
            ["1d", /unknown unit "d"/],
            [".s", /a number must come before each unit/],
            ["1h 30m", /unknown unit "h "/],
            ["soon", /"soon" is not a duration/],
            ["9223372036854775808ns", /out of range/],
            ["3000000h", /out of range/],
        ];
        for (const [text, message] of cases) assert.throws(() => durationMs(text), (e: Error) => e instanceof DurationError && message.test(e.message), text);
        // Out of range is a duration too long (the command says "too long: at most ..."), not a form refused.
        assert.deepStrictEqual(["3000000h", "1d"].map(outOfRange), [true, false]);
    });

    it(`bounded: text longer than ${MAX_DURATION_CHARS} characters is refused before any work, and the message stays short`, () => {
        const long = `${"9".repeat(100_000)}s`;
        assert.throws(() => durationMs(long), (e: Error) => /longer than 64 characters/.test(e.message) && e.message.length < 400);
    });

    it("Prometheus's syntax where Prometheus reads the value: d, w, y; whole numbers; each unit once, largest first", () => {
        assert.strictEqual(durationMs("30d", "prometheus"), 30 * 86_400_000);
        assert.strictEqual(durationMs("1d12h", "prometheus"), 36 * 3_600_000);
        assert.strictEqual(durationMs("1y", "prometheus"), 365 * 86_400_000);
        for (const [text, message] of [
            ["1.5h", /whole numbers only/],
            ["30m1h", /each unit once, largest first/],
            ["-5m", /a number must come before each unit/],
            ["5us", /unknown unit "us"/],
        ] as const) {
            assert.throws(() => durationMs(text, "prometheus"), message, text);
        }
    });

    it("a config value is a duration above zero; formatDuration writes the largest whole unit", () => {
        assert.deepStrictEqual(["30m", "1h30m", "1.5h", "0", "0s", "-1m", "1d"].map((d) => isPositiveDuration(d)), [true, true, true, false, false, false, false]);
        assert.deepStrictEqual([300_000, 5_400_000, 1500, 86_400_000].map(formatDuration), ["5m", "90m", "1500ms", "24h"]);
    });

    it("the JSON Schema patterns editors check with take the forms the parser takes, and no other", () => {
        const texts = ["1h30m", "1.5h", ".5s", "1.s", "0", "-5m", "+5s", "300ms", "2\u00b5s", "30d", "1d12h", "4w2d", "1y", "", "1", ".s", "1h 30m", "30m1h", "1.5d", "soon", "5us", "0s"];
        for (const [syntax, pattern] of [["go", GO_DURATION_PATTERN], ["prometheus", PROMETHEUS_DURATION_PATTERN]] as [DurationSyntax, string][]) {
            const re = new RegExp(pattern, "u");
            for (const t of texts) assert.strictEqual(re.test(t), parses(t, syntax), `${syntax} ${JSON.stringify(t)}`);
        }
    });
});

/** Whether the parser reads `text` in `syntax`. */
function parses(text: string, syntax: DurationSyntax): boolean {
    try {
        durationMs(text, syntax);
        return true;
    } catch {
        return false;
    }
}

/** Whether the text is refused as out of range (rather than as no duration). */
function outOfRange(text: string): boolean {
    try {
        durationMs(text);
        return false;
    } catch (e) {
        return (e as DurationError).outOfRange;
    }
}
