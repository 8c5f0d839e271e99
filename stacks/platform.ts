/**
 * A platform and its services: one `platform` stack per cluster installs the shared add-ons once (the
 * monitoring stack, log shipping, Tempo, Argo Rollouts, Envoy Gateway with a shared Gateway), and each
 * service's stack names it (`canary:platform`) and reads what it needs from its outputs by
 * StackReference, instead of installing them again. Pure: the platform's config schema, its outputs,
 * and what those outputs set in a service's config.
 */
import { z } from "zod";
import { DNS_LABEL } from "../domain/promql";
import { ENVIRONMENT_DEFAULTS, ENVIRONMENTS, type Environment } from "./environments";
import { parseConfig, stackConfigSchema, type ConfigIssue } from "./schema";
import { deepMerge } from "./merge";
import { environmentOf, formatIssues, valueAt } from "./validate";

const shared = stackConfigSchema.shape;

/** The Gateway the platform installs for every service's HTTPRoute: plain HTTP, routes from any namespace. */
const platformGateway = z
    .strictObject({
        install: z.boolean().default(true).describe("Install Envoy Gateway (Helm), an EnvoyProxy, a GatewayClass and the shared Gateway every service's HTTPRoute attaches to."),
        namespace: shared.gateway.unwrap().shape.namespace,
        className: shared.gateway.unwrap().shape.className,
        serviceType: shared.gateway.unwrap().shape.serviceType,
        name: z
            .string({ error: "must be a DNS label" })
            .regex(DNS_LABEL, "must be a DNS label")
            .default("shared")
            .describe("The shared Gateway's name, in the gateway namespace."),
    })
    .describe("The gateway router's shared data plane: services attach their HTTPRoutes to its Gateway (plain HTTP on port 80).");

export const platformConfigSchema = z.strictObject({
    environment: shared.environment,
    monitoring: shared.monitoring,
    alertmanager: shared.alertmanager,
    logging: shared.logging,
    tracing: shared.tracing,
    rollouts: z
        .strictObject({ install: z.boolean().default(true).describe("Install the Argo Rollouts controller (Helm), which runs every service's stage analysis.") })
        .prefault({})
        .describe("Argo Rollouts, cluster-wide."),
    gateway: platformGateway.prefault({}),
    slackWebhookUrl: shared.slackWebhookUrl,
    pagerdutyRoutingKey: shared.pagerdutyRoutingKey,
    grafanaAdminPassword: shared.grafanaAdminPassword,
});

export type PlatformConfig = z.infer<typeof platformConfigSchema>;
/** The platform's config as a program gives it (`CanaryPlatform`): what the environment's defaults fill in may be left out. */
export type PlatformConfigInput = Partial<z.input<typeof platformConfigSchema>>;

/** The platform's defaults per environment: the monitoring and tracing ones the all-in-one stack has. */
function platformDefaults(environment: Environment): Record<string, unknown> {
    const d = ENVIRONMENT_DEFAULTS[environment];
    return { monitoring: d.monitoring, tracing: d.tracing };
}

/** Validates a platform stack's config; every bad key in one message, as a service stack's. */
export function validatePlatformConfig(project: string, stack: string, raw: Record<string, unknown>): { ok: true; config: PlatformConfig } | { ok: false; message: string } {
    const environment = environmentOf(stack, raw);
    if (!(ENVIRONMENTS as readonly unknown[]).includes(environment)) {
        const message = `must be one of ${ENVIRONMENTS.join(", ")} (stack "${stack}" is not an environment name, so set it)`;
        return { ok: false, message: formatIssues(project, raw, [{ path: ["environment"], message }]) };
    }
    const values = deepMerge(platformDefaults(environment as Environment), { ...raw, environment });
    const parsed = parseConfig(platformConfigSchema, values);
    if (!parsed.ok) return { ok: false, message: formatIssues(project, values, parsed.issues) };
    if (!parsed.data.monitoring.install && parsed.data.monitoring.prometheusUrl === undefined) {
        const issue = { path: ["monitoring", "prometheusUrl"], message: `is required when ${project}:monitoring.install is false: the Prometheus every service's analysis queries` };
        return { ok: false, message: formatIssues(project, values, [issue]) };
    }
    return { ok: true, config: parsed.data };
}

/** A route's reference to the shared Gateway. */
export interface GatewayRef {
    readonly name: string;
    readonly namespace: string;
    readonly sectionName?: string;
}

/**
 * What a platform stack exports for its services, by output name: where their metrics go and are read
 * from, and which add-ons it runs. A service's config takes these values instead of installing its own.
 */
