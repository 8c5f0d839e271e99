/**
 * docs/configuration.md, generated from the stack config schema (stacks/schema.ts) as JSON Schema
 * (zod's own `z.toJSONSchema`, not its internals) and the per-environment defaults
 * (stacks/environments.ts): every key, its type, its default in each environment and its description. `npm run docs:config` writes the page; test/docs.test.ts fails
 * when the page in the repository is not what this renders.
 */
import * as fs from "fs";
import * as path from "path";
import { z } from "zod";
import { deepMerge } from "../stacks/merge";
import { valueAt } from "../stacks/validate";
import { ENVIRONMENTS, ENVIRONMENT_DEFAULTS, Environment } from "../stacks/environments";
import { SECRET_KEYS, stackConfigSchema } from "../stacks/schema";
import { platformConfigSchema } from "../stacks/platform";

export const PAGE = path.join(__dirname, "..", "docs", "configuration.md");
export const COMMAND = "npm run docs:config";

/** A key's default in one environment: a value, or why there is none. */
export type Default = { value: unknown } | { none: "unset" | "required" | `required in ${string}` };

export interface ConfigKey {
    /** Below `canary:`, e.g. `["app", "canary", "version"]`; `"[]"` stands for every entry of a list. */
    readonly path: readonly string[];
    readonly type: string;
    readonly description: string;
    readonly defaults: Readonly<Record<Environment, Default>>;
}

/**
 * A node of the JSON Schema `z.toJSONSchema` makes (draft 2020-12, the input side: what a stack file
 * holds, so a key with a default is not required): the keywords this page reads.
 */
export interface JsonSchema {
    readonly type?: string | readonly string[];
    readonly properties?: Readonly<Record<string, JsonSchema>>;
    readonly required?: readonly string[];
    readonly additionalProperties?: JsonSchema | boolean;
    readonly propertyNames?: JsonSchema;
    readonly items?: JsonSchema;
    readonly anyOf?: readonly JsonSchema[];
    readonly enum?: readonly unknown[];
    readonly default?: unknown;
    readonly description?: string;
    readonly format?: string;
    readonly minimum?: number;
    readonly maximum?: number;
    readonly exclusiveMinimum?: number;
    readonly exclusiveMaximum?: number;
    readonly minItems?: number;
    /** The schema's own refusal for a value (stacks/schema.ts `text`, `checked`), which the YAML language server shows. */
    readonly errorMessage?: string;
}

/** The JSON Schema of a zod schema, as editors and this page read it: the input side, every schema inline. */
export const jsonSchemaOf = (schema: z.ZodType): JsonSchema => z.toJSONSchema(schema, { io: "input", reused: "inline" }) as JsonSchema;

/** A key's node and what its parent says of it: whether the key may be left out. */
interface Keyed {
    readonly node: JsonSchema;
    /** Left out, it stays unset: not required and without a default. */
    readonly optional: boolean;
}

/** zod's whole numbers carry the safe-integer range as bounds; those say nothing to a user. */
const SAFE = Number.MAX_SAFE_INTEGER;

function numberType(n: JsonSchema): string {
    const bound = (sign: string, v: number | undefined) => (v === undefined || Math.abs(v) >= SAFE ? [] : [`${sign} ${v}`]);
    const bounds = [...bound("≥", n.minimum), ...bound(">", n.exclusiveMinimum), ...bound("≤", n.maximum), ...bound("<", n.exclusiveMaximum)];
    return [n.type === "integer" ? "whole number" : "number", ...bounds].join(", ");
}

