/**
 * Reads and edits `Pulumi.<stack>.yaml` for the `rollout` command. Edits go through the `yaml`
 * Document API, so comments, key order and `secure:` values stay as they are; the edited file is
 * validated with the program's own schema before it is written, and written atomically (temp file +
 * rename), so a refused move leaves the file untouched. A file that changed since it was read is not
 * written: the command would put back what it read and lose the edit made meanwhile.
 *
 * The file is the user's input like any option: bounded in size and in the aliases it may expand,
 * and it must be a mapping with a `config:` mapping (an empty file, a list or a scalar would
 * otherwise read as a stack at all the environment's defaults).
 *
 * Its keys are `<project>:<key>`, the project being the `name:` of the Pulumi.yaml beside it: the
 * program reads `${pulumi.getProject()}:` keys (stacks/config.ts), so the command reads and writes
 * the same ones, and refuses a file whose keys are under another name (the program would ignore them).
 */
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { decodeConfigValue, validateStackConfig } from "../stacks/validate";
import { StackConfig } from "../stacks/schema";
import { nextStage } from "../domain/stages";
import { withDigest } from "../stacks/images";
import { UsageError } from "../lib/args";
import { systemProblem } from "../lib/system";

/** The largest stack file read, far above any real one (a few kilobytes; a secret is some 100 bytes): the work of reading it stays bounded. */
export const MAX_STACK_FILE_BYTES = 1024 * 1024;
/**
 * The aliases a stack file may expand: the yaml package's own default, named here because it is what
 * bounds a "billion laughs" file (yaml dist/nodes/Alias.js: an anchor's uses times the aliases
 * under it above `maxAliasCount` is "Excessive alias count indicates a resource exhaustion attack").
 */
const MAX_ALIAS_COUNT = 100;
const SHAPE = "the stack file must be a mapping with a config: mapping (of <project>:<key> values)";

/** Stack names as Pulumi allows them: letters, digits, `-`, `_`, `.`; no path separators. */
const STACK_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** The project file whose `name:` prefixes the stack file's keys; the stack file is `Pulumi.<stack>.yaml` beside it. */
export const PROJECT_FILE = "Pulumi.yaml";
/**
 * Project names as Pulumi allows them (sdk/go/common/tokens/project.go `ValidateProjectName`: at most
 * 100 characters, `IsName` in names.go: a letter, `_` or `.`, then letters, digits, `_`, `.`, `-`).
 */
const PROJECT_NAME = /^[A-Za-z_.][A-Za-z0-9_.-]{0,99}$/;
/**
 * Top-level keys of this program's config that a provider's namespace does not hold (the aws and
 * kubernetes providers' config has neither): a namespace other than the project's holding one is this
 * program's config under another name, never read (`namespaceProblem`).
 */
const OWN_KEYS = ["weight", "app"];

export interface StackFile {
    readonly stack: string;
    /** The project's name (Pulumi.yaml's `name:`): the prefix of every key the command reads and writes. */
    readonly project: string;
    readonly file: string;
    /** The file's text as it was read: an edit is written only over this text (`writeEdits`). */
    readonly text: string;
    readonly doc: YAML.Document;
    readonly config: StackConfig;
}

const isMapping = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Text from the file as a refusal shows it: at most 40 characters. */
const clip = (text: string) => (text.length > 40 ? `${text.slice(0, 40)}...` : text);

/** What a YAML value is, in a refusal: "empty", "a list", "the string \"x\"". */
function shapeOf(v: unknown): string {
    if (v === undefined || v === null) return "empty";
    if (Array.isArray(v)) return "a list";
    if (typeof v === "string") return `the string ${JSON.stringify(clip(v))}`;
    return `the ${typeof v} ${String(v)}`;
}

