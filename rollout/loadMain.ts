/**
 * The load test's own entry point: what a stage's load-test Job runs (bundled, `components/delivery/loadTest.ts`).
 * Prints its counts every 30 s and at the end as JSON lines; exits 0 when the duration is over, 2 on
 * bad options.
 */
import { parseOptions } from "../lib/args";
import { exitOnProblem } from "../lib/system";
import { toJson } from "../lib/json";
import { LOAD_OPTIONS, loadSettings, runLoad } from "./load";

const err = (line: string) => process.stderr.write(`${line}\n`);
exitOnProblem(() => {
    const settings = loadSettings(parseOptions(process.argv.slice(2), LOAD_OPTIONS, "load"));
    err(`load: ${settings.rate} requests/s to ${settings.target.origin}${settings.path} (host ${settings.host}) for ${settings.durationMs / 1000}s`);
    runLoad(settings, (counts) => process.stdout.write(`${toJson({ progress: counts })}\n`)).then(
        (counts) => (process.stdout.write(`${toJson({ done: counts })}\n`), process.exit(0)),
        (e: Error) => (err(`load: ${e.stack ?? e}`), process.exit(1)),
    );
});
