/**
 * Runs the real program (index.ts) under `pulumi.runtime.setMocks` with a stack's real
 * `Pulumi.<stack>.yaml` config, and records every resource it registers: type, name, inputs,
 * parent and dependencies, as the engine would receive them.
 */
import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { deepMerge } from "../stacks/merge";
import { versionOf } from "../stacks/images";
import type { StageEvidence, VersionEvidence } from "../domain/evidence";
import type { AppliedStage } from "../domain/stages";
import { setClock } from "../stacks/clock";
import type { StageRun } from "../stacks/previous";

export const ROOT = path.resolve(__dirname, "..");
export const STACKS = ["dev", "prod"] as const;
export type StackName = (typeof STACKS)[number];

export interface Registered {
    readonly type: string;
    readonly name: string;
    readonly urn: string;
    readonly parent: string;
    readonly custom: boolean;
    /** Inputs as values (secrets unwrapped), for assertions on what the provider gets. */
    readonly inputs: Record<string, any>;
    /** Inputs as sent, secrets still wrapped in Pulumi's secret envelope. */
    readonly wireInputs: Record<string, any>;
    /** URNs of the resources it depends on (dependsOn and the resources its inputs came from). */
    readonly dependencies: string[];
    /** The provider reference (`<urn>::<id>`) a custom resource uses; for a component, its providers map. */
    readonly provider: string;
    readonly providers: Record<string, string>;
}

export interface RunResult {
    readonly resources: Registered[];
    readonly outputs: Record<string, any>;
    /** The names of the stack outputs that are secrets (`pulumi stack output` shows them as [secret]). */
    readonly secretOutputs: string[];
    readonly error?: Error;
}

export interface RunOptions {
    readonly stack: StackName;
    /** The running stack's name when it is not its stack file's: a wave's `prod-us` runs with prod's file. */
    readonly stackName?: string;
    /** Config overrides, keyed without the `canary:` prefix, merged over the stack file. */
    readonly config?: Record<string, unknown>;
    /** The config to merge over instead of the stack file's (for tests that remove a key). */
    readonly baseConfig?: Record<string, unknown>;
    /** What the stack's last `pulumi up` exported; default: the weight being applied, so any stage is a stay. */
    readonly previous?: AppliedStage | null;
    /** The evidence outputs the stack's last `pulumi up` exported (`canaryEvidence`, `promotionEvidence`). */
    readonly previousEvidence?: { readonly canaryEvidence?: VersionEvidence; readonly promotionEvidence?: VersionEvidence };
    /** The `canaryImage` output the stack's last `pulumi up` exported. */
    readonly previousCanaryImage?: string;
    /** The `promotionGates` output the stack's last `pulumi up` exported. */
    readonly previousGates?: readonly string[];
    readonly organization?: string;
    /** Outputs of other stacks, by fully qualified name, for StackReferences (e.g. the dev stack prod checks). */
    readonly stackOutputs?: Record<string, Record<string, unknown>>;
    /** Config keys (without prefix) set as secrets, as `pulumi config set --secret` does. */
    readonly secretKeys?: string[];
    /** The status the stage's AnalysisRun ends with (default: Successful, the stage passed). */
    readonly analysisStatus?: Record<string, unknown>;
    /** A resource (by name) whose create or update fails, as a Deployment that never becomes ready. */
    readonly failResource?: string;
    /** The `stageRun` output the stack's last `pulumi up` exported: the run it applied and its `since`. */
    readonly previousRun?: StageRun;
    /** The program's clock (default `PROGRAM_NOW`): the `since` of a new stage's run. */
    readonly now?: Date;
    /**
     * Which program runs: the service stack's (index.ts, project canary; the default), the platform stack's
     * (platform/index.ts), the example team's (examples/own-service), or another by its module's absolute path
     * (`npm run bench:program` runs the one-Deployment program under the same mocks).
     */
    readonly program?: keyof typeof PROGRAMS | { readonly module: string; readonly project: string };
}

