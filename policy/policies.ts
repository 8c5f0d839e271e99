/**
 * The CrossGuard policies, as plain data: `policy/index.ts` wraps them in a PolicyPack, and tests
 * import this module and call `validateResource` directly, without starting the pack's gRPC server.
 *
 * Each policy reads the resource's inputs as the engine sends them to the analyzer. Type tokens are
 * matched as strings so the pack does not have to load the AWS and Kubernetes SDKs.
 */
import type { ReportViolation, ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { isPinned } from "../stacks/images";
import { TLS12_POLICY_PREFIXES } from "../stacks/schema";

export const TYPES = {
    listenerRule: "aws:lb/listenerRule:ListenerRule",
    listener: "aws:lb/listener:Listener",
    httpRoute: "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute",
    deployment: "kubernetes:apps/v1:Deployment",
    /** Every kind whose pod template the program may write (the load test runs as Jobs). */
    workloads: ["kubernetes:apps/v1:Deployment", "kubernetes:batch/v1:Job", "kubernetes:apps/v1:StatefulSet", "kubernetes:apps/v1:DaemonSet"],
    secret: "kubernetes:core/v1:Secret",
    prometheusRule: "kubernetes:monitoring.coreos.com/v1:PrometheusRule",
    helmRelease: "kubernetes:helm.sh/v3:Release",
    helmCharts: ["kubernetes:helm.sh/v3:Chart", "kubernetes:helm.sh/v4:Chart"],
} as const;

type Validate = (props: Record<string, any>, report: (message: string) => void, args: ResourceValidationArgs) => void;

/** A mandatory policy that looks at resources of the given type tokens only. */
function forTypes(name: string, description: string, types: readonly string[], validate: Validate): ResourceValidationPolicy {
    return {
        name,
        description,
        enforcementLevel: "mandatory",
        validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
            if (types.includes(args.type)) validate(args.props, (m) => reportViolation(m), args);
        },
    };
}

/** The stack a resource belongs to, from its URN (`urn:pulumi:<stack>::<project>::...`). */
export function stackOfUrn(urn: string): string {
    return urn.split("::")[0]?.replace(/^urn:pulumi:/, "") ?? "";
}

/** AWS accepts target group weights 0..999; our routing says they are percentages that sum to 100. */
export const albRuleWeights = forTypes(
    "alb-rule-weights-sum-to-100",
    "ALB weighted forward actions use integer weights in 0..999 that sum to 100.",
    [TYPES.listenerRule, TYPES.listener],
    (props, report) => {
        const actions: any[] = props.actions ?? props.defaultActions ?? [];
        for (const action of actions) {
            const groups: any[] | undefined = action?.forward?.targetGroups;
            if (!groups) continue;
            const weights = groups.map((g) => g.weight ?? 1);
            const bad = weights.filter((w) => !Number.isInteger(w) || w < 0 || w > 999);
            if (bad.length > 0) report(`target group weights must be integers in 0..999; got ${JSON.stringify(weights)}`);
            const sum = weights.reduce((a, b) => a + b, 0);
            if (sum !== 100) report(`target group weights must sum to 100; got ${weights.join(" + ")} = ${sum}`);
        }
    },
);

/** The Gateway API allows backend weights 0..1,000,000; our routing says a split's weights are percentages that sum to 100. */
export const httpRouteWeights = forTypes(
    "httproute-weights-sum-to-100",
    "HTTPRoute rules that split traffic between backends use integer weights that sum to 100.",
    [TYPES.httpRoute],
    (props, report) => {
        const rules: any[] = props.spec?.rules ?? [];
        rules.forEach((rule, i) => {
            const refs: any[] = rule?.backendRefs ?? [];
            // One backend takes all of the rule's traffic whatever its weight: nothing is split.
            if (refs.length < 2) return;
            const weights = refs.map((r) => r.weight ?? 1);
            if (weights.some((w) => !Number.isInteger(w) || w < 0)) report(`rule ${i}: backend weights must be whole numbers of 0 or more; got ${JSON.stringify(weights)}`);
            const sum = weights.reduce((a, b) => a + b, 0);
            if (sum !== 100) report(`rule ${i}: backend weights must sum to 100; got ${weights.join(" + ")} = ${sum}`);
        });
    },
);

/** A workload's init and app containers (a Deployment's, a Job's: both under spec.template.spec). */
function containersOf(props: Record<string, any>): any[] {
    const pod = props.spec?.template?.spec ?? {};
    return [...(pod.initContainers ?? []), ...(pod.containers ?? [])];
}

