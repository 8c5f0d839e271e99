import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { APP_PORT_NAME, SCRATCH_PATHS, scratchVolumeName, type EnvVarConfig, type StackConfig, type TrackConfig } from "../../stacks/schema";
import { SCRAPE_INTERVAL_SECONDS } from "../../domain/promql";
import { PodTrack, PREVIEW_TRACK, Track, TRACKS } from "../../domain/tracks";
import { appLabels, namespacePeer, podLabels, trackName, trackSelector } from "../platform/labels";
import { RESTRICTED_CONTAINER, restrictedPod } from "../platform/podSecurity";

type AppConfig = StackConfig["app"];
type NetworkPolicyPeer = k8s.types.input.networking.v1.NetworkPolicyPeer;
type Probe = AppConfig["probes"]["readiness"] | AppConfig["probes"]["liveness"];
export type EnvVar = { readonly name: string; readonly value: string };

/** A non-root uid/gid for images whose USER is a name, which `runAsNonRoot` cannot verify. */
const RUN_AS = 10001;

/** A track's variables: canary:app.env with the track's own entries in place of those of their name, the track's new ones after. */
export function trackEnv(shared: readonly EnvVarConfig[], own: readonly EnvVarConfig[]): EnvVarConfig[] {
    const byName = new Map(own.map((e) => [e.name, e]));
    const kept = shared.map((e) => byName.get(e.name) ?? e);
    return [...kept, ...own.filter((e) => !shared.some((s) => s.name === e.name))];
}

/** An httpGet probe as configured; fields left unset keep Kubernetes' defaults (and stay out of the Deployment's inputs). */
export function probeSpec({ path, port, ...timing }: Probe): k8s.types.input.core.v1.Probe {
    return { httpGet: { path, port }, ...Object.fromEntries(Object.entries(timing).filter(([, v]) => v !== undefined)) };
}

/** The container the Deployment runs for one track: the service's own spec, limits, a restricted security context, OTEL identity. */
export function containerSpec(app: AppConfig, track: PodTrack, spec: TrackConfig, extraEnv: EnvVar[] = []): k8s.types.input.core.v1.Container {
    const { startup } = app.probes;
    return {
        name: app.name,
        image: spec.image,
        ...(app.command ? { command: app.command } : {}),
        ...(app.args ? { args: app.args } : {}),
        ports: [{ name: APP_PORT_NAME, containerPort: app.port, protocol: "TCP" }, ...app.ports],
        readinessProbe: probeSpec(app.probes.readiness),
        livenessProbe: probeSpec(app.probes.liveness),
        ...(startup ? { startupProbe: probeSpec(startup) } : {}),
        resources: spec.resources,
        // The program's first, so the app's own values can refer to them as $(OTEL_SERVICE_NAME).
        env: [
            { name: "OTEL_SERVICE_NAME", value: app.name },
            {
                name: "OTEL_RESOURCE_ATTRIBUTES",
                value: `service.version=${spec.version},service.namespace=${app.namespace},deployment.track=${track}`,
            },
            ...extraEnv,
            ...trackEnv(app.env, spec.env),
        ],
        ...(app.envFrom.length > 0 ? { envFrom: app.envFrom } : {}),
        securityContext: RESTRICTED_CONTAINER,
        volumeMounts: [...SCRATCH_PATHS.map((mountPath, i) => ({ name: scratchVolumeName(i), mountPath })), ...app.volumeMounts],
    };
}

