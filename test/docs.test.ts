/**
 * The docs as the code makes them: the configuration reference regenerated from the schema, every
 * schema key on it (enumerated by zod's own JSON Schema export, not by the generator), the defaults
 * it shows as the schema parses them, links that resolve, no page that points at the issue tracker,
 * and a README short enough to read.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { z } from "zod";
import Ajv2020 from "ajv/dist/2020";
import * as YAML from "yaml";
import { anchor, COMMAND, configKeys, environmentValues, PAGE, renderConfigurationReference, renderStackSchema, STACK_SCHEMAS } from "../scripts/configReference";
import { deepMerge } from "../stacks/merge";
import { valueAt } from "../stacks/validate";
import { stackConfigSchema } from "../stacks/schema";
import { ROOT } from "./harness";

const read = (file: string) => fs.readFileSync(path.join(ROOT, file), "utf8");

/** README.md and every page under docs/, as paths below the root. */
function pages(): string[] {
    const below = (dir: string): string[] =>
        fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? below(path.join(dir, e.name)) : e.name.endsWith(".md") ? [path.join(dir, e.name)] : []));
    return ["README.md", ...below("docs")];
}

/** Markdown outside fenced code blocks and inline code: what a reader sees as prose and links. */
const prose = (text: string) => text.replace(/^```[\s\S]*?^```/gm, "").replace(/`[^`\n]*`/g, "");

/** The anchors GitHub gives a page's headings, a repeated heading numbered from -1. */
function anchors(text: string): Set<string> {
    const seen = new Map<string, number>();
    const out = new Set<string>();
    for (const [, heading] of text.replace(/^```[\s\S]*?^```/gm, "").matchAll(/^#{1,6}\s+(.+?)\s*$/gm)) {
        const slug = anchor(heading);
        const n = seen.get(slug) ?? 0;
        seen.set(slug, n + 1);
        out.add(n === 0 ? slug : `${slug}-${n}`);
    }
    return out;
}

/** Every property path of a JSON Schema, lists' entries as `[]`. */
function jsonSchemaKeys(schema: Record<string, any>, prefix: string[] = []): string[][] {
    const props: Record<string, any> = schema.properties ?? {};
    const items = schema.type === "array" && schema.items?.type === "object" ? jsonSchemaKeys(schema.items, [...prefix, "[]"]) : [];
    return [...items, ...Object.entries(props).flatMap(([k, s]) => [[...prefix, k], ...jsonSchemaKeys(s, [...prefix, k])])];
}

describe("the stack files' JSON Schema (schema/*.schema.json), for editors", () => {
    /** The schema as an editor's validator reads it: ajv, draft 2020-12; errorMessage is the YAML language server's keyword. */
    const validator = (kind: keyof typeof STACK_SCHEMAS) => {
        const ajv = new Ajv2020({ allErrors: true, validateFormats: false });
        ajv.addKeyword("errorMessage");
        return ajv.compile(JSON.parse(fs.readFileSync(STACK_SCHEMAS[kind].file, "utf8")));
    };
    const STACKS = { service: ["Pulumi.dev.yaml", "Pulumi.prod.yaml", "examples/own-service/Pulumi.dev.yaml"], platform: ["platform/Pulumi.dev.yaml"] } as const;

    it(`is what \`${COMMAND}\` writes, and shipped in the package`, () => {
        for (const kind of Object.keys(STACK_SCHEMAS) as (keyof typeof STACK_SCHEMAS)[]) {
            assert.ok(fs.readFileSync(STACK_SCHEMAS[kind].file, "utf8") === renderStackSchema(kind), `${STACK_SCHEMAS[kind].file} is out of date: run \`${COMMAND}\` and commit it`);
        }
        assert.ok(JSON.parse(read("package.json")).files.includes("schema"));
    });

    it("validates the repository's stack files, each naming it in a YAML language-server modeline", () => {
        for (const [kind, files] of Object.entries(STACKS) as [keyof typeof STACK_SCHEMAS, readonly string[]][]) {
            const validate = validator(kind);
            for (const file of files) {
                const text = read(file);
                const named = /^# yaml-language-server: \$schema=(\S+)\n/.exec(text)?.[1];
                assert.strictEqual(named && path.resolve(ROOT, path.dirname(file), named), STACK_SCHEMAS[kind].file, `${file}: the modeline names ${named}`);
                assert.ok(validate(YAML.parse(text)), `${file}: ${JSON.stringify(validate.errors?.slice(0, 3))}`);
            }
        }
    });

    it("refuses a bad stack file: a value of the wrong type or form, an unknown nested key; takes a secret as secure: and a number as its text", () => {
        const validate = validator("service");
        const file = (config: Record<string, unknown>) => ({ config: { "canary:app": { name: "podinfo", port: 9898 }, ...config } });
        const refused = (config: Record<string, unknown>) => {
            assert.strictEqual(validate(file(config)), false, JSON.stringify(config));
            return JSON.stringify(validate.errors);
        };
        assert.match(refused({ "canary:weight": "a lot" }), /pattern|type/);
        assert.match(refused({ "canary:analysis": { interval: "1d" } }), /pattern/);
        assert.match(refused({ "canary:app": { name: "Pod Info" } }), /pattern/);
        assert.match(refused({ "canary:app": { name: "podinfo", prot: 9898 } }), /additionalProperties/);
        assert.match(refused({ "checkout:monitoring": { retention: "1.5d" } }), /pattern/);
        assert.match(refused({ "canary:grafanaAdminPassword": { secure: 1 } }), /type/);
        for (const ok of [{ "canary:weight": "25" }, { "canary:analysis": { interval: "1h30m", judge: { token: { secure: "AAABAC" } } } }, { "kubernetes:context": "kind-canary" }]) {
            assert.ok(validate(file(ok)), `${JSON.stringify(ok)}: ${JSON.stringify(validate.errors)}`);
        }
    });
});

