import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { splitFor } from "../../domain/stages";
import type { StackConfig } from "../../stacks/schema";
import { PodTrack, PREVIEW_TRACK, TRACKS } from "../../domain/tracks";
import { appLabels, namespacePeer } from "../platform/labels";
import type { CanaryHeader, RouterArgs } from "./router";

type IstioConfig = StackConfig["istio"];

/** The gateway's namespace may reach the pods (the NetworkPolicy's router peer). */
export function istioPeers(istio: IstioConfig): k8s.types.input.networking.v1.NetworkPolicyPeer[] {
    return [namespacePeer(istio.gateway.split("/")[0])];
}

const destination = (serviceHost: string, port: number, track: PodTrack) => ({ host: serviceHost, subset: track, port: { number: port } });

/** The weighted VirtualService's one HTTP route: every request split by the stage's weights. */
export function virtualServiceHttp(serviceHost: string, port: number, weight: number): Record<string, unknown>[] {
    const split = splitFor(weight);
    return [{ name: "weighted", route: TRACKS.map((track) => ({ destination: destination(serviceHost, port, track), weight: split[track] })) }];
}

/**
 * The preview VirtualService's one HTTP route: the canary header with its value to the preview subset.
 * A VirtualService of its own for the same host and gateway, so the secret value stays out of the
 * weighted one. Istio merges VirtualServices for one host only when they are bound to a gateway (as
 * this router's are), leaves the order across them undefined, and moves every catch-all route to the
 * end of the merged list (istio.io docs/ops/best-practices/traffic-management, "Split large virtual
 * services and destination rules into multiple resources"): the weighted route is the one catch-all,
 * so this route, which matches a header, is evaluated before it.
 */
export function previewVirtualServiceHttp(serviceHost: string, port: number, header: CanaryHeader): Record<string, unknown>[] {
    return [{ name: "canary-header", match: [{ headers: { [header.name]: { exact: header.value } } }], route: [{ destination: destination(serviceHost, port, PREVIEW_TRACK) }] }];
}

export interface IstioRoutingArgs extends RouterArgs {
    readonly istio: IstioConfig;
}

/**
 * A Service over the app's pods, a DestinationRule with a subset per track, and the weighted
 * VirtualService bound to the Istio gateway; with the canary header, a preview subset and a preview
 * VirtualService beside it. Only the weighted VirtualService changes with the stage.
 */
export class IstioRouting extends pulumi.ComponentResource {
    public readonly virtualService: k8s.apiextensions.CustomResource;
    /** The canary header's VirtualService, when `preview` is set. */
    public readonly previewVirtualService?: k8s.apiextensions.CustomResource;

    constructor(name: string, args: IstioRoutingArgs, opts?: pulumi.ComponentResourceOptions) {
        super("canary:routing:IstioRouting", name, {}, opts);
        const { app } = args;
        const service = new k8s.core.v1.Service(
            `${name}-service`,
            {
                metadata: { name: app.name, namespace: args.namespace, labels: appLabels(app.name) },
                spec: { selector: { "app.kubernetes.io/name": app.name }, ports: [{ name: "http", port: app.port, targetPort: "http", protocol: "TCP" }] },
            },
            { parent: this },
        );
        const serviceHost = `${app.name}.${app.namespace}.svc.cluster.local`;
        const destinationRule = new k8s.apiextensions.CustomResource(
            `${name}-destinationrule`,
            {
                apiVersion: "networking.istio.io/v1beta1",
                kind: "DestinationRule",
                metadata: { name: app.name, namespace: args.namespace, labels: appLabels(app.name) },
                spec: { host: serviceHost, subsets: [...TRACKS, ...(args.preview ? [PREVIEW_TRACK] : [])].map((track) => ({ name: track, labels: { track } })) },
            },
            { parent: this, dependsOn: [service] },
        );
        this.virtualService = new k8s.apiextensions.CustomResource(
            `${name}-virtualservice`,
            {
                apiVersion: "networking.istio.io/v1beta1",
                kind: "VirtualService",
                metadata: { name: app.name, namespace: args.namespace, labels: appLabels(app.name) },
                spec: { hosts: [app.host], gateways: [args.istio.gateway], http: virtualServiceHttp(serviceHost, app.port, args.weight) },
            },
            { parent: this, dependsOn: [...args.workloads, destinationRule] },
        );
        if (args.preview) {
            this.previewVirtualService = new k8s.apiextensions.CustomResource(
                `${name}-preview`,
                {
                    apiVersion: "networking.istio.io/v1beta1",
                    kind: "VirtualService",
                    metadata: { name: `${app.name}-preview`, namespace: args.namespace, labels: appLabels(app.name) },
                    spec: { hosts: [app.host], gateways: [args.istio.gateway], http: previewVirtualServiceHttp(serviceHost, app.port, args.preview.header) },
                },
                { parent: this, dependsOn: [args.preview.workload, destinationRule] },
            );
        }
        this.registerOutputs({ virtualService: this.virtualService.metadata.name });
    }
}
