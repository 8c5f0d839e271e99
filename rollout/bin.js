#!/usr/bin/env node
/**
 * The `rollout` bin. It runs the command bundled (dist/rollout.js, about a tenth of a second to
 * start) while that is built from the sources as they are; otherwise it rebuilds the bundle first
 * (a second or so, once), and when it cannot (dist/ not writable, no esbuild) it runs the TypeScript
 * through ts-node: the same command, 1.5 s slower. With ROLLOUT_START=1 it says on stderr which way
 * it started (`npm run bench:cli` shows it).
 */
"use strict";
const path = require("path");
const { currentBundle } = require("../lib/bundleCache");

// V8's code for the 1.3 MB bundle, kept between runs (in the OS temp dir): a third of its start is compiling it.
require("module").enableCompileCache?.();
const root = path.join(__dirname, "..");
const say = process.env.ROLLOUT_START === "1" ? (line) => process.stderr.write(`rollout start: ${line}\n`) : () => {};
let found = currentBundle(root, "rollout");
if (found.file) {
    say(`bundle ${path.relative(root, found.file)}`);
} else {
    const why = found.stale;
    require("ts-node").register({ transpileOnly: true, project: path.join(root, "tsconfig.json") });
    try {
        require("./bundle").buildCli();
        found = currentBundle(root, "rollout");
        say(found.file ? `bundle rebuilt (${why})` : `ts-node (rebuilt, yet ${found.stale})`);
    } catch (e) {
        say(`ts-node (${why}; rebuilding failed: ${e.message})`);
    }
}
require(found.file ?? "./main");