describe("docs/configuration.md, generated from the schema", () => {
    it(`is what \`${COMMAND}\` writes`, () => {
        const page = fs.readFileSync(PAGE, "utf8");
        assert.ok(page === renderConfigurationReference(), `docs/configuration.md is out of date: run \`${COMMAND}\` and commit the page`);
    });

    it("names every key of the schema, each with its type and what it does", () => {
        const page = read("docs/configuration.md");
        const all = jsonSchemaKeys(z.toJSONSchema(stackConfigSchema, { io: "input" }) as Record<string, any>).filter((k) => k[k.length - 1] !== "[]");
        assert.ok(all.length > 100, `${all.length} keys`);
        const name = (k: string[]) => `canary:${k.join(".").replace(/\.\[\]/g, "[]")}`;
        // A top-level object is a section of its own; every other key a row.
        const missing = all.map(name).filter((k) => !page.includes(`\n| \`${k}\` |`) && !page.includes(`\n## \`${k}\`\n`));
        assert.deepStrictEqual(missing, []);
        const shown = configKeys();
        assert.deepStrictEqual(shown.map((k) => name([...k.path])).sort(), all.map(name).sort(), "the page's keys are the schema's");
        assert.deepStrictEqual(shown.filter((k) => k.description === "").map((k) => name([...k.path])), [], "keys without a description (.describe in stacks/schema.ts)");
    });

    it("shows each environment's defaults as the schema parses them", () => {
        // The environment's defaults alone, with stand-ins for the keys no environment has a default for: the app's own.
        const required = { app: { name: "app", port: 8080, probes: { readiness: { path: "/" }, liveness: { path: "/" } }, host: "app.example.com", stable: { image: "registry.example.com/app:1.0.0" } } };
        for (const env of ["dev", "prod"] as const) {
            const parsed = stackConfigSchema.parse(deepMerge(environmentValues(env), required));
            const shown = configKeys().filter((k) => !k.path.includes("[]"));
            for (const k of shown) {
                // An optional object's keys have their defaults once it is set; while it is not, none.
                if (k.type === "object" || valueAt(parsed, k.path.slice(0, -1)) === undefined) continue;
                const d = k.defaults[env];
                const actual = valueAt(parsed, k.path);
                if ("value" in d) assert.deepStrictEqual(actual, d.value, `${env}: canary:${k.path.join(".")}`);
                else if (d.none !== "required") assert.strictEqual(actual, undefined, `${env}: canary:${k.path.join(".")} is ${d.none}`);
            }
        }
    });
});

describe("docs pages and the README", () => {
    it("refer to no issue by number", () => {
        for (const file of pages()) {
            const hits = read(file)
                .split("\n")
                .map((line, i) => ({ line, n: i + 1 }))
                .filter(({ line }) => /\bissues?\s*#?\d+/i.test(line));
            assert.deepStrictEqual(hits.map((h) => `${file}:${h.n}: ${h.line.trim()}`), []);
        }
    });

    it("link only to files (and headings) that exist", () => {
        const broken: string[] = [];
        for (const file of pages()) {
            for (const [, target] of prose(read(file)).matchAll(/\]\(([^)\s]+)\)/g)) {
                if (/^[a-z]+:/.test(target)) continue;
                const [rel, hash] = target.split("#");
                const to = rel === "" ? file : path.join(path.dirname(file), rel);
                if (!fs.existsSync(path.join(ROOT, to))) broken.push(`${file}: ${target} (no ${to})`);
                else if (hash !== undefined && to.endsWith(".md") && !anchors(read(to)).has(hash)) broken.push(`${file}: ${target} (no heading #${hash} in ${to})`);
            }
        }
        assert.deepStrictEqual(broken, []);
    });

    it("the README: at most 250 lines, none over 200 characters, and the test commands CI runs", () => {
        const readme = read("README.md");
        const lines = readme.split("\n");
        assert.ok(lines.length <= 250, `README.md has ${lines.length} lines`);
        assert.deepStrictEqual(lines.map((l, i) => ({ l, n: i + 1 })).filter(({ l }) => l.length > 200).map(({ n }) => n), [], "lines over 200 characters");
        // .ci/run runs the README's test commands: each as a line of its own in a code block.
        const commands = [...read(".ci/run").matchAll(/^lane (.+)$/gm)].map((m) => m[1]);
        assert.ok(commands.length >= 3, commands.join(", "));
        const blockLines = new Set([...readme.matchAll(/^```sh\n([\s\S]*?)^```/gm)].flatMap((m) => m[1].split("\n").map((l) => l.replace(/\s+#.*$/, "").trim())));
        assert.deepStrictEqual(commands.filter((c) => !blockLines.has(c)), [], "commands .ci/run runs that the README does not show");
    });

    it("every docs page is linked from the README", () => {
        const readme = read("README.md");
        const unlinked = pages()
            .filter((p) => p.startsWith("docs") && path.dirname(p) === "docs")
            .filter((p) => !readme.includes(`](${p})`) && !readme.includes(`](${p}#`));
        assert.deepStrictEqual(unlinked, []);
    });
});
