#!/usr/bin/env node
// The `rollout` bin: runs the TypeScript entry point through ts-node (transpile only, as the tests do).
require("ts-node").register({ transpileOnly: true, project: require("path").join(__dirname, "..", "tsconfig.json") });
require("./main");