/** A parsed file as JavaScript, its aliases expanded at most `MAX_ALIAS_COUNT` times (a UsageError naming the file beyond). */
function toJs(doc: YAML.Document, file: string): unknown {
    try {
        return doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (e) {
        // The yaml package throws ReferenceError for too many aliases and for an alias to no anchor.
        if (e instanceof ReferenceError) throw new UsageError(`${file}: ${e.message} (at most ${MAX_ALIAS_COUNT} alias expansions are read)`);
        throw e;
    }
}

/** The file's top-level mapping as JavaScript; a UsageError naming the file for anything but a mapping with a `config:` mapping. */
function contentOf(doc: YAML.Document, file: string): Record<string, unknown> & { config: Record<string, unknown> } {
    const js = toJs(doc, file);
    if (!isMapping(js)) throw new UsageError(`${file} is ${shapeOf(js)}: ${SHAPE}`);
    if (!isMapping(js.config)) throw new UsageError(`${file}: config is ${js.config === undefined ? "missing" : shapeOf(js.config)}: ${SHAPE}`);
    return js as Record<string, unknown> & { config: Record<string, unknown> };
}

/** A list of names for a refusal: the first few, and how many more. */
function few(names: readonly string[]): string {
    const shown = names.slice(0, 4).map(clip).join(", ");
    return names.length <= 4 ? shown : `${shown} and ${names.length - 4} more`;
}

const namespaceOf = (key: string) => key.slice(0, Math.max(0, key.indexOf(":")));

/**
 * Why the program would not read a stack file's config as this program's, or undefined: a file with
 * keys but none under `<project>:`, or a namespace other than the project's that holds one of
 * `OWN_KEYS` (`canary:weight` left behind in a project renamed `checkout`). Provider keys
 * (`aws:region`, `kubernetes:context`) beside the project's pass.
 */
export function namespaceProblem(keys: readonly string[], project: string): string | undefined {
    const prefix = `the project's name in ${PROJECT_FILE} is ${project}, the prefix the program reads`;
    if (keys.length > 0 && !keys.some((k) => namespaceOf(k) === project)) return `no key is under ${project}: (${prefix}); its keys are ${few(keys)}`;
    const foreign = keys.filter((k) => namespaceOf(k) !== project && OWN_KEYS.includes(k.slice(k.indexOf(":") + 1)));
    if (foreign.length === 0) return undefined;
    const namespaces = [...new Set(foreign.map(namespaceOf))];
    const theirs = keys.filter((k) => namespaces.includes(namespaceOf(k)));
    return `${few(theirs)} ${theirs.length === 1 ? "is" : "are"} under ${namespaces.map((n) => `${n}:`).join(", ")}, not ${project}: (${prefix}), so the program would never read ${theirs.length === 1 ? "it" : "them"}: rename to ${project}:<key>`;
}

/**
 * `<project>:<key>` values of a parsed stack file, keys without the prefix, read as the program reads
 * them: a string that holds JSON (`"25"`, `"true"`, as `pulumi config set` writes them) is its value.
 * `secure:` values are left out: the command cannot decrypt them (the program validates them at
 * `pulumi up`), and it never edits them. Keys the program would not read (`namespaceProblem`) are
 * refused, naming them: read as the program reads them, the stack would be all defaults and their errors.
 */
export function rawConfig(doc: YAML.Document, file: string, project: string): Record<string, unknown> {
    const config = contentOf(doc, file).config;
    const problem = namespaceProblem(Object.keys(config), project);
    if (problem !== undefined) throw new UsageError(`${file}: ${problem}`);
    // Entries, not assignments: `<project>:__proto__` is a key like any other (refused as unknown), not a prototype.
    return Object.fromEntries(
        Object.entries(config)
            .filter(([k, v]) => k.startsWith(`${project}:`) && !(isMapping(v) && "secure" in v))
            .map(([k, v]) => [k.slice(project.length + 1), typeof v === "string" ? decodeConfigValue(v) : v]),
    );
}

function parseDocument(text: string, file: string): YAML.Document {
    const doc = YAML.parseDocument(text);
    if (doc.errors.length > 0) throw new UsageError(`${file} is not valid YAML: ${doc.errors[0].message}`);
    return doc;
}

function validated(project: string, stack: string, doc: YAML.Document, file: string): StackConfig {
    const v = validateStackConfig(project, stack, rawConfig(doc, file, project));
    if (!v.ok) throw new UsageError(`${file}: ${v.message}`);
    return v.config;
}

/** At most `MAX_STACK_FILE_BYTES` of a file; more is a UsageError (a link to /dev/zero included: nothing is read past the cap). */
function readBounded(file: string, expected: string): string {
    const fd = fs.openSync(file, "r");
    try {
        const buf = Buffer.alloc(MAX_STACK_FILE_BYTES + 1);
        let n = 0;
        for (;;) {
            const got = fs.readSync(fd, buf, n, buf.length - n, null);
            n += got;
            if (got === 0 || n === buf.length) break;
        }
        if (n > MAX_STACK_FILE_BYTES) throw new UsageError(`${file} is larger than ${MAX_STACK_FILE_BYTES} bytes: ${expected}, a few kilobytes`);
        return buf.toString("utf8", 0, n);
    } finally {
        fs.closeSync(fd);
    }
}

/**
 * A project file's text (the stack file or Pulumi.yaml), `expected` saying what it holds; one that is
 * missing (`missing()` says so), a directory or unreadable is a UsageError saying which.
 */
function readProjectFile(file: string, expected: string, missing: () => string): string {
    try {
        return readBounded(file, expected);
    } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") {
            const link = fs.lstatSync(file, { throwIfNoEntry: false })?.isSymbolicLink() ? fs.readlinkSync(file) : undefined;
            if (link !== undefined) throw new UsageError(`${file} is a symbolic link to ${link}, which does not exist`);
            throw new UsageError(missing());
        }
        const problem = systemProblem(e, `cannot read ${file}`);
        if (problem === undefined) throw e;
        throw new UsageError(problem);
    }
}

