/**
 * The judge's own entry point: what the cluster runs (bundled into one file, `components/delivery/judge.ts`)
 * and nothing else of the `rollout` command, so the bundle carries no stack-file or Pulumi code.
 * Options as `rollout serve`'s; a bad option or a port it cannot listen on exits 2 with one line.
 */
import { parseOptions } from "../lib/args";
import { exitOnProblem } from "../lib/system";
import { runJudge, judgeSettings, SERVE_OPTIONS, untilSignalled } from "./serve";

const err = (line: string) => process.stderr.write(`${line}\n`);
exitOnProblem(async () => {
    const settings = judgeSettings(parseOptions(process.argv.slice(2), SERVE_OPTIONS, "judge"));
    await runJudge(settings, { err, now: () => new Date(), stopped: untilSignalled });
    process.exit(0);
}, "judge: ");