/** Why each field is needed: the restricted Pod Security Standard, probes for safe rollouts, limits for noisy neighbours. */
function containerProblems(c: any, pod: any): string[] {
    const problems: string[] = [];
    const sc = c.securityContext ?? {};
    const podSc = pod.securityContext ?? {};
    if (!c.readinessProbe) problems.push("no readinessProbe");
    if (!c.livenessProbe) problems.push("no livenessProbe");
    if (!c.resources?.limits?.cpu || !c.resources?.limits?.memory) problems.push("no cpu and memory limits");
    if (sc.allowPrivilegeEscalation !== false) problems.push("allowPrivilegeEscalation is not false");
    if ((sc.runAsNonRoot ?? podSc.runAsNonRoot) !== true) problems.push("runAsNonRoot is not true");
    if (!(sc.capabilities?.drop ?? []).includes("ALL")) problems.push("capabilities do not drop ALL");
    const seccomp = sc.seccompProfile?.type ?? podSc.seccompProfile?.type;
    if (seccomp !== "RuntimeDefault" && seccomp !== "Localhost") problems.push("seccompProfile is not RuntimeDefault or Localhost");
    if (sc.privileged === true) problems.push("privileged");
    if ((c.ports ?? []).some((p: any) => p?.hostPort !== undefined && p.hostPort !== 0)) problems.push("a hostPort");
    return problems;
}

/**
 * The volume kinds the restricted Pod Security level admits (kubernetes pod-security-admission
 * policy/check_restrictedVolumes.go); the stack config takes fewer (no csi or ephemeral).
 */
const RESTRICTED_VOLUME_KINDS = ["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"];

/** What the restricted level refuses of the pod itself: host namespaces (check_hostNamespaces.go) and other volume kinds. */
function podProblems(pod: any): string[] {
    const problems = ["hostNetwork", "hostPID", "hostIPC"].filter((k) => pod[k] === true);
    for (const v of pod.volumes ?? []) {
        const kinds = Object.keys(v ?? {}).filter((k) => k !== "name" && v[k] !== undefined && v[k] !== null);
        const refused = kinds.filter((k) => !RESTRICTED_VOLUME_KINDS.includes(k));
        if (refused.length > 0) problems.push(`volume ${v.name} is ${refused.join(", ")}, not one of ${RESTRICTED_VOLUME_KINDS.join(", ")}`);
    }
    return problems;
}

export const deploymentHardening = forTypes(
    "deployment-probes-limits-restricted",
    "Deployments' containers have readiness and liveness probes, cpu and memory limits, and the restricted security context; their pods no host namespaces, host ports or volume kinds the restricted level refuses.",
    [TYPES.deployment],
    (props, report) => {
        const pod = podProblems(props.spec?.template?.spec ?? {});
        if (pod.length > 0) report(`pod: ${pod.join(", ")}`);
        for (const c of containersOf(props)) {
            const problems = containerProblems(c, props.spec?.template?.spec ?? {});
            if (problems.length > 0) report(`container ${c.name}: ${problems.join(", ")}`);
        }
    },
);

/**
 * Prod must run exactly the bytes dev tested: every container of every workload (the app's tracks, the
 * judge, the load test's Jobs) by a sha256 digest, since a tag, even a version tag, can be pushed again.
 * The stacks this applies to come from the policy config `prodStacks` (default `["prod"]`). Images inside
 * Helm releases are the charts' own, pinned by the chart's exact version (`helm-chart-version-pinned`).
 */
export const prodImagesPinned: ResourceValidationPolicy = {
    name: "prod-images-pinned",
    description: "Every container image of a prod stack's workloads is pinned by a sha256 digest.",
    enforcementLevel: "mandatory",
    configSchema: { properties: { prodStacks: { type: "array", items: { type: "string" }, default: ["prod"] } } },
    validateResource: (args, reportViolation) => {
        if (!(TYPES.workloads as readonly string[]).includes(args.type)) return;
        const prodStacks = args.getConfig<{ prodStacks?: string[] }>().prodStacks ?? ["prod"];
        if (!prodStacks.includes(stackOfUrn(args.urn))) return;
        for (const c of containersOf(args.props)) {
            if (typeof c.image !== "string" || !isPinned(c.image)) reportViolation(`container ${c.name}: image ${c.image} is not pinned by digest; in prod use <repository>[:tag]@sha256:<64 hex digits>`);
        }
    },
};

