/**
 * Reads and edits `Pulumi.<stack>.yaml` for the `rollout` command. Edits go through the `yaml`
 * Document API, so comments, key order and `secure:` values stay as they are; the edited file is
 * validated with the program's own schema before it is written, and written atomically (temp file +
 * rename), so a refused move leaves the file untouched.
 */
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { decodeConfigValue, validateStackConfig } from "../stacks/validate";
import { StackConfig } from "../stacks/schema";
import { nextStage } from "../domain/stages";
import { UsageError } from "../lib/args";
import { systemProblem } from "../lib/system";

export const PROJECT = "canary";


/** Stack names as Pulumi allows them: letters, digits, `-`, `_`, `.`; no path separators. */
const STACK_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export interface StackFile {
    readonly stack: string;
    readonly file: string;
    readonly doc: YAML.Document;
    readonly config: StackConfig;
}

/**
 * `canary:<key>` values of a parsed stack file, keys without the prefix, read as the program reads
 * them: a string that holds JSON (`"25"`, `"true"`, as `pulumi config set` writes them) is its value.
 * `secure:` values are left out: the command cannot decrypt them (the program validates them at
 * `pulumi up`), and it never edits them.
 */
export function rawConfig(doc: YAML.Document): Record<string, unknown> {
    const config = (doc.toJS()?.config ?? {}) as Record<string, unknown>;
    const raw: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(config)) {
        if (!k.startsWith(`${PROJECT}:`)) continue;
        if (typeof v === "object" && v !== null && "secure" in v) continue;
        raw[k.slice(PROJECT.length + 1)] = typeof v === "string" ? decodeConfigValue(v) : v;
    }
    return raw;
}

function parseDocument(text: string, file: string): YAML.Document {
    const doc = YAML.parseDocument(text);
    if (doc.errors.length > 0) throw new UsageError(`${file} is not valid YAML: ${doc.errors[0].message}`);
    return doc;
}

function validated(stack: string, doc: YAML.Document, file: string): StackConfig {
    const v = validateStackConfig(PROJECT, stack, rawConfig(doc));
    if (!v.ok) throw new UsageError(`${file}: ${v.message}`);
    return v.config;
}

/** The stack file's text; a file that is missing, a directory or unreadable is a UsageError saying which. */
function readStackFile(root: string, file: string): string {
    try {
        return fs.readFileSync(file, "utf8");
    } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") {
            const link = fs.lstatSync(file, { throwIfNoEntry: false })?.isSymbolicLink() ? fs.readlinkSync(file) : undefined;
            if (link !== undefined) throw new UsageError(`${file} is a symbolic link to ${link}, which does not exist`);
            throw new UsageError(`no stack file ${path.basename(file)} in ${root} (stacks here: ${listStacks(root).join(", ") || "none"})`);
        }
        const problem = systemProblem(e, `cannot read ${file}`);
        if (problem === undefined) throw e;
        throw new UsageError(problem);
    }
}

export function loadStack(root: string, stack: string): StackFile {
    if (!STACK_NAME.test(stack)) throw new UsageError(`--stack ${JSON.stringify(stack)} is not a stack name (letters, digits, '-', '_', '.')`);
    const file = path.join(root, `Pulumi.${stack}.yaml`);
    const doc = parseDocument(readStackFile(root, file), path.basename(file));
    return { stack, file, doc, config: validated(stack, doc, path.basename(file)) };
}

export function listStacks(root: string): string[] {
    return fs
        .readdirSync(root)
        .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
        .filter((s): s is string => s !== undefined)
        .sort();
}

/** One edit to the stack file: a `canary:` key path and its old and new values. */
export interface Edit {
    readonly key: readonly string[];
    readonly from: unknown;
    readonly to: unknown;
}

export const describeEdit = (e: Edit) => `${PROJECT}:${e.key.join(".")}: ${JSON.stringify(e.from ?? null)} → ${JSON.stringify(e.to)}`;

/** `next`: the stage after the current one; refuses past the last stage and without a canary. */
export function planNext(c: StackConfig): Edit[] {
    if (!c.canaryDiffers) throw new UsageError(`the canary is the stable version (${c.app.stable.version}): set canary:app.canary.image to a new version before moving a stage`);
    const next = nextStage(c.weight, c.stages);
    if (next === undefined) throw new UsageError(`canary:weight is ${c.weight}, the last stage: there is no next stage. Run \`promote\` to make the canary the new stable`);
    return [{ key: ["weight"], from: c.weight, to: next }];
}

/** `retry`: a new AnalysisRun for the current stage, after one that failed or was inconclusive. */
export function planRetry(c: StackConfig): Edit[] {
    if (c.weight === 0) throw new UsageError("canary:weight is 0: there is no stage analysis to retry");
    if (!c.analysis.enabled) throw new UsageError("canary:analysis.enabled is false: there is no stage analysis to retry");
    return [{ key: ["analysis", "attempt"], from: c.analysis.attempt, to: c.analysis.attempt + 1 }];
}

export function planRollback(c: StackConfig): Edit[] {
    if (c.weight === 0) throw new UsageError("canary:weight is already 0: nothing to roll back");
    return [{ key: ["weight"], from: c.weight, to: 0 }];
}

/** `promote`, only from 100: stable takes the canary's image (and version), weight goes to 0. */
export function planPromote(c: StackConfig, doc: YAML.Document): Edit[] {
    if (c.weight !== 100) throw new UsageError(`promote needs canary:weight 100 (it is ${c.weight}): move through the stages with \`next\` first`);
    const stable = c.app.stable;
    const canary = c.app.canary;
    const edits: Edit[] = [{ key: ["app", "stable", "image"], from: stable.image, to: canary.image }];
    // Keep an explicit stable version in step; without one, the version follows the image tag.
    const explicitVersion = doc.getIn(["config", `${PROJECT}:app`, "stable", "version"]) !== undefined || doc.getIn(["config", `${PROJECT}:app`, "canary", "version"]) !== undefined;
    if (explicitVersion) edits.push({ key: ["app", "stable", "version"], from: stable.version, to: canary.version });
    edits.push({ key: ["weight"], from: c.weight, to: 0 });
    return edits;
}

/** Applies edits to a copy of the document, validates the result, and writes it atomically. */
export function writeEdits(s: StackFile, edits: readonly Edit[]): StackFile {
    const doc = parseDocument(String(s.doc), path.basename(s.file));
    for (const e of edits) {
        const [head, ...rest] = e.key;
        doc.setIn(["config", `${PROJECT}:${head}`, ...rest], e.to);
    }
    const config = validated(s.stack, doc, path.basename(s.file));
    const tmp = `${s.file}.${process.pid}.tmp`;
    try {
        fs.writeFileSync(tmp, String(doc));
        fs.renameSync(tmp, s.file);
    } catch (e) {
        fs.rmSync(tmp, { force: true });
        const problem = systemProblem(e, `cannot write ${s.file}`);
        if (problem === undefined) throw e;
        throw new UsageError(`${problem}; the stack file is unchanged`);
    }
    return { ...s, doc, config };
}
