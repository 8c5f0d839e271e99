/**
 * The `rollout` bin's bundle: rollout/main.ts and all it imports but the Automation API, in one file
 * (`lib/bundle.ts`), which starts in about a tenth of a second where ts-node needs 1.5. `npm run
 * build:cli` builds it, and `npm ci` (the `prepare` script); the bin (rollout/bin.js) rebuilds it when
 * a source has changed since. Where it goes and how it is known current: rollout/start.js.
 */
import * as path from "path";
import { bundleEntry, ROOT } from "../lib/bundle";

interface Start {
    writeBundle(root: string, code: string, inputs: readonly string[]): string;
}
// Plain JavaScript, shared with the bin, which loads it before any TypeScript.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const start: Start = require("./start");

const ENTRY = "rollout/main.ts";
/** Loaded by `run --apply` only (rollout/apply.ts), from node_modules: it is large, and most calls never need it. */
const EXTERNAL = ["@pulumi/pulumi"];
/** What else makes the bundle what it is: the build itself and the bundler's version. */
const BUILD_INPUTS = ["lib/bundle.ts", "rollout/bundle.ts", "rollout/start.js", path.relative(ROOT, require.resolve("esbuild/package.json"))];

/** Builds the bundle from the sources as they are; returns its path. */
export function buildCli(): string {
    const b = bundleEntry(ENTRY, EXTERNAL);
    return start.writeBundle(ROOT, b.code, [...new Set([...b.inputs, ...BUILD_INPUTS])]);
}

if (require.main === module) process.stdout.write(`${path.relative(ROOT, buildCli())}\n`);