/** The type in a few words: what a user writes in the stack file. */
export function typeOf(n: JsonSchema): string {
    if (n.anyOf) return n.anyOf.map(typeOf).join(" or ");
    if (Array.isArray(n.type)) return n.type.map((t) => typeOf({ ...n, type: t })).join(" or ");
    if (n.enum) return `one of ${n.enum.map((v) => `\`${String(v)}\``).join(", ")}`;
    switch (n.type) {
        case "boolean":
            return "boolean";
        case "number":
        case "integer":
            return numberType(n);
        case "string":
            return n.format === "uri" ? "URL" : n.format === "email" ? "e-mail address" : "string";
        case "array": {
            const least = n.minItems;
            return `list of ${plural(typeOf(n.items ?? {}))}${least !== undefined && least > 1 ? `, at least ${least}` : ""}`;
        }
        case "object":
            // A record: its keys' and values' schemas; an object: its properties.
            return n.properties === undefined && typeof n.additionalProperties === "object" ? `map of ${typeOf(n.propertyNames ?? { type: "string" })} to ${typeOf(n.additionalProperties)}` : "object";
        default:
            throw new Error(`configReference: no words for the JSON Schema ${JSON.stringify(n).slice(0, 200)}`);
    }
}

/** What a string must look like, in the words its refusal uses (an element's, for a list). */
export function allowedOf(n: JsonSchema): string | undefined {
    if (n.type === "array") return allowedOf(n.items ?? {});
    return n.type === "string" ? n.errorMessage : undefined;
}

function plural(type: string): string {
    const [head, ...rest] = type.split(", ");
    const words = head === "whole number" ? "whole numbers" : head === "object" ? "objects" : head === "string" ? "strings" : `${head}s`;
    return [words, ...rest].join(", ");
}

/** What the program starts from in an environment before the stack file: as stacks/config.ts merges them. */
export function environmentValues(environment: Environment): unknown {
    return deepMerge(ENVIRONMENT_DEFAULTS[environment], { environment });
}

interface Walk {
    /** The nearest optional object or list above, whose own keys are then required only inside it. */
    readonly within?: string;
    /** The keys' prefix: the service stack's project (`canary`) or the platform stack's (`platform`). */
    readonly project?: string;
}

const keyName = (keys: readonly string[], project = "canary") => `${project}:${keys.join(".").replace(/\.\[\]/g, "[]")}`;

function defaultIn(environment: Environment, keys: readonly string[], k: Keyed, walk: Walk): Default {
    const value = keys.includes("[]") ? undefined : valueAt(environmentValues(environment), keys);
    if (value !== undefined) return { value };
    if (k.node.default !== undefined) return { value: k.node.default };
    if (k.optional) return { none: "unset" };
    return { none: walk.within === undefined ? "required" : `required in ${walk.within}` };
}

/** Every key of the schema below `keys`, each object before the keys inside it, in the schema's order. */
export function configKeys(schema: JsonSchema = jsonSchemaOf(stackConfigSchema), keys: readonly string[] = [], walk: Walk = {}, optional = false): ConfigKey[] {
    const k = { node: schema, optional };
    const type = typeOf(schema);
    // An object's own row has no default: the keys below it have theirs.
    const defaults = Object.fromEntries(ENVIRONMENTS.map((e) => [e, type === "object" ? { none: "unset" } : defaultIn(e, keys, k, walk)])) as Record<Environment, Default>;
    const allowed = allowedOf(schema);
    const description = [schema.description ?? "", allowed === undefined ? "" : `${allowed[0].toUpperCase()}${allowed.slice(1)}.`].filter((t) => t !== "").join(" ");
    // A list's entries have no row of their own: the list's row says what they are, their keys what is in them.
    const here: ConfigKey[] = keys.length === 0 || keys[keys.length - 1] === "[]" ? [] : [{ path: keys, type, description, defaults }];
    const { project } = walk;
    const within = optional && keys.length > 0 ? `\`${keyName(keys, project)}\`` : walk.within;
    if (schema.properties !== undefined) {
        const required = new Set(schema.required ?? []);
        return [...here, ...Object.entries(schema.properties).flatMap(([name, s]) => configKeys(s, [...keys, name], { within, project }, !required.has(name) && s.default === undefined))];
    }
    if (schema.type === "array" && schema.items?.properties !== undefined) {
        return [...here, ...configKeys(schema.items, [...keys, "[]"], { within: `each entry of \`${keyName(keys, project)}\``, project })];
    }
    return here;
}

const cell = (text: string) => text.replace(/\|/g, "\\|");