export const albListenersHttps = forTypes(
    "alb-listeners-https-tls12",
    "ALB listeners are HTTPS with a TLS 1.2+ security policy; HTTP listeners only redirect to HTTPS.",
    [TYPES.listener],
    (props, report) => {
        if (props.protocol === "HTTPS") {
            const policy: string | undefined = props.sslPolicy;
            if (!policy || !TLS12_POLICY_PREFIXES.some((p) => policy.startsWith(p))) {
                report(`HTTPS listener sslPolicy ${policy ?? "(unset: AWS picks a policy that allows TLS 1.0)"} is not TLS 1.2+ (${TLS12_POLICY_PREFIXES.join(", ")})`);
            }
            return;
        }
        if (props.protocol === "HTTP") {
            const actions: any[] = props.defaultActions ?? [];
            const redirectsOnly = actions.length > 0 && actions.every((a) => a.type === "redirect" && a.redirect?.protocol === "HTTPS");
            if (!redirectsOnly) report("HTTP listener must only redirect to HTTPS");
            return;
        }
        report(`listener protocol ${props.protocol ?? "(unset)"} is not HTTPS, or HTTP redirecting to HTTPS`);
    },
);

/**
 * The plain-text (non-`secure:`) string values of a stack file's config, at any depth. Policies see
 * secrets already decrypted (pulumi/pulumi-policy#241: secretness is not visible to a policy), so a
 * Secret built from plain-text config is recognised by its value matching one of these.
 */
export function plaintextConfigValues(stackFileText: string): string[] {
    const values: string[] = [];
    const walk = (v: unknown): void => {
        if (typeof v === "string") values.push(v);
        else if (Array.isArray(v)) v.forEach(walk);
        else if (v && typeof v === "object" && !("secure" in v)) Object.values(v).forEach(walk);
    };
    walk(YAML.parse(stackFileText)?.config ?? {});
    return values;
}

/** Values too short or too common to be credentials (weights, booleans, `admin`) are not compared. */
const MIN_SECRET_LENGTH = 8;

/** Every stack file's plain-text config values, from the project directory (the pack lives in `policy/` beside them). */
export function projectPlaintextConfig(projectDir = path.resolve(__dirname, "..")): string[] {
    return fs
        .readdirSync(projectDir)
        .filter((f) => /^Pulumi\.[^.]+\.ya?ml$/.test(f))
        .flatMap((f) => plaintextConfigValues(fs.readFileSync(path.join(projectDir, f), "utf8")));
}

function secretValues(props: Record<string, any>): [string, string][] {
    const decoded = Object.entries<string>(props.data ?? {}).map(([k, v]): [string, string] => [k, Buffer.from(String(v), "base64").toString("utf8")]);
    return [...decoded, ...Object.entries<string>(props.stringData ?? {}).map(([k, v]): [string, string] => [k, String(v)])];
}

export function noPlaintextConfigSecrets(plaintext: readonly string[]): ResourceValidationPolicy {
    const known = new Set(plaintext.filter((v) => v.length >= MIN_SECRET_LENGTH));
    return forTypes(
        "no-secret-from-plaintext-config",
        "Kubernetes Secrets are not built from plain-text stack config: set credentials with `pulumi config set --secret`.",
        [TYPES.secret],
        (props, report) => {
            for (const [key, value] of secretValues(props)) {
                // The key names the leak; the value is never echoed into the report.
                if (known.has(value)) report(`Secret key ${key} holds a plain-text stack config value; set it with \`pulumi config set --secret\``);
            }
        },
    );
}

export const alertsLabelled = forTypes(
    "alerts-severity-and-runbook",
    "Every alert rule has a severity label and a runbook_url annotation.",
    [TYPES.prometheusRule],
    (props, report) => {
        for (const group of props.spec?.groups ?? []) {
            for (const rule of group.rules ?? []) {
                if (!rule.alert) continue;
                if (!rule.labels?.severity) report(`alert ${rule.alert} (group ${group.name}) has no severity label`);
                if (!rule.annotations?.runbook_url) report(`alert ${rule.alert} (group ${group.name}) has no runbook_url annotation`);
            }
        }
    },
);

/** An exact chart version: `1.2.3` or `v1.2.3`, optionally with a pre-release; never a range. */
const EXACT_VERSION = /^v?\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

export const helmChartsPinned = forTypes(
    "helm-chart-version-pinned",
    "Every Helm release and chart pins an exact chart version.",
    [TYPES.helmRelease, ...TYPES.helmCharts],
    (props, report) => {
        const version: unknown = props.version;
        if (typeof version !== "string" || !EXACT_VERSION.test(version)) report(`Helm chart ${props.chart ?? "(unnamed)"} version ${JSON.stringify(version ?? null)} is not an exact version`);
    },
);

/** All policies of the pack, with the stack files' plain-text config read from `projectDir`. */
export function canaryPolicies(projectDir?: string): ResourceValidationPolicy[] {
    return [albRuleWeights, httpRouteWeights, deploymentHardening, prodImagesPinned, albListenersHttps, noPlaintextConfigSecrets(projectPlaintextConfig(projectDir)), alertsLabelled, helmChartsPinned];
}