export interface PlatformOutputs {
    /** The Prometheus the services' judges query (in-cluster URL). */
    readonly prometheusUrl: string;
    /** The monitoring namespace: the dashboards go there, Tempo runs there, the NetworkPolicies admit it. */
    readonly monitoringNamespace: string;
    /** Labels the platform's Prometheus selects ServiceMonitors and PrometheusRules by. */
    readonly serviceMonitorLabels: Record<string, string>;
    readonly ruleLabels: Record<string, string>;
    /** Whether it ships every container's logs (Fluent Bit): then a service installs no log shipping. */
    readonly logging: boolean;
    /** Whether Tempo runs in the monitoring namespace: then a service's pods export traces to it. */
    readonly tracing: boolean;
    /** Whether it runs the Argo Rollouts controller (without it, the cluster runs its own). */
    readonly rollouts: boolean;
    /** The shared Gateway, its data plane's namespace and its entry as pods reach it; absent without one. */
    readonly gateway?: { readonly parentRef: GatewayRef; readonly namespace: string; readonly entry: string };
}

export const PLATFORM_OUTPUT_NAMES = ["prometheusUrl", "monitoringNamespace", "serviceMonitorLabels", "ruleLabels", "logging", "tracing", "rollouts", "gateway"] as const satisfies readonly (keyof PlatformOutputs)[];

/**
 * The service's keys that its platform decides: set by the platform's outputs, refused in the service's
 * own config (two owners of one key would each believe it theirs). The gateway's only when the platform
 * has a shared Gateway: without one, a service names its own (`gateway.parentRef`).
 */
export function platformKeys(p: Pick<PlatformOutputs, "gateway">): string[][] {
    const always = [
        ["monitoring", "install"],
        ["monitoring", "namespace"],
        ["monitoring", "prometheusUrl"],
        ["monitoring", "serviceMonitorLabels"],
        ["monitoring", "ruleLabels"],
        ["logging"],
        ["tracing", "enabled"],
        ["tracing", "install"],
        ["analysis", "installController"],
    ];
    return p.gateway ? [...always, ["gateway", "install"], ["gateway", "parentRef"], ["gateway", "namespace"]] : always;
}

/** The service's own keys that the platform decides, each as a refusal naming it. */
export function platformConflicts(raw: Record<string, unknown>, platform: string, p: Pick<PlatformOutputs, "gateway">): ConfigIssue[] {
    return platformKeys(p)
        .filter((path) => valueAt(raw, path) !== undefined)
        .map((path) => ({ path, message: `is the platform's: the platform stack ${platform} sets it (its outputs); remove it from this stack` }));
}

/** What a problem with the platform's outputs is, or undefined when they are what `CanaryPlatform` exports. */
export function platformOutputsProblem(v: Record<string, unknown>): string | undefined {
    const missing = (["prometheusUrl", "monitoringNamespace"] as const).filter((k) => typeof v[k] !== "string");
    if (missing.length > 0) return `has no ${missing.join(" or ")} output: run \`pulumi up\` on the platform stack first`;
    for (const k of ["logging", "tracing", "rollouts"] as const) if (typeof v[k] !== "boolean") return `has no boolean ${k} output: is it a platform stack (program platform/)?`;
    return undefined;
}

/** The service's config values its platform sets, from the platform's outputs. */
export function platformValues(p: PlatformOutputs): Record<string, unknown> {
    return {
        monitoring: { install: false, namespace: p.monitoringNamespace, prometheusUrl: p.prometheusUrl, serviceMonitorLabels: p.serviceMonitorLabels, ruleLabels: p.ruleLabels },
        // Fluent Bit ships every container's logs, the service's too; no second log shipper.
        logging: { enabled: false },
        tracing: { install: false, enabled: p.tracing },
        // Argo Rollouts is the cluster's, installed by the platform or already there: a service never installs it.
        analysis: { installController: false },
        ...(p.gateway ? { gateway: { install: false, parentRef: p.gateway.parentRef, namespace: p.gateway.namespace }, loadTest: { target: p.gateway.entry } } : {}),
    };
}

/**
 * A service's raw config over its platform's values: the platform's keys are refused in the service's
 * own config (`platformConflicts`), so the service's keys win only where they are its own (a
 * `loadTest.target` of its choosing).
 */
export function withPlatform(raw: Record<string, unknown>, p: PlatformOutputs): Record<string, unknown> {
    return deepMerge(platformValues(p), raw) as Record<string, unknown>;
}