function showDefault(d: Default, type: string): string {
    if ("none" in d) return type === "object" ? "" : d.none;
    const v = d.value;
    return `\`${typeof v === "string" ? v : JSON.stringify(v).replace(/,/g, ", ").replace(/:/g, ": ")}\``;
}

function row(k: ConfigKey, project = "canary"): string {
    const secret = SECRET_KEYS.has(k.path.join(".")) ? "secret " : "";
    const defaults = ENVIRONMENTS.map((e) => cell(showDefault(k.defaults[e], k.type)));
    return `| \`${keyName(k.path, project)}\` | ${cell(secret + k.type)} | ${defaults.join(" | ")} | ${cell(k.description)} |`;
}

const HEADER = [`| key | type | ${ENVIRONMENTS.join(" | ")} | what it does |`, `|---|---|${ENVIRONMENTS.map(() => "---|").join("")}---|`];

/** Headings the way GitHub makes their anchors. */
export function anchor(heading: string): string {
    return heading
        .toLowerCase()
        .replace(/[^\p{L}\p{N}\s_-]/gu, "")
        .replace(/\s/g, "-");
}

const INTRO = `# Configuration reference

<!-- Generated by \`${COMMAND}\` from stacks/schema.ts and stacks/environments.ts: edit those, then run it. -->

Every key of the stack config, as you set it in \`Pulumi.<stack>.yaml\` or with \`npx pulumi config set
--path <key> <value> --stack <stack>\` (a nested key such as \`canary:app.canary.image\` is the \`image\` of
the \`canary\` object under the \`canary:app\` key). The columns \`dev\` and \`prod\` are each environment's
default, which a stack file overrides key by key (objects merge, lists and scalars replace). A stack
named \`dev\` or \`prod\` is that environment; any other stack sets \`canary:environment\`.

\`canary\` is this project's name (\`name:\` in \`Pulumi.yaml\`): a key's prefix is the project's name, so in
a project named \`checkout\` the weight is \`checkout:weight\` (the program reads \`<project>:\` keys, and
\`rollout\` reads the name from the \`Pulumi.yaml\` beside the stack file). No environment has a default
app: \`app.name\`, \`app.port\`, \`app.healthPaths\`, \`app.host\` and \`app.stable.image\` are the stack's
own, a missing one is refused by its name, and \`app.namespace\` defaults to \`app.name\`. The sample app,
podinfo, is set in full in this repository's \`Pulumi.dev.yaml\` and \`Pulumi.prod.yaml\`.

The program validates the whole config once, at start, with this schema, and refuses an unknown key
(a misspelt key would otherwise be ignored). A bad value fails before any resource is registered, with
a line per bad key naming the key, the value and what is allowed:

\`\`\`
Invalid stack config:
  canary:weight = 7: must be 0 or one of canary:stages [5, 25, 50, 100]
  canary:app.stable.replicas = -1: must be 0 or more
\`\`\`

Rules across keys (a canary image while \`canary:weight\` is above 0, the ALB's VPC and subnets with
\`router: alb\`, ...) are checked in the same run; a key's description says when it is required. The
\`rollout\` command reads the stack file through the same schema.

Durations take the syntax of what reads them: Go's (\`time.ParseDuration\`: \`30s\`, \`1h30m\`, \`1.5h\`)
for the keys Argo Rollouts, Tempo and the judge read, Prometheus's (\`30d\`, \`1d12h\`: whole numbers,
largest unit first) for \`monitoring.retention\` and \`logging.lokiRetention\`, which Prometheus and Loki
read. None goes into a PromQL range selector.

**In an editor.** The same script writes JSON Schemas of the stack files: \`schema/stack.schema.json\`
(a service's \`Pulumi.<stack>.yaml\`) and \`schema/platform-stack.schema.json\` (a platform stack's),
shipped in the package. An editor with the YAML language server (VS Code's YAML extension, or any LSP
client of yaml-language-server) checks a stack file as you type (types, enums, patterns, misspelt
nested keys, with this page's words for a refused value) when its first line names the schema:

\`\`\`yaml
# yaml-language-server: $schema=node_modules/canary/schema/stack.schema.json
config:
  checkout:weight: 5
\`\`\`

(this repository's stack files name \`schema/stack.schema.json\` by a relative path). Keys are matched
as \`<project>:<key>\` for any project name; provider keys pass unchecked, and rules across keys and
required keys are the program's (the environment's defaults fill what a file leaves out).

Besides \`canary:*\`, a stack reads the Kubernetes provider's \`kubernetes:context\`,
\`kubernetes:kubeconfig\` and \`kubernetes:renderYamlToDirectory\` (the one explicit provider every
Kubernetes object uses; without them dev deploys to the current kube context, and prod refuses to
start), and with the ALB \`aws:region\`.`;

