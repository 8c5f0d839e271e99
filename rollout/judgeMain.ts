/**
 * The judge's own entry point: what the cluster runs (bundled into one file, `components/delivery/judge.ts`)
 * and nothing else of the `rollout` command, so the bundle carries no stack-file or Pulumi code.
 * Options as `rollout serve`'s.
 */
import { exitOnUsageError, parseOptions } from "../lib/args";
import { runJudge, judgeSettings, SERVE_OPTIONS, untilSignalled } from "./serve";

const err = (line: string) => process.stderr.write(`${line}\n`);
exitOnUsageError(() => {
    const settings = judgeSettings(parseOptions(process.argv.slice(2), SERVE_OPTIONS, "judge"));
    runJudge(settings, { err, now: () => new Date(), stopped: untilSignalled }).then(
        () => process.exit(0),
        (e: Error) => (err(`judge: ${e.stack ?? e}`), process.exit(1)),
    );
}, "judge: ");
