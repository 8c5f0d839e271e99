import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { splitFor } from "../../domain/stages";
import type { GatewayConfig, StackConfig } from "../../stacks/schema";
import { Track, TRACKS } from "../../domain/tracks";
import { appLabels, namespacePeer } from "../platform/labels";
import type { CanaryHeader, RouterArgs, TrackServices } from "./router";
import { pinnedRelease } from "../platform/helm";
import { CHARTS } from "../platform/versions";

const GATEWAY_API = "gateway.networking.k8s.io/v1";
/** The controller name Envoy Gateway's chart configures (`config.envoyGateway.gateway.controllerName`). */
export const ENVOY_GATEWAY_CONTROLLER = "gateway.envoyproxy.io/gatewayclass-controller";

/** The Service Envoy Gateway makes for the installed Gateway's proxies (named by the EnvoyProxy, so pods can reach the entry). */
export function envoyServiceName(className: string): string {
    return `${className}-envoy`;
}

/** The installed Gateway's listeners, by name: HTTPS serves the app, HTTP only redirects to it. */
export const LISTENER = { http: "http", https: "https" } as const;

type RouteMatch = { path: { type: "PathPrefix"; value: "/" }; headers?: { type: "Exact"; name: string; value: pulumi.Input<string> }[] };
type BackendFilter = { type: "RequestHeaderModifier"; requestHeaderModifier: { set: { name: string; value: string }[] } };
type BackendRef = { name: pulumi.Input<string>; port: number; weight?: number; filters?: BackendFilter[] };

export interface HttpRouteRule {
    readonly matches: RouteMatch[];
    readonly backendRefs: BackendRef[];
}

/** A reference from a route to the Gateway (and optionally the listener) it attaches to. */
export interface ParentRef {
    readonly name: string;
    readonly namespace: string;
    readonly sectionName?: string;
}

/** The gateway's data plane namespace may reach the pods (the NetworkPolicy's router peer). */
export function gatewayPeers(gateway: GatewayConfig): k8s.types.input.networking.v1.NetworkPolicyPeer[] {
    return [namespacePeer(gateway.namespace)];
}

const EVERYTHING = { type: "PathPrefix", value: "/" } as const;

/** The request header a backendRef's filter sets to its track, where the route needs per-backend clusters. */
export const TRACK_HEADER = "x-canary-track";

/**
 * The weighted HTTPRoute's one rule: every request of the host split by the stage's weights (summing to
 * 100). With `perBackendClusters`, each backendRef also sets TRACK_HEADER to its track on the requests
 * it forwards: a filter on a backendRef is what makes Envoy Gateway give each backendRef a cluster of its
 * own, `.../rule/0/backend/<i>`, and so statistics per track (envoyproxy/gateway v1.9.0
 * internal/ir/xds.go, `RouteDestination.NeedsClusterPerSetting` via `HasFiltersInSettings`; the name from
 * internal/gatewayapi/helpers.go `irDestinationSettingName`). Without a filter both tracks share the
 * rule's one cluster and no series tells them apart.
 */
export function httpRouteRules(serviceNames: Record<Track, pulumi.Input<string>>, port: number, weight: number, perBackendClusters = false): HttpRouteRule[] {
    const split = splitFor(weight);
    const filters = (track: Track): Pick<BackendRef, "filters"> =>
        perBackendClusters ? { filters: [{ type: "RequestHeaderModifier", requestHeaderModifier: { set: [{ name: TRACK_HEADER, value: track }] } }] } : {};
    return [{ matches: [{ path: EVERYTHING }], backendRefs: TRACKS.map((track) => ({ name: serviceNames[track], port, weight: split[track], ...filters(track) })) }];
}

/**
 * The preview HTTPRoute's one rule: the canary header with its value to the preview Service. It is a
 * route of its own, for the same parent and host, so the secret value stays out of the weighted route.
 * It still wins over the weighted rule: the Gateway API ranks matches across all routes of a host, and
 * with equal paths the match with more header matches takes precedence (gateway-api
 * apis/v1/httproute_types.go, HTTPRouteRule.Matches: "Across all rules specified on applicable
 * Routes ... Largest number of header matches"), before creation time or name are looked at.
 */