const BRING_YOUR_OWN = `## Bring your own add-ons

Each add-on the stack installs has a switch; with it off the program installs nothing of that add-on
and creates only its own objects against the CRDs the cluster has:

\`\`\`yaml
config:
  canary:monitoring:
    install: false
    namespace: observability                                # where the existing Grafana and Prometheus live
    prometheusUrl: http://prometheus-operated.observability:9090
    ruleLabels: { release: kube-prometheus-stack }          # what its ruleSelector needs
    serviceMonitorLabels: { release: kube-prometheus-stack } # what its serviceMonitorSelector needs
  canary:analysis: { installController: false }             # Argo Rollouts v1.8+ is running
  canary:tls: { installCertManager: false }                 # cert-manager is running
  canary:logging: { enabled: false }                        # logs are shipped already
  canary:tracing: { enabled: false }                        # traces go elsewhere (or nowhere)
  canary:gateway:                                           # a Gateway is running
    install: false
    namespace: gateway-system                               # where its proxies run (the NetworkPolicy admits it)
    parentRef: { name: shared, namespace: gateway-system, sectionName: https }
\`\`\`

What remains: the app's namespace, Deployments, Services, ServiceMonitor and PrometheusRules (with the
given labels), the dashboard ConfigMap (in \`monitoring.namespace\`), the judge and the stage's
AnalysisRun (querying \`monitoring.prometheusUrl\`), the ClusterIssuer and Certificate, and the router's
objects.`;

/** The platform stack's keys (platform/, project `platform`): each add-on's, as a service stack has them, and its own. */
export const platformKeys = (): ConfigKey[] => configKeys(jsonSchemaOf(platformConfigSchema), [], { project: "platform" });

const PLATFORM = `## The platform stack (\`platform:*\`)

A cluster's platform stack (the program in platform/, project \`platform\`) installs the add-ons its
services share, once; each service's stack names it with \`canary:platform\` and reads its outputs
instead of installing them ([adopt.md](adopt.md#a-platform-and-its-services)). Its keys are a service
stack's add-on keys, with the same defaults, and the shared Gateway's:`;

/** The page: the top-level keys first, then one section per top-level object. */
export function renderConfigurationReference(keys: readonly ConfigKey[] = configKeys()): string {
    const top = keys.filter((k) => k.path.length === 1 && k.type !== "object");
    const objects = keys.filter((k) => k.path.length === 1 && k.type === "object");
    const sections = [
        { title: "Top-level keys", description: "The stage, the environment and the secrets.", rows: top },
        ...objects.map((o) => ({ title: `\`${keyName(o.path)}\``, description: o.description, rows: keys.filter((k) => k.path.length > 1 && k.path[0] === o.path[0]) })),
    ];
    const contents = sections.map((s) => `- [${s.title}](#${anchor(s.title)})`);
    const body = sections.map((s) => [`## ${s.title}`, "", s.description, "", ...HEADER, ...s.rows.map((k) => row(k))].join("\n"));
    const platform = [PLATFORM, "", ...HEADER, ...platformKeys().map((k) => row(k, "platform"))].join("\n");
    return [INTRO, contents.join("\n"), ...body, BRING_YOUR_OWN, platform].join("\n\n") + "\n";
}

