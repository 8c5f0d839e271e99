/**
 * `CanaryPlatform`: the add-ons a cluster's services share, installed once by the cluster's platform
 * stack (program platform/): the monitoring stack, log shipping, Tempo, the Argo Rollouts controller and
 * Envoy Gateway with one shared Gateway. Its outputs are what each service's stack reads by
 * StackReference (`canary:platform`), instead of installing them again (docs/adopt.md).
 */
import * as pulumi from "@pulumi/pulumi";
import { argoRollouts } from "../components/delivery/progressiveDelivery";
import { envoyServiceName, installEnvoyGateway, LISTENER } from "../components/routing/gatewayRouting";
import { kubernetesProvider } from "../components/platform/kubernetesProvider";
import { labelledNamespace, LOGGING_NAMESPACE } from "../components/platform/namespaces";
import { Logging } from "../components/observability/logging";
import { MonitoringStack, prometheusUrl } from "../components/observability/monitoring";
import { Tracing } from "../components/observability/tracing";
import { checkClusterTarget, ClusterTarget } from "../stacks/cluster";
import { ConfigError } from "../stacks/config";
import { PlatformConfig, PlatformConfigInput, PlatformOutputs, validatePlatformConfig } from "../stacks/platform";
import { asSecret, type ServiceSecrets } from "./service";

export interface CanaryPlatformArgs {
    /** The platform's settings: the keys of the platform stack's config (docs/adopt.md) without the project's prefix. */
    readonly config: PlatformConfigInput;
    /** The cluster (the `kubernetes:*` keys); unset: the ambient kube context, refused for prod. */
    readonly cluster?: ClusterTarget;
    /** The monitoring stack's receivers and Grafana's login. */
    readonly secrets?: ServiceSecrets;
}

/** The shared Gateway's listener: plain HTTP on port 80, for routes from every namespace (each service's own). */
export const SHARED_LISTENERS = [{ name: LISTENER.http, protocol: "HTTP", port: 80, allowedRoutes: { namespaces: { from: "All" } } }];

/** What the platform exports for its services (`PlatformOutputs`), from its validated config. */
export function platformOutputs(c: PlatformConfig): PlatformOutputs {
    const installed = c.monitoring.install;
    return {
        prometheusUrl: installed ? prometheusUrl(c.monitoring.namespace) : (c.monitoring.prometheusUrl as string),
        monitoringNamespace: c.monitoring.namespace,
        // The installed Prometheus selects every ServiceMonitor and rule (monitoringValues); another one, by these labels.
        serviceMonitorLabels: c.monitoring.serviceMonitorLabels,
        ruleLabels: c.monitoring.ruleLabels,
        logging: c.logging.enabled,
        tracing: c.tracing.enabled,
        rollouts: c.rollouts.install,
        gateway: c.gateway.install
            ? {
                  parentRef: { name: c.gateway.name, namespace: c.gateway.namespace, sectionName: LISTENER.http },
                  namespace: c.gateway.namespace,
                  entry: `http://${envoyServiceName(c.gateway.className)}.${c.gateway.namespace}.svc:80`,
              }
            : undefined,
    };
}

export class CanaryPlatform extends pulumi.ComponentResource {
    /** The stack outputs every service's stack reads (`PlatformOutputs`). */
    public readonly outputs: PlatformOutputs;

    /** Validates the config (a ConfigError naming every bad key, before any resource), then builds. */
    static create(name: string, args: CanaryPlatformArgs, opts?: pulumi.ComponentResourceOptions): CanaryPlatform {
        const v = validatePlatformConfig(pulumi.getProject(), pulumi.getStack(), args.config as Record<string, unknown>);
        if (!v.ok) throw new ConfigError(v.message);
        const refusals = checkClusterTarget(v.config.environment, args.cluster ?? {});
        if (refusals.length > 0) throw new ConfigError(refusals.join("\n"));
        return new CanaryPlatform(name, v.config, args, opts);
    }

    private constructor(name: string, c: PlatformConfig, args: CanaryPlatformArgs, opts?: pulumi.ComponentResourceOptions) {
        super("canary:index:CanaryPlatform", name, {}, opts);
        const provider = kubernetesProvider(`${name}-k8s`, args.cluster ?? {}, { parent: this });
        // Components take the provider by package, custom resources as theirs.
        const k8s = { parent: this, providers: { kubernetes: provider } };
        const own = { parent: this, provider };
        const secrets = args.secrets ?? {};
        const monitoringNamespace = c.monitoring.install ? labelledNamespace(`${name}-monitoring`, c.monitoring.namespace, "privileged", {}, own).metadata.name : c.monitoring.namespace;
        if (c.monitoring.install) {
            const monitoringArgs = {
                namespace: monitoringNamespace,
                monitoring: c.monitoring,
                slackChannel: c.alertmanager.slackChannel,
                slackWebhookUrl: asSecret(secrets.slackWebhookUrl),
                pagerdutyRoutingKey: asSecret(secrets.pagerdutyRoutingKey),
                grafanaAdminPassword: asSecret(secrets.grafanaAdminPassword),
            };
            new MonitoringStack(`${name}-monitoring`, monitoringArgs, k8s);
        }
        if (c.logging.enabled) {
            const logging = labelledNamespace(`${name}-logging`, LOGGING_NAMESPACE, "privileged", {}, own);
            new Logging(`${name}-logging`, { logging: c.logging, namespace: logging.metadata.name, namespaceName: LOGGING_NAMESPACE, monitoringNamespace }, k8s);
        }
        if (c.tracing.enabled && c.tracing.install) new Tracing(`${name}-tracing`, { tracing: c.tracing, namespace: monitoringNamespace }, k8s);
        if (c.rollouts.install) argoRollouts(`${name}-argo-rollouts`, own);
        if (c.gateway.install) {
            installEnvoyGateway(`${name}-gateway`, c.gateway, { name: c.gateway.name, namespace: c.gateway.namespace, labels: { "app.kubernetes.io/part-of": "canary" }, listeners: SHARED_LISTENERS }, own);
        }
        this.outputs = platformOutputs(c);
        this.registerOutputs({ ...this.outputs });
    }
}