export function previewRouteRules(header: CanaryHeader, previewService: pulumi.Input<string>, port: number): HttpRouteRule[] {
    return [{ matches: [{ path: EVERYTHING, headers: [{ type: "Exact", name: header.name, value: header.value }] }], backendRefs: [{ name: previewService, port }] }];
}

/**
 * The installed Gateway's listeners for the app host: HTTP always (it answers ACME HTTP-01 challenges
 * and redirects the rest), HTTPS with the certificate's Secret when there is one. Routes come only
 * from the Gateway's own namespace, the app's.
 */
export function gatewayListeners(host: string, tlsSecretName?: string): Record<string, unknown>[] {
    const common = { hostname: host, allowedRoutes: { namespaces: { from: "Same" } } };
    const http = { name: LISTENER.http, protocol: "HTTP", port: 80, ...common };
    if (tlsSecretName === undefined) return [http];
    return [http, { name: LISTENER.https, protocol: "HTTPS", port: 443, tls: { mode: "Terminate", certificateRefs: [{ kind: "Secret", name: tlsSecretName }] }, ...common }];
}

/** The ACME HTTP-01 solver for a Gateway the stack installs: cert-manager attaches its challenge route to the HTTP listener. */
export function gatewayHttp01Solver(gateway: ParentRef): Record<string, unknown> {
    return { gatewayHTTPRoute: { parentRefs: [{ kind: "Gateway", name: gateway.name, namespace: gateway.namespace, sectionName: LISTENER.http }] } };
}

/** The Gateway the stack installs for an app: in the app's namespace, named after it. */
export function installedGateway(app: StackConfig["app"]): ParentRef {
    return { name: app.name, namespace: app.namespace };
}

export interface GatewayRoutingArgs extends RouterArgs, TrackServices {
    readonly gateway: GatewayConfig;
    /** The Secret with the host's certificate; without it the installed Gateway serves plain HTTP. */
    readonly tlsSecretName?: string;
    /** A cluster per track in Envoy Gateway (`httpRouteRules`): where its statistics are the gate's evidence (`canary:metrics.source` envoy-gateway). */
    readonly perBackendClusters?: boolean;
}

/**
 * The weighted HTTPRoute and, with the canary header, a preview HTTPRoute beside it; optionally Envoy
 * Gateway itself, its GatewayClass and a Gateway for the app host. Only the weighted HTTPRoute changes
 * with the stage.
 */
export class GatewayRouting extends pulumi.ComponentResource {
    /** The Envoy Gateway release (with the Gateway API CRDs), when the stack installs it. */
    public readonly controller?: k8s.helm.v3.Release;
    public readonly httpRoute: k8s.apiextensions.CustomResource;
    /** The canary header's route to the preview, when `preview` is set. */
    public readonly previewRoute?: k8s.apiextensions.CustomResource;

    constructor(name: string, args: GatewayRoutingArgs, opts?: pulumi.ComponentResourceOptions) {
        super("canary:routing:GatewayRouting", name, {}, opts);
        const { app, gateway } = args;
        let parentRef: ParentRef;
        let parentDependsOn: pulumi.Resource[] = [];
        if (gateway.install) {
            const installed = installedGateway(app);
            const envoy = installEnvoyGateway(name, gateway, { name: installed.name, namespace: args.namespace, labels: appLabels(app.name), listeners: gatewayListeners(app.host, args.tlsSecretName) }, { parent: this });
            this.controller = envoy.controller;
            const gatewayObject = envoy.gateway;
            parentRef = { ...installed, sectionName: args.tlsSecretName ? LISTENER.https : LISTENER.http };
            parentDependsOn = [gatewayObject];
            if (args.tlsSecretName) this.redirectRoute(name, args, installed, gatewayObject);
        } else {
            parentRef = gateway.parentRef as ParentRef;
        }
        this.httpRoute = new k8s.apiextensions.CustomResource(
            `${name}-httproute`,
            {
                apiVersion: GATEWAY_API,
                kind: "HTTPRoute",
                metadata: { name: app.name, namespace: args.namespace, labels: appLabels(app.name) },
                spec: { parentRefs: [parentRef], hostnames: [app.host], rules: httpRouteRules(args.serviceNames, app.port, args.weight, args.perBackendClusters) },
            },
            { parent: this, dependsOn: [...args.workloads, ...parentDependsOn] },
        );
        if (args.preview) {
            this.previewRoute = new k8s.apiextensions.CustomResource(
                `${name}-preview`,
                {
                    apiVersion: GATEWAY_API,
                    kind: "HTTPRoute",
                    metadata: { name: `${app.name}-preview`, namespace: args.namespace, labels: appLabels(app.name) },
                    spec: { parentRefs: [parentRef], hostnames: [app.host], rules: previewRouteRules(args.preview.header, args.preview.serviceName, app.port) },
                },
                { parent: this, dependsOn: [args.preview.workload, ...parentDependsOn] },
            );
        }
        this.registerOutputs({ httpRoute: this.httpRoute.metadata.name });
    }

