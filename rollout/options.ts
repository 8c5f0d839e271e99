/**
 * The command's option readers that stand on domain/: lib/args.ts imports nothing of the project, so
 * a duration option, read by the project's one duration parser (domain/duration.ts), is read here.
 */
import { DurationError, durationMs, formatDuration } from "../domain/duration";
import { Options, stringOption, UsageError } from "../lib/args";

/** A duration option (Go's syntax: `90s`, `1h30m`, `1.5h`) in milliseconds, from `minMs` to `maxMs`. */
export function durationOption(o: Options, name: string, fallbackMs: number, minMs = 1, maxMs = Infinity): number {
    const raw = stringOption(o, name);
    if (raw === undefined) return fallbackMs;
    let ms: number;
    try {
        ms = durationMs(raw);
    } catch (e) {
        if (!(e instanceof DurationError)) throw e;
        if (e.outOfRange) throw new UsageError(`--${name} ${raw} is too long: at most ${formatDuration(maxMs)}`);
        throw new UsageError(`--${name} ${e.message}`);
    }
    if (ms < minMs) throw new UsageError(`--${name} ${raw} is too short: at least ${formatDuration(minMs)}`);
    if (ms > maxMs) throw new UsageError(`--${name} ${raw} is too long: at most ${formatDuration(maxMs)}`);
    return ms;
}
