/**
 * docs/configuration.md, generated from the stack config schema (stacks/schema.ts) and the
 * per-environment defaults (stacks/environments.ts): every key, its type, its default in each
 * environment and its description. `npm run docs:config` writes the page; test/docs.test.ts fails
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

// The zod 4 definition fields this reads (zod/v4/core schemas.ts); zod is pinned in the lockfile.
interface Def {
    readonly type: string;
    readonly innerType?: z.ZodType;
    readonly defaultValue?: unknown;
    readonly shape?: Record<string, z.ZodType>;
    readonly element?: z.ZodType;
    readonly keyType?: z.ZodType;
    readonly valueType?: z.ZodType;
    readonly options?: readonly z.ZodType[];
    readonly entries?: Record<string, string>;
    readonly format?: string;
    readonly checks?: readonly { _zod: { def: CheckDef } }[];
}
interface CheckDef {
    readonly check: string;
    /** The message a refusal shows (zod keeps a given message as a function of the issue). */
    readonly error?: (issue: object) => unknown;
    readonly format?: string;
    readonly value?: number;
    readonly inclusive?: boolean;
    readonly minimum?: number;
}

const defOf = (s: z.ZodType): Def => s._zod.def as unknown as Def;

/** A schema without its wrappers, and what they said: optional, a default, a description. */
interface Unwrapped {
    readonly core: z.ZodType;
    readonly optional: boolean;
    readonly defaultValue?: { value: unknown };
    readonly description?: string;
}

function unwrap(schema: z.ZodType): Unwrapped {
    let s = schema;
    let optional = false;
    let defaultValue: { value: unknown } | undefined;
    let description: string | undefined;
    for (;;) {
        description ??= s.description;
        const d = defOf(s);
        if (d.type === "optional") optional = true;
        // A prefault is parsed (its keys' own defaults apply); a default is the value itself.
        else if (d.type === "default") defaultValue ??= { value: d.defaultValue };
        else if (d.type !== "prefault") return { core: s, optional, defaultValue, description };
        s = d.innerType as z.ZodType;
    }
}

const checksOf = (d: Def) => (d.checks ?? []).map((c) => c._zod.def);

function numberType(d: Def): string {
    const checks = checksOf(d);
    const whole = checks.some((c) => c.check === "number_format" && c.format === "safeint");
    const bounds = checks.flatMap((c) =>
        c.check === "greater_than" ? [`${c.inclusive ? "≥" : ">"} ${c.value}`] : c.check === "less_than" ? [`${c.inclusive ? "≤" : "<"} ${c.value}`] : [],
    );
    return [whole ? "whole number" : "number", ...bounds].join(", ");
}

/** The type in a few words: what a user writes in the stack file. */
export function typeOf(schema: z.ZodType): string {
    const d = defOf(unwrap(schema).core);
    switch (d.type) {
        case "boolean":
            return "boolean";
        case "number":
            return numberType(d);
        case "string":
            return d.format === "url" ? "URL" : d.format === "email" ? "e-mail address" : "string";
        case "enum":
            return `one of ${Object.values(d.entries ?? {}).map((v) => `\`${v}\``).join(", ")}`;
        case "array": {
            const least = checksOf(d).find((c) => c.check === "min_length")?.minimum;
            return `list of ${plural(typeOf(d.element as z.ZodType))}${least !== undefined && least > 1 ? `, at least ${least}` : ""}`;
        }
        case "record":
            return `map of ${typeOf(d.keyType as z.ZodType)} to ${typeOf(d.valueType as z.ZodType)}`;
        case "object":
            return "object";
        // A probe's port: a number or a name.
        case "union":
            return (d.options ?? []).map(typeOf).join(" or ");
        default:
            throw new Error(`configReference: no words for a zod ${d.type}`);
    }
}

/** What a string must look like, in the words its refusal uses: a value's pattern or rule (an element's, for a list). */
export function allowedOf(schema: z.ZodType): string | undefined {
    const d = defOf(unwrap(schema).core);
    if (d.type === "array") return allowedOf(d.element as z.ZodType);
    if (d.type !== "string") return undefined;
    const said = checksOf(d).find((c) => (c.check === "custom" || (c.check === "string_format" && c.format === "regex")) && typeof c.error?.({}) === "string");
    return said?.error?.({}) as string | undefined;
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

function defaultIn(environment: Environment, keys: readonly string[], u: Unwrapped, walk: Walk): Default {
    const value = keys.includes("[]") ? undefined : valueAt(environmentValues(environment), keys);
    if (value !== undefined) return { value };
    if (u.defaultValue !== undefined) return { value: u.defaultValue.value };
    if (u.optional) return { none: "unset" };
    return { none: walk.within === undefined ? "required" : `required in ${walk.within}` };
}

/** Every key of the schema below `keys`, each object before the keys inside it, in the schema's order. */
export function configKeys(schema: z.ZodType = stackConfigSchema, keys: readonly string[] = [], walk: Walk = {}): ConfigKey[] {
    const u = unwrap(schema);
    const d = defOf(u.core);
    const type = typeOf(schema);
    // An object's own row has no default: the keys below it have theirs.
    const defaults = Object.fromEntries(ENVIRONMENTS.map((e) => [e, type === "object" ? { none: "unset" } : defaultIn(e, keys, u, walk)])) as Record<Environment, Default>;
    const allowed = allowedOf(schema);
    const description = [u.description ?? "", allowed === undefined ? "" : `${allowed[0].toUpperCase()}${allowed.slice(1)}.`].filter((t) => t !== "").join(" ");
    // A list's entries have no row of their own: the list's row says what they are, their keys what is in them.
    const here: ConfigKey[] = keys.length === 0 || keys[keys.length - 1] === "[]" ? [] : [{ path: keys, type, description, defaults }];
    const { project } = walk;
    const within = u.optional && keys.length > 0 ? `\`${keyName(keys, project)}\`` : walk.within;
    if (d.type === "object") {
        return [...here, ...Object.entries(d.shape ?? {}).flatMap(([k, s]) => configKeys(s, [...keys, k], { within, project }))];
    }
    const element = d.element;
    if (d.type === "array" && element !== undefined && defOf(unwrap(element).core).type === "object") {
        return [...here, ...configKeys(element, [...keys, "[]"], { within: `each entry of \`${keyName(keys, project)}\``, project })];
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
export const platformKeys = (): ConfigKey[] => configKeys(platformConfigSchema, [], { project: "platform" });

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

if (require.main === module) {
    fs.writeFileSync(PAGE, renderConfigurationReference());
    console.log(`wrote ${path.relative(process.cwd(), PAGE)}: ${configKeys().length} keys`);
}
