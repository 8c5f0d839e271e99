/**
 * Bundles kept on disk while current: dist/<name>.js is an entry point in one file (lib/bundle.ts
 * builds it), dist/<name>.inputs.json the sha256 of every file it was built from, so a bundle is used
 * only while it is what the sources as they are would give. The `rollout` bin starts from one
 * (`rollout`: rollout/bundle.ts), and the program reads the judge's and the load generator's from
 * here instead of bundling them at every run (`cachedBundle`). Plain JavaScript: the bin reads it
 * before anything could load TypeScript.
 */
"use strict";
const crypto = require("crypto");
const fs = require("fs");
const path = require("path");

/** Where the bundle `name` and the record of its inputs are, below the package's root. */
const bundlePath = (name) => path.join("dist", `${name}.js`);
const inputsPath = (name) => path.join("dist", `${name}.inputs.json`);

const sha256 = (file) => crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");

/** `{ file }`, the bundle `name` below `root` when it is current; otherwise `{ stale }`, why not. */
function currentBundle(root, name) {
    const INPUTS = inputsPath(name);
    const BUNDLE = bundlePath(name);
    let inputs;
    try {
        inputs = JSON.parse(fs.readFileSync(path.join(root, INPUTS), "utf8"));
    } catch {
        return { stale: `${INPUTS} is missing or unreadable (npm ci builds it)` };
    }
    if (!fs.existsSync(path.join(root, BUNDLE))) return { stale: `${BUNDLE} is missing` };
    for (const [file, hash] of Object.entries(inputs)) {
        let now;
        try {
            now = sha256(path.resolve(root, file));
        } catch {
            return { stale: `${file}, one of its inputs, is gone` };
        }
        if (now !== hash) return { stale: `${file} changed since the bundle was built` };
    }
    return { file: path.join(root, BUNDLE) };
}

/** Writes `text` to `file` through a temporary file and a rename: a reader sees the old or the new file, never half. */
function writeAtomically(file, text) {
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, text);
    fs.renameSync(tmp, file);
}

/**
 * A package's file stands for its package.json: its version changes with every `npm ci` that changes
 * it, and hashing one file per package instead of its hundreds keeps the check at a few milliseconds.
 */
const recorded = (file) => file.replace(/^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\/.*$/, "$1/package.json");

/**
 * Writes the bundle, then its inputs' hashes (`inputs`: paths relative to `root`): while the bundle
 * is replaced, the old hashes no longer match, so no bin runs a bundle older than its record.
 */
function writeBundle(root, name, code, inputs) {
    fs.mkdirSync(path.join(root, "dist"), { recursive: true });
    writeAtomically(path.join(root, bundlePath(name)), code);
    const files = [...new Set(inputs.map(recorded))].sort();
    const hashes = Object.fromEntries(files.map((f) => [f, sha256(path.resolve(root, f))]));
    writeAtomically(path.join(root, inputsPath(name)), `${JSON.stringify(hashes, null, 1)}\n`);
    return path.join(root, bundlePath(name));
}

module.exports = { bundlePath, inputsPath, currentBundle, writeBundle };