export function deploymentSpec(app: AppConfig, track: PodTrack, spec: TrackConfig, extraEnv: EnvVar[] = []): k8s.types.input.apps.v1.DeploymentSpec {
    const annotations = Object.keys(app.annotations).length > 0 ? { annotations: app.annotations } : {};
    return {
        replicas: spec.replicas,
        selector: { matchLabels: trackSelector(app.name, track) },
        // Never below the replica count while rolling: this is what makes a one-step promotion safe.
        strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: "25%", maxUnavailable: 0 } },
        template: {
            // The program's labels last: the schema refuses an extra label of theirs, and they win regardless.
            metadata: { labels: { ...app.labels, ...podLabels(app.name, track, spec.version) }, ...annotations },
            spec: {
                ...(app.serviceAccountName ? { serviceAccountName: app.serviceAccountName } : {}),
                automountServiceAccountToken: false,
                ...(app.imagePullSecrets.length > 0 ? { imagePullSecrets: app.imagePullSecrets.map((name) => ({ name })) } : {}),
                securityContext: { ...restrictedPod(RUN_AS), fsGroup: RUN_AS },
                containers: [containerSpec(app, track, spec, extraEnv)],
                volumes: [...SCRATCH_PATHS.map((_, i) => ({ name: scratchVolumeName(i), emptyDir: {} })), ...app.volumes],
            },
        },
    };
}

/** Ingress to the app's port: from the router, and from the monitoring namespace that scrapes it. */
export function networkPolicySpec(app: AppConfig, routerPeers: pulumi.Input<NetworkPolicyPeer>[], monitoringNamespace: string): k8s.types.input.networking.v1.NetworkPolicySpec {
    return {
        podSelector: { matchLabels: { "app.kubernetes.io/name": app.name } },
        policyTypes: ["Ingress"],
        ingress: [
            {
                from: [...routerPeers, namespacePeer(monitoringNamespace)],
                ports: [{ port: app.port, protocol: "TCP" }],
            },
        ],
    };
}

/** The pod label behind each series label of the metric contract. */
const RELABEL: Record<string, string> = {
    app: "app_kubernetes_io_name",
    version: "app_kubernetes_io_version",
    track: "track",
};

/**
 * Scrapes both tracks' Services. Pod labels become `app`, `version` and `track` on every series;
 * `namespace` is the operator's own target label. Go runtime series are dropped: nothing reads them.
 */
export function serviceMonitorSpec(app: Pick<AppConfig, "name">): Record<string, unknown> {
    return {
        selector: { matchLabels: appLabels(app.name) },
        endpoints: [
            {
                port: APP_PORT_NAME,
                path: "/metrics",
                interval: `${SCRAPE_INTERVAL_SECONDS}s`,
                relabelings: Object.entries(RELABEL).map(([target, podLabel]) => ({
                    action: "replace",
                    sourceLabels: [`__meta_kubernetes_pod_label_${podLabel}`],
                    targetLabel: target,
                })),
                metricRelabelings: [{ action: "drop", sourceLabels: ["__name__"], regex: "go_.*" }],
            },
        ],
    };
}

export interface CanaryWorkloadArgs {
    /** The app's namespace (created by `Namespaces`; pass its name output so objects wait for it). */
    readonly namespace: pulumi.Input<string>;
    /** The validated app config: the pod both tracks share, and each track's image, version, replicas, resources and variables. */
    readonly app: AppConfig;
    /** Who may send traffic to the pods: the router's peers. */
    readonly routerPeers: pulumi.Input<NetworkPolicyPeer>[];
    /** Namespace whose Prometheus scrapes the pods; admitted by the NetworkPolicy. */
    readonly monitoringNamespace: string;
    /** What installs the ServiceMonitor CRD (the monitoring release), if this stack installs it. */
    readonly crds?: pulumi.Resource;
    /** Labels the Prometheus's serviceMonitorSelector needs (bring-your-own monitoring). */
    readonly serviceMonitorLabels?: Record<string, string>;
    /** More environment for both tracks' containers: the trace exporter's, when tracing is on. */
    readonly env?: EnvVar[];
    /** A preview of the canary's image for the canary header (`canary:header`), when the header is on and a canary is set. */
    readonly preview?: boolean;
}

/** One pod is enough for testers: the preview carries no weighted traffic. */
export const PREVIEW_REPLICAS = 1;

/** The preview track's spec: the canary's image, version, resources and variables, one replica. */
export function previewSpec(canary: TrackConfig): TrackConfig {
    return { ...canary, replicas: PREVIEW_REPLICAS };
}