/**
 * The JSON Schemas of the stack files, for editors: a service's `Pulumi.<stack>.yaml` and the
 * platform's, committed under schema/ and shipped in the package (`files`), named by a YAML language
 * server modeline at the top of each stack file.
 */
export const STACK_SCHEMAS = {
    service: { file: path.join(__dirname, "..", "schema", "stack.schema.json"), schema: stackConfigSchema, what: "a service's stack (CanaryService)" },
    platform: { file: path.join(__dirname, "..", "schema", "platform-stack.schema.json"), schema: platformConfigSchema, what: "a platform stack (CanaryPlatform)" },
} as const;

/** A key under any project's name: the project is the `name:` of the Pulumi.yaml beside the file (canary here, checkout in a team's program). */
const projectKey = (key: string) => `^[A-Za-z_.][A-Za-z0-9_.-]{0,99}:${key.replace(/[.]/g, "\\.")}$`;

/** Pulumi's ciphertext for a secret value (`pulumi config set --secret`), accepted at the schema's secret keys. */
const SECURE: JsonSchema & Record<string, unknown> = { type: "object", properties: { secure: { type: "string" } }, required: ["secure"], additionalProperties: false };

/**
 * A key's schema as a stack file may hold it. No key is required: environment defaults merge under
 * the file's values (stacks/environments.ts) and the program names a missing key; a secret key takes
 * a `secure:` value; a top-level number or boolean takes its JSON text too (`pulumi config set
 * canary:weight 25` writes "25", which the program reads as 25).
 */
function asInFile(node: JsonSchema, keys: readonly string[]): JsonSchema {
    const { required: _required, ...rest } = node as JsonSchema & { required?: unknown };
    const own: Record<string, unknown> = { ...rest };
    if (node.properties) own.properties = Object.fromEntries(Object.entries(node.properties).map(([k, v]) => [k, asInFile(v, [...keys, k])]));
    if (node.items) own.items = asInFile(node.items, [...keys, "[]"]);
    if (SECRET_KEYS.has(keys.join("."))) return { anyOf: [own, SECURE] } as JsonSchema;
    const text = keys.length === 1 ? (node.type === "boolean" ? "^(true|false)$" : node.type === "number" || node.type === "integer" ? "^-?[0-9]+(\\.[0-9]+)?$" : undefined) : undefined;
    return (text ? { anyOf: [own, { type: "string", pattern: text }] } : own) as JsonSchema;
}

export function renderStackSchema(kind: keyof typeof STACK_SCHEMAS): string {
    const { schema, what } = STACK_SCHEMAS[kind];
    const config = jsonSchemaOf(schema);
    const keys = Object.entries(config.properties ?? {}).map(([k, v]) => [projectKey(k), asInFile(v, [k])]);
    const doc = {
        $schema: "https://json-schema.org/draft/2020-12/schema",
        title: `Pulumi.<stack>.yaml of ${what}`,
        description: `Generated by \`${COMMAND}\` from stacks/schema.ts (z.toJSONSchema): keys are <project>:<key>, the project the name: of the Pulumi.yaml beside the file. Provider keys (kubernetes:context, aws:region) pass unchecked. docs/configuration.md says what each key does.`,
        type: "object",
        properties: {
            config: { type: "object", patternProperties: Object.fromEntries(keys), description: "The stack's configuration: <project>:<key> values." },
        },
        required: ["config"],
    };
    return `${JSON.stringify(doc, null, 2)}\n`;
}

if (require.main === module) {
    fs.writeFileSync(PAGE, renderConfigurationReference());
    console.log(`wrote ${path.relative(process.cwd(), PAGE)}: ${configKeys().length} keys`);
    for (const kind of Object.keys(STACK_SCHEMAS) as (keyof typeof STACK_SCHEMAS)[]) {
        fs.mkdirSync(path.dirname(STACK_SCHEMAS[kind].file), { recursive: true });
        fs.writeFileSync(STACK_SCHEMAS[kind].file, renderStackSchema(kind));
        console.log(`wrote ${path.relative(process.cwd(), STACK_SCHEMAS[kind].file)}`);
    }
}
