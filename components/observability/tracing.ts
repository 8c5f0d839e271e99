import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../../stacks/schema";
import { pinnedRelease } from "../platform/helm";
import { DATASOURCE_LABEL } from "./monitoring";
import { CHARTS } from "../platform/versions";

type TracingConfig = StackConfig["tracing"];

/** Tempo's ports (chart defaults): its HTTP API, which Grafana queries, and the OTLP gRPC receiver. */
const TEMPO_HTTP_PORT = 3200;
const OTLP_GRPC_PORT = 4317;

/** The Grafana datasource uid the dashboard's trace links name. */
export const TEMPO_DATASOURCE_UID = "tempo";

/** The in-cluster address of Tempo's HTTP API (the chart's Service is named after the release). */
export function tempoUrl(namespace: string): string {
    return `http://tempo.${namespace}:${TEMPO_HTTP_PORT}`;
}

/** Where the app's pods send traces: Tempo's OTLP gRPC receiver, plain text inside the cluster. */
export function otlpEndpoint(namespace: string): string {
    return `http://tempo.${namespace}:${OTLP_GRPC_PORT}`;
}

/**
 * The tempo chart's values (keys from its README at the pinned version): block retention, a
 * PersistentVolumeClaim so traces survive a restart, and no usage reporting from inside a cluster.
 * The chart's receivers already include OTLP gRPC and HTTP.
 */
export function tempoValues(tracing: TracingConfig): Record<string, unknown> {
    return {
        tempo: { retention: tracing.retention, reportingEnabled: false },
        persistence: { enabled: true, size: tracing.storageSize, ...(tracing.storageClass ? { storageClassName: tracing.storageClass } : {}) },
    };
}

/**
 * The environment that makes the app export traces to Tempo: the OpenTelemetry SDKs' own variables
 * (the service's name is OTEL_SERVICE_NAME, which every track's container has). An app with a switch
 * of its own sets it in `canary:app.env`: the sample stack sets podinfo's PODINFO_OTEL_SERVICE_NAME.
 */
export function tracingEnv(endpoint: string): { name: string; value: string }[] {
    return [
        { name: "OTEL_EXPORTER_OTLP_ENDPOINT", value: endpoint },
        { name: "OTEL_EXPORTER_OTLP_PROTOCOL", value: "grpc" },
    ];
}

export interface TracingArgs {
    readonly tracing: TracingConfig;
    /** The monitoring namespace (name output): Tempo runs beside Prometheus, and Grafana's sidecar finds the datasource there. */
    readonly namespace: pulumi.Input<string>;
}

/** Grafana Tempo (single binary, pinned chart) and its Grafana datasource. */
export class Tracing extends pulumi.ComponentResource {
    constructor(name: string, args: TracingArgs, opts?: pulumi.ComponentResourceOptions) {
        super("canary:tracing:Tracing", name, {}, opts);
        const tempo = pinnedRelease(`${name}-tempo`, { pin: CHARTS.tempo, releaseName: "tempo", namespace: args.namespace, values: tempoValues(args.tracing) }, { parent: this });
        new k8s.core.v1.ConfigMap(
            `${name}-tempo-datasource`,
            {
                metadata: { name: "tempo-datasource", namespace: args.namespace, labels: { ...DATASOURCE_LABEL } },
                data: {
                    "tempo.yaml": pulumi.output(args.namespace).apply((ns) =>
                        JSON.stringify({
                            apiVersion: 1,
                            datasources: [{ name: "Tempo", type: "tempo", uid: TEMPO_DATASOURCE_UID, access: "proxy", url: tempoUrl(ns) }],
                        }),
                    ),
                },
            },
            { parent: this, dependsOn: [tempo] },
        );
        this.registerOutputs({});
    }
}
