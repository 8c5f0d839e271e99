import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { StackConfig } from "../../stacks/schema";
import { alertmanagerConfig, RECEIVER_SECRET, ReceiverSettings, SECRET_FILES } from "./alertmanager";
import { pinnedRelease } from "../platform/helm";
import { CHARTS } from "../platform/versions";

/** The Secret Grafana reads its admin login from, so the password never sits in Helm values. */
export const GRAFANA_ADMIN_SECRET = "grafana-admin";
/** Label the Grafana sidecars watch for dashboards and datasources. */
export const DASHBOARD_LABEL = { grafana_dashboard: "1" } as const;
export const DATASOURCE_LABEL = { grafana_datasource: "1" } as const;
/** The installed Prometheus inside the cluster (the chart's service, named after `fullnameOverride`). */
export function prometheusUrl(namespace: string): string {
    return `http://kps-prometheus.${namespace}.svc.cluster.local:9090`;
}

export interface MonitoringValuesInput {
    readonly monitoring: StackConfig["monitoring"];
    readonly receivers: ReceiverSettings;
}

/**
 * kube-prometheus-stack values. No secret in here: Grafana's password and the receivers' credentials
 * are Secrets the chart refers to by name.
 */
export function monitoringValues(i: MonitoringValuesInput): Record<string, unknown> {
    // Pick up every ServiceMonitor and PrometheusRule, whatever its release label.
    const anyRelease = {
        serviceMonitorSelectorNilUsesHelmValues: false,
        podMonitorSelectorNilUsesHelmValues: false,
        ruleSelectorNilUsesHelmValues: false,
        serviceMonitorSelector: {},
        serviceMonitorNamespaceSelector: {},
        ruleSelector: {},
        ruleNamespaceSelector: {},
    };
    const anyReceiver = i.receivers.pagerduty || i.receivers.slackChannel !== undefined;
    return {
        fullnameOverride: "kps",
        prometheus: {
            prometheusSpec: {
                ...anyRelease,
                retention: i.monitoring.retention,
                resources: i.monitoring.prometheusResources,
                // A PersistentVolumeClaim instead of the default emptyDir: a pod restart keeps the history.
                storageSpec: {
                    volumeClaimTemplate: {
                        spec: {
                            accessModes: ["ReadWriteOnce"],
                            resources: { requests: { storage: i.monitoring.storage.size } },
                            ...(i.monitoring.storage.storageClass ? { storageClassName: i.monitoring.storage.storageClass } : {}),
                        },
                    },
                },
            },
        },
        alertmanager: {
            config: alertmanagerConfig(i.receivers),
            alertmanagerSpec: anyReceiver ? { secrets: [RECEIVER_SECRET] } : {},
        },
        grafana: {
            admin: { existingSecret: GRAFANA_ADMIN_SECRET, userKey: "admin-user", passwordKey: "admin-password" },
            sidecar: {
                dashboards: { enabled: true, label: Object.keys(DASHBOARD_LABEL)[0], labelValue: "1", searchNamespace: "ALL" },
                datasources: { enabled: true, label: Object.keys(DATASOURCE_LABEL)[0], labelValue: "1" },
            },
        },
        // Pod labels on kube_pod_labels, so CPU and memory alerts can select the canary by track.
        "kube-state-metrics": {
            metricLabelsAllowlist: ["pods=[track,app.kubernetes.io/name,app.kubernetes.io/version]"],
        },
    };
}

export interface MonitoringStackArgs {
    /** The `monitoring` namespace (its name output, so the release waits for it). */
    readonly namespace: pulumi.Input<string>;
    readonly monitoring: StackConfig["monitoring"];
    readonly slackChannel: string;
    /** Secret config (`pulumi config set --secret`); absent ones turn their receiver off. */
    readonly slackWebhookUrl?: pulumi.Output<string>;
    readonly pagerdutyRoutingKey?: pulumi.Output<string>;
    /** Default: a generated 24-character password, kept in the stack's state as a secret. */
    readonly grafanaAdminPassword?: pulumi.Output<string>;
}

/** kube-prometheus-stack, pinned, with Alertmanager routes to Slack and PagerDuty from secret config. */
export class MonitoringStack extends pulumi.ComponentResource {
    /** The release: ServiceMonitors and PrometheusRules depend on it for their CRDs. */
    public readonly release: k8s.helm.v3.Release;

    constructor(name: string, args: MonitoringStackArgs, opts?: pulumi.ComponentResourceOptions) {
        super("canary:monitoring:MonitoringStack", name, {}, opts);
        const password = args.grafanaAdminPassword ?? new random.RandomPassword(`${name}-grafana-password`, { length: 24, special: false }, { parent: this }).result;
        const grafanaSecret = new k8s.core.v1.Secret(
            `${name}-grafana-admin`,
            {
                metadata: { name: GRAFANA_ADMIN_SECRET, namespace: args.namespace },
                stringData: { "admin-user": "admin", "admin-password": pulumi.secret(password) },
            },
            { parent: this },
        );
        const credentials: Record<string, pulumi.Output<string>> = {};
        if (args.slackWebhookUrl) credentials[SECRET_FILES.slack] = pulumi.secret(args.slackWebhookUrl);
        if (args.pagerdutyRoutingKey) credentials[SECRET_FILES.pagerduty] = pulumi.secret(args.pagerdutyRoutingKey);
        const receiverSecret =
            Object.keys(credentials).length > 0
                ? new k8s.core.v1.Secret(`${name}-receivers`, { metadata: { name: RECEIVER_SECRET, namespace: args.namespace }, stringData: credentials }, { parent: this })
                : undefined;
        const receivers: ReceiverSettings = {
            slackChannel: args.slackWebhookUrl ? args.slackChannel : undefined,
            pagerduty: args.pagerdutyRoutingKey !== undefined,
        };
        this.release = pinnedRelease(
            `${name}-kube-prometheus-stack`,
            { pin: CHARTS.kubePrometheusStack, releaseName: "kube-prometheus-stack", namespace: args.namespace, values: monitoringValues({ monitoring: args.monitoring, receivers }) },
            { parent: this, dependsOn: [grafanaSecret, ...(receiverSecret ? [receiverSecret] : [])] },
        );
        this.registerOutputs({ release: this.release.name });
    }
}