interface TrackObjects {
    readonly deployment: k8s.apps.v1.Deployment;
    readonly service: k8s.core.v1.Service;
}

/**
 * The stable and canary Deployments with a Service each, a PodDisruptionBudget for stable and a
 * NetworkPolicy; with `preview`, a third Deployment and Service of the canary's image under track
 * `preview`, where the canary header goes: its requests are scraped as `track="preview"`, never as the
 * canary's. Nothing here depends on the stage: changing the weight never touches these.
 */
export class CanaryWorkload extends pulumi.ComponentResource {
    public readonly stable: TrackObjects;
    public readonly canary: TrackObjects;
    /** The canary header's target, when `preview` is set. */
    public readonly preview?: TrackObjects;
    /** Service names by track, for the routers. */
    public readonly serviceNames: Record<Track, pulumi.Output<string>>;
    /** Tells Prometheus to scrape both tracks: what the stage's analysis reads needs it first. */
    public readonly serviceMonitor: k8s.apiextensions.CustomResource;

    constructor(name: string, args: CanaryWorkloadArgs, opts?: pulumi.ComponentResourceOptions) {
        super("canary:workload:CanaryWorkload", name, {}, opts);
        const { app } = args;
        const [stable, canary] = TRACKS.map((track) => this.track(name, args, track, app[track]));
        this.stable = stable;
        this.canary = canary;
        this.serviceNames = { stable: stable.service.metadata.name, canary: canary.service.metadata.name };
        // The NetworkPolicy and the ServiceMonitor below select the app's name, so they cover the preview too.
        if (args.preview) this.preview = this.track(name, args, PREVIEW_TRACK, previewSpec(app.canary));

        new k8s.policy.v1.PodDisruptionBudget(
            `${name}-stable-pdb`,
            {
                metadata: { name: trackName(app.name, "stable"), namespace: args.namespace, labels: appLabels(app.name) },
                // One at a time: drains proceed, and never take the whole stable track at once.
                spec: { maxUnavailable: 1, selector: { matchLabels: trackSelector(app.name, "stable") } },
            },
            { parent: this },
        );
        new k8s.networking.v1.NetworkPolicy(
            `${name}-netpol`,
            {
                metadata: { name: app.name, namespace: args.namespace, labels: appLabels(app.name) },
                spec: networkPolicySpec(app, args.routerPeers, args.monitoringNamespace),
            },
            { parent: this },
        );
        this.serviceMonitor = new k8s.apiextensions.CustomResource(
            `${name}-servicemonitor`,
            {
                apiVersion: "monitoring.coreos.com/v1",
                kind: "ServiceMonitor",
                metadata: { name: app.name, namespace: args.namespace, labels: { ...args.serviceMonitorLabels, ...appLabels(app.name) } },
                spec: serviceMonitorSpec(app),
            },
            { parent: this, dependsOn: args.crds ? [args.crds] : [] },
        );
        this.registerOutputs({ serviceNames: this.serviceNames });
    }

    private track(name: string, args: CanaryWorkloadArgs, track: PodTrack, spec: TrackConfig): TrackObjects {
        const { app } = args;
        const objectName = trackName(app.name, track);
        const deployment = new k8s.apps.v1.Deployment(
            `${name}-${track}`,
            {
                metadata: { name: objectName, namespace: args.namespace, labels: podLabels(app.name, track, spec.version) },
                spec: deploymentSpec(app, track, spec, args.env),
            },
            { parent: this },
        );
        const service = new k8s.core.v1.Service(
            `${name}-${track}-svc`,
            {
                metadata: { name: objectName, namespace: args.namespace, labels: { ...appLabels(app.name), track } },
                spec: {
                    selector: trackSelector(app.name, track),
                    ports: [{ name: APP_PORT_NAME, port: app.port, targetPort: APP_PORT_NAME, protocol: "TCP" }],
                },
            },
            { parent: this },
        );
        return { deployment, service };
    }
}
