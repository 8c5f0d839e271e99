/**
 * An entry point (a path below the project) and its imports as one CommonJS file for Node.js 22
 * (esbuild): what the cluster runs from a ConfigMap (components/bundle.ts) and the `rollout` bin
 * (rollout/bundle.ts). The same sources give the same bytes.
 */
import * as esbuild from "esbuild";
import * as fs from "fs";
import * as path from "path";

/**
 * The package's root, which entry points and the bundle's inputs are relative to: the nearest folder
 * above this file with a package.json. From the sources that is this repository; from the compiled
 * library (dist/lib/lib/bundle.js, in a team's node_modules) it is the package, whose TypeScript
 * sources ship beside it, so the cluster runs the same bytes either way.
 */
export const ROOT = packageRoot(path.join(__dirname, ".."));

function packageRoot(dir: string): string {
    if (fs.existsSync(path.join(dir, "package.json"))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${__dirname}: the canary package is incomplete`);
    return packageRoot(up);
}

export interface Bundle {
    readonly code: string;
    /** The files it was built from (sources and packages), relative to `ROOT`. */
    readonly inputs: readonly string[];
}

/** Bundles `entry`; the packages in `external` stay `require`s, loaded from node_modules when run. */
export function bundleEntry(entry: string, external: readonly string[] = []): Bundle {
    const result = esbuild.buildSync({
        entryPoints: [path.join(ROOT, entry)],
        absWorkingDir: ROOT,
        bundle: true,
        platform: "node",
        target: "node22",
        format: "cjs",
        external: [...external],
        // `import()` of an external package as `require`, as TypeScript compiles it for ts-node: Node's
        // own import() resolves ES-module style and refuses a directory such as @pulumi/pulumi/automation.
        supported: { "dynamic-import": false },
        write: false,
        metafile: true,
        legalComments: "none",
        logLevel: "silent",
    });
    return { code: result.outputFiles[0].text, inputs: Object.keys(result.metafile.inputs) };
}

/** The on-disk cache of bundles (plain JavaScript, shared with the `rollout` bin, which loads it before any TypeScript). */
interface BundleCache {
    currentBundle(root: string, name: string): { file?: string; stale?: string };
    writeBundle(root: string, name: string, code: string, inputs: readonly string[]): string;
}
// By the package's root: the compiled library (dist/lib/lib/bundle.js) has no copy of the JavaScript beside it.
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const bundleCache: BundleCache = require(path.join(ROOT, "lib", "bundleCache.js"));

/** What else makes a bundle what it is: the build itself and the bundler's version. */
export const BUILD_INPUTS = ["lib/bundle.ts", "lib/bundleCache.js", path.relative(ROOT, require.resolve("esbuild/package.json"))];

/**
 * `entry` bundled, from dist/<name>.js while that is current (its inputs' hashes unchanged: a few
 * milliseconds), else built and kept there for the next run: what the program deploys at every
 * `pulumi up` costs a bundling only once per change of its sources. The same bytes either way. Where
 * dist/ cannot be written (a read-only install), the bundle is built at each run instead.
 */
export function cachedBundle(entry: string, name: string): string {
    const found = bundleCache.currentBundle(ROOT, name);
    if (found.file) return fs.readFileSync(found.file, "utf8");
    const b = bundleEntry(entry);
    try {
        bundleCache.writeBundle(ROOT, name, b.code, [...new Set([...b.inputs, ...BUILD_INPUTS])]);
    } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== "EACCES" && code !== "EROFS" && code !== "EPERM") throw e;
    }
    return b.code;
}