    /** Plain HTTP only redirects to HTTPS (cert-manager's challenge routes match exact paths, so they still win). */
    private redirectRoute(name: string, args: GatewayRoutingArgs, gateway: ParentRef, gatewayObject: pulumi.Resource): void {
        new k8s.apiextensions.CustomResource(
            `${name}-redirect`,
            {
                apiVersion: GATEWAY_API,
                kind: "HTTPRoute",
                metadata: { name: `${args.app.name}-https-redirect`, namespace: args.namespace, labels: appLabels(args.app.name) },
                spec: {
                    parentRefs: [{ ...gateway, sectionName: LISTENER.http }],
                    hostnames: [args.app.host],
                    rules: [{ filters: [{ type: "RequestRedirect", requestRedirect: { scheme: "https", statusCode: 301 } }] }],
                },
            },
            { parent: this, dependsOn: [gatewayObject] },
        );
    }
}

/** A Gateway object: where it lives, its labels and listeners. */
export interface GatewayObject {
    readonly name: string;
    /** Its namespace (the namespace resource's name output, so the Gateway waits for it). */
    readonly namespace: pulumi.Input<string>;
    readonly labels: Record<string, string>;
    readonly listeners: Record<string, unknown>[];
}

/**
 * Envoy Gateway (pinned chart, with the Gateway API CRDs), the proxy settings (an EnvoyProxy with the
 * configured Service type: the chart's LoadBalancer never gets an address on kind), the GatewayClass
 * that uses them, and one Gateway: an app's own, or a platform's shared one.
 */
export function installEnvoyGateway(name: string, gateway: Pick<GatewayConfig, "namespace" | "className" | "serviceType">, object: GatewayObject, opts: pulumi.CustomResourceOptions): { controller: k8s.helm.v3.Release; gateway: k8s.apiextensions.CustomResource } {
    const controller = pinnedRelease(`${name}-envoy-gateway`, { pin: CHARTS.envoyGateway, releaseName: "envoy-gateway", namespace: gateway.namespace, createNamespace: true, values: {} }, opts);
    const proxyName = `${gateway.className}-proxy`;
    const proxy = new k8s.apiextensions.CustomResource(
        `${name}-envoyproxy`,
        {
            apiVersion: "gateway.envoyproxy.io/v1alpha1",
            kind: "EnvoyProxy",
            metadata: { name: proxyName, namespace: gateway.namespace },
            spec: { provider: { type: "Kubernetes", kubernetes: { envoyService: { type: gateway.serviceType, name: envoyServiceName(gateway.className) } } } },
        },
        { ...opts, dependsOn: [controller] },
    );
    const gatewayClass = new k8s.apiextensions.CustomResource(
        `${name}-gatewayclass`,
        {
            apiVersion: GATEWAY_API,
            kind: "GatewayClass",
            metadata: { name: gateway.className },
            spec: {
                controllerName: ENVOY_GATEWAY_CONTROLLER,
                parametersRef: { group: "gateway.envoyproxy.io", kind: "EnvoyProxy", name: proxyName, namespace: gateway.namespace },
            },
        },
        { ...opts, dependsOn: [proxy] },
    );
    const gatewayObject = new k8s.apiextensions.CustomResource(
        `${name}-gateway`,
        {
            apiVersion: GATEWAY_API,
            kind: "Gateway",
            metadata: { name: object.name, namespace: object.namespace, labels: object.labels },
            spec: { gatewayClassName: gateway.className, listeners: object.listeners },
        },
        { ...opts, dependsOn: [gatewayClass] },
    );
    return { controller, gateway: gatewayObject };
}