/** The programs the harness runs: their module and Pulumi project name. */
const PROGRAMS = {
    service: { module: "../index", project: "canary" },
    platform: { module: "../platform/index", project: "platform" },
    // A team's program over the built package (`import ... from "canary"`): test/library.test.ts builds it first.
    example: { module: "../examples/own-service/index", project: "checkout" },
} as const;

/** The time every suite's program runs at, unless a test gives another: two runs of the program agree. */
export const PROGRAM_NOW = new Date("2026-12-06T21:00:00Z");


export const FAKE_VPC_CIDR = "10.20.0.0/16";

/** Pulumi's wire envelope for a secret value: `{ [SECRET_SIG_KEY]: SECRET_SIG, value }`. */
export const SECRET_SIG_KEY = pulumi.runtime.specialSigKey;
export const SECRET_SIG = pulumi.runtime.specialSecretSig;

export function isSecretEnvelope(v: unknown): v is { value: unknown } {
    return typeof v === "object" && v !== null && (v as Record<string, unknown>)[SECRET_SIG_KEY] === SECRET_SIG;
}

function unwrapSecrets(v: any): any {
    if (isSecretEnvelope(v)) return unwrapSecrets(v.value);
    if (Array.isArray(v)) return v.map(unwrapSecrets);
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unwrapSecrets(x)]));
    return v;
}

/** The `config:` map of `Pulumi.<stack>.yaml`, keys without the project prefix. */
export function stackFileConfig(stack: string): Record<string, unknown> {
    const doc = YAML.parse(fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8")) ?? {};
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries<unknown>(doc.config ?? {})) {
        out[k.startsWith("canary:") ? k.slice("canary:".length) : `@${k}`] = v;
    }
    return out;
}

/** Puts the repository's Pulumi.yaml into `dir`: `rollout` reads the project's name, its keys' prefix, from it. */
export function copyProjectFile(dir: string): void {
    fs.copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
}

/** A digest the tests make up (one hex digit, 64 times): a stand-in, never a real image's. */
export const testDigest = (hex: string) => `sha256:${hex.repeat(64)}`;

/** The 6.8.0 image dev judged and promoted, by digest (`DEV_EVIDENCE.image`), and as a stack file pins it. */
export const PROMOTED_IMAGE = `ghcr.io/stefanprodan/podinfo@${testDigest("d")}`;
export const PROMOTED_PIN = `ghcr.io/stefanprodan/podinfo:6.8.0@${testDigest("d")}`;

/**
 * prod's stack file ships without a canary, so its first `up` runs stable only (docs/promotion.md,
 * "prod's first run"). The suites run prod as its canary PR makes it: with the image dev promoted, by digest.
 */
export const PROD_CANARY_PR = { app: { canary: { image: PROMOTED_PIN } } };

/** The config a suite runs a stack with: the stack file, and for prod its canary PR. */
export function suiteConfig(stack: StackName): Record<string, unknown> {
    const file = stackFileConfig(stack);
    return stack === "prod" ? (deepMerge(file, PROD_CANARY_PR) as Record<string, unknown>) : file;
}

function toConfigMap(config: Record<string, unknown>, project: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(config)) {
        const key = k.startsWith("@") ? k.slice(1) : `${project}:${k}`;
        out[key] = typeof v === "string" ? v : JSON.stringify(v);
    }
    return out;
}

/** Awaits an Output's value: tests assert on values, never inside `apply`. */
export function promiseOf<T>(o: pulumi.Input<T>): Promise<T> {
    return new Promise((resolve) => pulumi.output(o).apply((v) => resolve(v as T)));
}

/**
 * An Output's value, or its error: a failed resource or a throwing `apply` rejects (where `promiseOf`
 * would wait for ever), as the engine sees a program that fails.
 */
function settled<T>(o: pulumi.Output<T>): Promise<T> {
    return (o as unknown as { promise(): Promise<T> }).promise();
}

async function resolveDeep(v: any): Promise<any> {
    if (pulumi.Output.isInstance(v)) return resolveDeep(await settled(v));
    if (Array.isArray(v)) return Promise.all(v.map(resolveDeep));
    if (v && typeof v === "object") {
        const entries = await Promise.all(Object.entries(v).map(async ([k, x]) => [k, await resolveDeep(x)] as const));
        return Object.fromEntries(entries);
    }
    return v;
}