const readStackFile = (root: string, file: string) =>
    readProjectFile(file, SHAPE, () => `no stack file ${path.basename(file)} in ${root} (stacks here: ${listStacks(root).join(", ") || "none"})`);

/**
 * The project's name: `name:` of the Pulumi.yaml in `root`, as Pulumi allows it (`PROJECT_NAME`).
 * A file that is missing, unreadable, not YAML, or without such a name is a UsageError: the keys'
 * prefix is never guessed, as a guess would read another project's keys or none (all defaults).
 */
export function readProject(root: string): string {
    const file = path.join(root, PROJECT_FILE);
    const why = `its name: is the prefix of the stack file's keys, <name>:<key>`;
    const text = readProjectFile(file, `${PROJECT_FILE} holds the project's name and runtime`, () => `no ${PROJECT_FILE} in ${root}: run the command in the project's directory (${why})`);
    const js = toJs(parseDocument(text, file), file);
    const name = isMapping(js) ? js.name : undefined;
    if (typeof name === "string" && PROJECT_NAME.test(name)) return name;
    const found = !isMapping(js) ? `is ${shapeOf(js)}, not a mapping` : name === undefined ? "has no name" : `has name: ${shapeOf(name)}`;
    throw new UsageError(`${file} ${found}: it needs the project's name (a letter, '_' or '.', then letters, digits, '_', '.' or '-', at most 100), as ${why}`);
}

export function loadStack(root: string, stack: string): StackFile {
    if (!STACK_NAME.test(stack)) throw new UsageError(`--stack ${JSON.stringify(stack)} is not a stack name (letters, digits, '-', '_', '.')`);
    const file = path.join(root, `Pulumi.${stack}.yaml`);
    const text = readStackFile(root, file);
    const project = readProject(root);
    const doc = parseDocument(text, path.basename(file));
    return { stack, project, file, text, doc, config: validated(project, stack, doc, path.basename(file)) };
}

export function listStacks(root: string): string[] {
    return fs
        .readdirSync(root)
        .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
        .filter((s): s is string => s !== undefined)
        .sort();
}

/** One edit to the stack file: a key path below `<project>:` and its old and new values. */
export interface Edit {
    readonly key: readonly string[];
    readonly from: unknown;
    readonly to: unknown;
}

/** An edit's key as the stack file has it: `<project>:app.stable.image`. */
export const editKey = (project: string, e: Edit) => `${project}:${e.key.join(".")}`;

export const describeEdit = (project: string, e: Edit) => `${editKey(project, e)}: ${JSON.stringify(e.from ?? null)} → ${JSON.stringify(e.to)}`;

/** `next`: the stage after the current one; refuses past the last stage and without a canary. */
export function planNext({ config: c, project }: StackFile): Edit[] {
    if (!c.canaryDiffers) throw new UsageError(`the canary is the stable version (${c.app.stable.version}): set ${project}:app.canary.image to a new version before moving a stage`);
    const next = nextStage(c.weight, c.stages);
    if (next === undefined) throw new UsageError(`${project}:weight is ${c.weight}, the last stage: there is no next stage. Run \`promote\` to make the canary the new stable`);
    return [{ key: ["weight"], from: c.weight, to: next }];
}

/** `retry`: a new AnalysisRun for the current stage, after one that failed or was inconclusive. */
export function planRetry({ config: c, project }: StackFile): Edit[] {
    if (c.weight === 0) throw new UsageError(`${project}:weight is 0: there is no stage analysis to retry`);
    if (!c.analysis.enabled) throw new UsageError(`${project}:analysis.enabled is false: there is no stage analysis to retry`);
    return [{ key: ["analysis", "attempt"], from: c.analysis.attempt, to: c.analysis.attempt + 1 }];
}

/** `rollback`: weight 0; none at 0, where there is nothing to roll back (the command says so and writes nothing). */
export function planRollback({ config: c }: StackFile): Edit[] {
    return c.weight === 0 ? [] : [{ key: ["weight"], from: c.weight, to: 0 }];
}

/** Refuses a promotion from any weight but 100 (before anything, Prometheus included, is read). */
export function checkPromotable({ config: c, project }: StackFile): void {
    if (c.weight !== 100) throw new UsageError(`promote needs ${project}:weight 100 (it is ${c.weight}): move through the stages with \`next\` first`);
}

