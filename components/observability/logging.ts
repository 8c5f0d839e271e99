import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../../stacks/schema";
import { pinnedRelease } from "../platform/helm";
import { DATASOURCE_LABEL } from "./monitoring";
import { CHARTS } from "../platform/versions";

type LoggingConfig = StackConfig["logging"];

/** Where the single-binary Loki answers inside the cluster. */
export function lokiUrl(namespace: string): string {
    return `http://loki.${namespace}.svc.cluster.local:3100`;
}

function section(kind: "INPUT" | "FILTER" | "OUTPUT", entries: [string, string | number][]): string {
    return [`[${kind}]`, ...entries.map(([k, v]) => `    ${k} ${v}`)].join("\n");
}

/**
 * Fluent Bit inputs: the containers' log files only. The chart's default adds a `systemd` input
 * (tag `host.*`) that no output here matches, so its records would be read and dropped.
 */
export function fluentBitInputs(): string {
    return section("INPUT", [
        ["Name", "tail"],
        ["Path", "/var/log/containers/*.log"],
        ["multiline.parser", "docker, cri"],
        ["Tag", "kube.*"],
        ["Mem_Buf_Limit", "5MB"],
        ["Skip_Long_Lines", "On"],
    ]);
}

/**
 * Fluent Bit filters: Kubernetes metadata, then the pod labels lifted to top-level `app`, `track` and
 * `version` keys, so every log line can be split by track and version like the metrics.
 */
export function fluentBitFilters(): string {
    return [
        section("FILTER", [
            ["Name", "kubernetes"],
            ["Match", "kube.*"],
            ["Merge_Log", "On"],
            ["Keep_Log", "Off"],
            ["Labels", "On"],
            ["Annotations", "Off"],
            ["K8S-Logging.Parser", "On"],
            ["K8S-Logging.Exclude", "On"],
        ]),
        section("FILTER", [
            ["Name", "nest"],
            ["Match", "kube.*"],
            ["Operation", "lift"],
            ["Nested_under", "kubernetes"],
            ["Add_prefix", "k8s_"],
        ]),
        section("FILTER", [
            ["Name", "nest"],
            ["Match", "kube.*"],
            ["Operation", "lift"],
            ["Nested_under", "k8s_labels"],
            ["Add_prefix", "label_"],
        ]),
        section("FILTER", [
            ["Name", "modify"],
            ["Match", "kube.*"],
            ["Rename", "label_track track"],
            ["Rename", "label_app.kubernetes.io/version version"],
            ["Rename", "label_app.kubernetes.io/name app"],
        ]),
    ].join("\n\n");
}

/** The Fluent Bit output for the configured destination. */
export function fluentBitOutput(logging: LoggingConfig, loggingNamespace: string): string {
    switch (logging.output) {
        case "loki":
            return section("OUTPUT", [
                ["Name", "loki"],
                ["Match", "kube.*"],
                ["Host", `loki.${loggingNamespace}.svc.cluster.local`],
                ["Port", 3100],
                ["Labels", "job=fluent-bit, namespace=$k8s_namespace_name, app=$app, track=$track, version=$version"],
                ["Line_Format", "json"],
            ]);
        case "elasticsearch": {
            const es = logging.elasticsearch as NonNullable<LoggingConfig["elasticsearch"]>;
            return section("OUTPUT", [
                ["Name", "es"],
                ["Match", "kube.*"],
                ["Host", es.host],
                ["Port", es.port],
                ["Index", es.index],
                ["tls", es.tls ? "On" : "Off"],
                ["Suppress_Type_Name", "On"],
                // Elasticsearch refuses dots in field names: app.kubernetes.io/… labels would be dropped.
                ["Replace_Dots", "On"],
                ["Retry_Limit", 5],
            ]);
        }
        case "stdout":
            return section("OUTPUT", [
                ["Name", "stdout"],
                ["Match", "kube.*"],
                ["Format", "json_lines"],
            ]);
    }
}

/**
 * Loki as one binary on a filesystem volume: enough for a canary's logs, no object store needed. The
 * compactor deletes what is older than the retention, so the volume does not fill up and stop
 * ingestion (Loki keeps logs for ever otherwise; with retention on, Loki 3 needs a delete-request
 * store). The chart renders `loki.compactor` and `loki.limits_config` into Loki's config.
 */
export function lokiValues(logging: LoggingConfig): Record<string, unknown> {
    return {
        deploymentMode: "SingleBinary",
        loki: {
            auth_enabled: false,
            commonConfig: { replication_factor: 1 },
            storage: { type: "filesystem" },
            compactor: { retention_enabled: true, delete_request_store: "filesystem" },
            limits_config: { retention_period: logging.lokiRetention },
            schemaConfig: {
                configs: [{ from: "2024-04-01", store: "tsdb", object_store: "filesystem", schema: "v13", index: { prefix: "loki_index_", period: "24h" } }],
            },
        },
        singleBinary: {
            replicas: 1,
            persistence: { enabled: true, size: logging.lokiStorageSize, ...(logging.lokiStorageClass ? { storageClass: logging.lokiStorageClass } : {}) },
        },
        backend: { replicas: 0 },
        read: { replicas: 0 },
        write: { replicas: 0 },
        chunksCache: { enabled: false },
        resultsCache: { enabled: false },
        gateway: { enabled: false },
        minio: { enabled: false },
        lokiCanary: { enabled: false },
        test: { enabled: false },
    };
}

export interface LoggingArgs {
    readonly logging: LoggingConfig;
    /** The `logging` namespace (name output). */
    readonly namespace: pulumi.Input<string>;
    /** Its name as a string, for in-cluster addresses. */
    readonly namespaceName: string;
    /** The `monitoring` namespace, where Grafana's sidecar finds the Loki datasource. */
    readonly monitoringNamespace: pulumi.Input<string>;
}

/** Fluent Bit on every node shipping container logs, to Loki (with a Grafana datasource), Elasticsearch or stdout. */
export class Logging extends pulumi.ComponentResource {
    constructor(name: string, args: LoggingArgs, opts?: pulumi.ComponentResourceOptions) {
        super("canary:logging:Logging", name, {}, opts);
        const { logging } = args;
        const loki =
            logging.output === "loki"
                ? pinnedRelease(`${name}-loki`, { pin: CHARTS.loki, releaseName: "loki", namespace: args.namespace, values: lokiValues(logging) }, { parent: this })
                : undefined;
        if (loki) {
            new k8s.core.v1.ConfigMap(
                `${name}-loki-datasource`,
                {
                    metadata: { name: "loki-datasource", namespace: args.monitoringNamespace, labels: { ...DATASOURCE_LABEL } },
                    data: {
                        "loki.yaml": JSON.stringify({
                            apiVersion: 1,
                            datasources: [{ name: "Loki", type: "loki", uid: "loki", access: "proxy", url: lokiUrl(args.namespaceName) }],
                        }),
                    },
                },
                { parent: this },
            );
        }
        pinnedRelease(
            `${name}-fluent-bit`,
            {
                pin: CHARTS.fluentBit,
                releaseName: "fluent-bit",
                namespace: args.namespace,
                values: { config: { inputs: fluentBitInputs(), filters: fluentBitFilters(), outputs: fluentBitOutput(logging, args.namespaceName) } },
            },
            { parent: this, dependsOn: loki ? [loki] : [] },
        );
        this.registerOutputs({});
    }
}