/** A stage the judge passed on `canaryRequests` requests, as its analysis recorded it. */
export const promotedStage = (canaryRequests: number): StageEvidence => ({ decision: "PROMOTE", canaryRequests, stableRequests: 20 * canaryRequests, llr: { errors: -3.2, latency: -3.1 }, carried: {}, alpha: 0.009 });

/** A run that passed, as Argo Rollouts reports it: Successful on the judge's PROMOTE. */
export const PASSED_RUN = {
    phase: "Successful",
    message: "",
    metricResults: [{ name: "judge", phase: "Successful", count: 1, measurements: [{ phase: "Successful", value: JSON.stringify({ ...promotedStage(2400), reasons: ["errors: no regression"] }) }] }],
};

/** A run that passed on the judge's answer after two inconclusive asks: what Argo keeps in the run's status (the web metric's value as JSON). */
export const passedOn = (canaryRequests: number) => ({
    phase: "Successful",
    message: "",
    metricResults: [{ name: "judge", phase: "Successful", count: 3, inconclusive: 2, measurements: [{ value: JSON.stringify({ ...promotedStage(canaryRequests), reasons: ["errors: no regression"] }) }] }],
});

/** dev's evidence for 6.8.0, pinned by digest: a PROMOTE at each compared stage (5, 25, 50) on enough requests. */
export const DEV_EVIDENCE: VersionEvidence = { version: "6.8.0", image: PROMOTED_IMAGE, plan: [5, 25, 50, 100], stages: { "5": promotedStage(2400), "25": promotedStage(3100), "50": promotedStage(5200) } };

/** The dev stack's outputs prod reads by default: it promoted the canary the stack files name, with its evidence. */
export const DEV_STACK = "organization/canary/dev";
const DEFAULT_STACK_OUTPUTS = { [DEV_STACK]: { promotedVersion: "6.8.0", promotionEvidence: DEV_EVIDENCE } };

/** Fake provider state: echo the inputs, and add the outputs AWS would compute. */
function fakeState(
    type: string,
    name: string,
    inputs: Record<string, any>,
    previous: Record<string, unknown> | null,
    stacks: Record<string, Record<string, unknown>>,
    analysisStatus: Record<string, unknown>,
): Record<string, any> {
    if (type === "kubernetes:argoproj.io/v1alpha1:AnalysisRun") {
        return { ...inputs, status: analysisStatus };
    }
    if (type === "pulumi:pulumi:StackReference") {
        const outputs = name === "applied-stage" ? (previous ?? {}) : (stacks[inputs.name] ?? {});
        return { ...inputs, outputs, secretOutputNames: [] };
    }
    if (type === "random:index/randomPassword:RandomPassword") {
        return { ...inputs, result: "generated-password-".padEnd(inputs.length, "x") };
    }
    if (type === "aws:acm/certificate:Certificate") {
        const record = { domainName: inputs.domainName, resourceRecordName: `_x.${inputs.domainName}.`, resourceRecordType: "CNAME", resourceRecordValue: "_y.acm-validations.aws." };
        return { ...inputs, arn: `arn:aws:acm:eu-west-1:123456789012:certificate/${name}`, domainValidationOptions: [record] };
    }
    if (type === "aws:route53/record:Record") {
        return { ...inputs, fqdn: inputs.name };
    }
    if (type.startsWith("aws:")) {
        return { ...inputs, arn: `arn:aws:fake:eu-west-1:123456789012:${name}`, dnsName: `${name}.elb.example`, id: `${name}-id` };
    }
    return inputs;
}

