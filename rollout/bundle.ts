/**
 * The `rollout` bin's bundle: rollout/main.ts and all it imports but the Automation API, in one file
 * (`lib/bundle.ts`), which starts in about a tenth of a second where ts-node needs 1.5. `npm run
 * build:cli` builds it, and `npm ci` (the `prepare` script); the bin (rollout/bin.js) rebuilds it when
 * a source has changed since. Where it goes and how it is known current: lib/bundleCache.js.
 */
import * as path from "path";
import { BUILD_INPUTS, bundleCache, bundleEntry, ROOT } from "../lib/bundle";

const ENTRY = "rollout/main.ts";
/** Loaded by `run --apply` only (rollout/apply.ts), from node_modules: it is large, and most calls never need it. */
const EXTERNAL = ["@pulumi/pulumi"];

/** Builds the bundle from the sources as they are; returns its path. */
export function buildCli(): string {
    const b = bundleEntry(ENTRY, EXTERNAL);
    return bundleCache.writeBundle(ROOT, "rollout", b.code, [...new Set([...b.inputs, ...BUILD_INPUTS, "rollout/bundle.ts"])]);
}

if (require.main === module) process.stdout.write(`${path.relative(ROOT, buildCli())}\n`);