/**
 * `promote`, only from 100: stable takes the canary's image (and version, and its own variables), weight goes to 0. With
 * `digest` (the digest a tag's canary pods ran, rollout/pin.ts) both tracks get the tag pinned to it,
 * so the canary stays equal to stable and dev's promotion names the image by digest.
 */
export function planPromote(s: StackFile, digest?: string): Edit[] {
    checkPromotable(s);
    const { config: c, doc, project } = s;
    const stable = c.app.stable;
    const canary = c.app.canary;
    const image = digest === undefined ? canary.image : withDigest(canary.image, digest);
    const edits: Edit[] = [{ key: ["app", "stable", "image"], from: stable.image, to: image }];
    if (image !== canary.image) edits.push({ key: ["app", "canary", "image"], from: canary.image, to: image });
    // Keep an explicit stable version in step; without one, the version follows the image tag.
    const explicitVersion = doc.getIn(["config", `${project}:app`, "stable", "version"]) !== undefined || doc.getIn(["config", `${project}:app`, "canary", "version"]) !== undefined;
    if (explicitVersion) edits.push({ key: ["app", "stable", "version"], from: stable.version, to: canary.version });
    // The canary was judged with its own variables: stable takes them with its image, and the canary's
    // go (the next canary starts from the new stable's).
    if (canary.env.length > 0) {
        edits.push({ key: ["app", "stable", "env"], from: stable.env, to: canary.env }, { key: ["app", "canary", "env"], from: canary.env, to: [] });
    }
    edits.push({ key: ["weight"], from: c.weight, to: 0 });
    return edits;
}

/**
 * The keys whose values differ between two texts of a stack file: `config:` keys by name, other
 * top-level keys too; empty when only comments or layout differ. Undefined when either text is not
 * a stack file any more (then only the file is named).
 */
export function changedKeys(before: string, after: string): string[] | undefined {
    const contents = [before, after].map((text) => {
        try {
            return contentOf(parseDocument(text, "the stack file"), "the stack file");
        } catch {
            return undefined;
        }
    });
    const [a, b] = contents;
    if (a === undefined || b === undefined) return undefined;
    const differ = (x: Record<string, unknown>, y: Record<string, unknown>) =>
        [...new Set([...Object.keys(x), ...Object.keys(y)])].filter((k) => !Object.hasOwn(x, k) || !Object.hasOwn(y, k) || JSON.stringify(x[k]) !== JSON.stringify(y[k]));
    const { config: ca, ...ta } = a;
    const { config: cb, ...tb } = b;
    return [...differ(ca, cb), ...differ(ta, tb)];
}

/**
 * Refuses to write over a stack file that is no longer the text `s` was read from: `rollout run`
 * reads the file, analyses for up to its --timeout, and would otherwise write back what it read,
 * losing a PR merged or an edit made meanwhile. Checked right before the write.
 */
function refuseIfChanged(s: StackFile): void {
    const name = path.basename(s.file);
    const now = readStackFile(path.dirname(s.file), s.file);
    if (now === s.text) return;
    const keys = changedKeys(s.text, now);
    const what = keys === undefined ? "it is no longer a stack file this command reads" : keys.length === 0 ? "its comments or layout" : keys.join(", ");
    throw new UsageError(`${name} changed since it was read (${what}): nothing written, so the change stays; run the command again on the file as it is now`);
}

/**
 * Applies edits to a copy of the document, validates the result, and writes it atomically, unless the
 * file changed since it was read; with `dryRun`, everything but the write (`--dry-run`: the same
 * refusals, the file untouched). No edits write nothing.
 */
export function writeEdits(s: StackFile, edits: readonly Edit[], dryRun = false): StackFile {
    const doc = parseDocument(String(s.doc), path.basename(s.file));
    for (const e of edits) {
        const [head, ...rest] = e.key;
        doc.setIn(["config", `${s.project}:${head}`, ...rest], e.to);
    }
    const config = validated(s.project, s.stack, doc, path.basename(s.file));
    const text = String(doc);
    refuseIfChanged(s);
    if (dryRun || edits.length === 0) return { ...s, text, doc, config };
    const tmp = `${s.file}.${process.pid}.tmp`;
    try {
        fs.writeFileSync(tmp, text);
        fs.renameSync(tmp, s.file);
    } catch (e) {
        fs.rmSync(tmp, { force: true });
        const problem = systemProblem(e, `cannot write ${s.file}`);
        if (problem === undefined) throw e;
        throw new UsageError(`${problem}; the stack file is unchanged`);
    }
    return { ...s, text, doc, config };
}