export async function runProgram(opts: RunOptions): Promise<RunResult> {
    const entry = typeof opts.program === "object" ? opts.program : PROGRAMS[opts.program ?? "service"];
    const config = deepMerge(opts.baseConfig ?? suiteConfig(opts.stack), opts.config ?? {}) as Record<string, unknown>;
    const weight = typeof config.weight === "number" ? config.weight : 0;
    const canary = (config.app as any)?.canary ?? {};
    const canaryVersion = canary.version ?? (canary.image ? versionOf(canary.image) : undefined);
    const applied: AppliedStage | null = opts.previous === undefined ? { stage: weight, canaryVersion } : opts.previous;
    // The outputs the program reads back: an applied stage's entry is the `stageEntry` output.
    const previous = applied === null ? null : { stage: applied.stage, canaryVersion: applied.canaryVersion, ...(applied.entry !== undefined ? { stageEntry: applied.entry } : {}), ...opts.previousEvidence, ...(opts.previousGates ? { promotionGates: opts.previousGates } : {}), ...(opts.previousRun ? { stageRun: opts.previousRun } : {}), ...(opts.previousCanaryImage ? { canaryImage: opts.previousCanaryImage } : {}) };

    const resources: Registered[] = [];
    await pulumi.runtime.setMocks(
        {
            newResource: (args) => {
                if (args.name === opts.failResource) throw new Error(`${args.name} failed to become ready`);
                return { id: `${args.name}-id`, state: fakeState(args.type, args.name, args.inputs, previous, opts.stackOutputs ?? DEFAULT_STACK_OUTPUTS, opts.analysisStatus ?? PASSED_RUN) };
            },
            call: (args) => {
                if (args.token === "aws:ec2/getVpc:getVpc") return { id: args.inputs.id, cidrBlock: FAKE_VPC_CIDR };
                throw new Error(`unexpected invoke ${args.token}`);
            },
        },
        entry.project,
        opts.stackName ?? opts.stack,
        false,
        opts.organization ?? "organization",
    );
    // Wrap the mock monitor to see what the engine would: parent and dependencies as well as inputs.
    const monitor = pulumi.runtime.getMonitor() as any;
    for (const method of ["registerResource", "readResource"]) {
        const original = monitor[method].bind(monitor);
        monitor[method] = (req: any, callback: (err: any, res: any) => void) => {
            original(req, (err: any, res: any) => {
                if (!err) {
                    const wireInputs = pulumi.runtime.deserializeProperties(method === "readResource" ? req.getProperties() : req.getObject());
                    resources.push({
                        type: req.getType(),
                        name: req.getName(),
                        urn: res.getUrn(),
                        parent: req.getParent(),
                        custom: method === "readResource" || req.getCustom(),
                        inputs: unwrapSecrets(wireInputs),
                        wireInputs,
                        dependencies: req.getDependenciesList(),
                        provider: req.getProvider(),
                        providers: method === "readResource" ? {} : Object.fromEntries(req.getProvidersMap().toArray()),
                    });
                }
                callback(err, res);
            });
        };
    }
    setClock(() => opts.now ?? PROGRAM_NOW);
    pulumi.runtime.setAllConfig(toConfigMap(config, entry.project), (opts.secretKeys ?? []).map((k) => `${entry.project}:${k}`));

    // The program's module exports its async entry point, or (a program of top-level statements) its
    // outputs: Pulumi's Node.js host calls the one and takes the other (@pulumi/pulumi cmd/run/run.js).
    const program: Record<string, any> | (() => Promise<Record<string, any>>) = require(entry.module);
    let outputs: Record<string, any> = {};
    const secretOutputs: string[] = [];
    let error: Error | undefined;
    try {
        const exported = typeof program === "function" ? await program() : program;
        for (const [k, v] of Object.entries(exported)) {
            if (pulumi.Output.isInstance(v) && (await (v as unknown as { isSecret: Promise<boolean> }).isSecret)) secretOutputs.push(k);
        }
        outputs = await resolveDeep(exported);
    } catch (e) {
        error = e as Error;
    }
    await pulumi.runtime.disconnect();
    return { resources, outputs, secretOutputs, error };
}

/** Each resource's inputs, dependencies and parent by URN: what the engine would diff. */
function inputsByUrn(resources: readonly Registered[]): Map<string, string> {
    return new Map(resources.map((r) => [r.urn, JSON.stringify({ inputs: r.inputs, deps: [...r.dependencies].sort(), parent: r.parent })]));
}

/** `type name` of the resources that differ between two runs, or exist in one only, sorted. */
export function changedBetween(a: readonly Registered[], b: readonly Registered[]): string[] {
    const before = inputsByUrn(a);
    const after = inputsByUrn(b);
    const named = new Map([...a, ...b].map((r) => [r.urn, r]));
    return [...new Set([...before.keys(), ...after.keys()])]
        .filter((u) => before.get(u) !== after.get(u))
        .map((u) => `${named.get(u)?.type} ${named.get(u)?.name}`)
        .sort();
}

/** Resources of one type token, e.g. `aws:lb/listenerRule:ListenerRule`. */
export function ofType(resources: readonly Registered[], type: string): Registered[] {
    return resources.filter((r) => r.type === type);
}

export function byName(resources: readonly Registered[], name: string): Registered {
    const found = resources.find((r) => r.name === name);
    if (!found) throw new Error(`no resource named ${name}; have ${resources.map((r) => r.name).join(", ")}`);
    return found;
}

/**
 * A pod that uses every key of `canary:app`'s pod (docs/configuration.md), as a real service's stack
 * file might: merged over a stack's config, it must validate and reach both tracks' Deployments.
 */
export const EVERY_POD_FIELD = {
    command: ["/app/server"],
    args: ["--config", "/etc/app/app.yaml"],
    env: [
        { name: "LOG_LEVEL", value: "info" },
        { name: "DB_PASSWORD", valueFrom: { secretKeyRef: { name: "app-db", key: "password" } } },
        { name: "REGION", valueFrom: { configMapKeyRef: { name: "app-settings", key: "region", optional: true } } },
    ],
    envFrom: [{ secretRef: { name: "app-api-keys" } }, { configMapRef: { name: "app-flags" }, prefix: "FLAG_" }],
    ports: [
        { name: "admin", containerPort: 9000 },
        { name: "grpc", containerPort: 9090, protocol: "TCP" },
    ],
    probes: {
        readiness: { path: "/ready", port: "http", successThreshold: 2 },
        liveness: { path: "/live", port: "admin", periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 5 },
        startup: { path: "/started", port: 9000, failureThreshold: 60 },
    },
    serviceAccountName: "app-runtime",
    imagePullSecrets: ["registry-credentials"],
    volumes: [
        { name: "config", configMap: { name: "app-config", items: [{ key: "app.yaml", path: "app.yaml" }] } },
        { name: "tls", secret: { secretName: "app-tls", defaultMode: 0o440 } },
        { name: "cache", emptyDir: { medium: "Memory", sizeLimit: "64Mi" } },
        { name: "state", persistentVolumeClaim: { claimName: "app-state" } },
        { name: "podinfo-fields", downwardAPI: { items: [{ path: "labels", fieldRef: { fieldPath: "metadata.labels" } }, { path: "mem", resourceFieldRef: { resource: "limits.memory", divisor: "1Mi" } }] } },
        {
            name: "bundle",
            projected: {
                sources: [
                    { secret: { name: "app-tls", items: [{ key: "ca.crt", path: "ca.crt" }] } },
                    { configMap: { name: "app-config" } },
                    { downwardAPI: { items: [{ path: "name", fieldRef: { fieldPath: "metadata.name" } }] } },
                    { serviceAccountToken: { path: "token", audience: "vault", expirationSeconds: 3600 } },
                ],
            },
        },
    ],
    volumeMounts: [
        { name: "config", mountPath: "/etc/app", readOnly: true },
        { name: "tls", mountPath: "/etc/tls", readOnly: true },
        { name: "cache", mountPath: "/var/cache/app" },
        { name: "state", mountPath: "/var/lib/app", subPath: "data" },
        { name: "podinfo-fields", mountPath: "/etc/podinfo" },
        { name: "bundle", mountPath: "/var/run/bundle", readOnly: true },
    ],
    labels: { team: "payments", "example.com/tier": "backend" },
    annotations: { "example.com/owner": "payments@example.com", "kubectl.kubernetes.io/default-container": "podinfo" },
};
