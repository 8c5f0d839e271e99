import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { splitFor } from "../../domain/stages";
import type { StackConfig } from "../../stacks/schema";
import { Track, TRACKS } from "../../domain/tracks";
import { appLabels, namespacePeer } from "../platform/labels";
import { CANARY_HEADER, RouterArgs } from "./router";

type IstioConfig = StackConfig["istio"];

/** The gateway's namespace may reach the pods (the NetworkPolicy's router peer). */
export function istioPeers(istio: IstioConfig): k8s.types.input.networking.v1.NetworkPolicyPeer[] {
    return [namespacePeer(istio.gateway.split("/")[0])];
}

/** The VirtualService's HTTP routes: `x-canary: always` to the canary first, then the weighted split. */
export function virtualServiceHttp(serviceHost: string, port: number, weight: number): Record<string, unknown>[] {
    const destination = (track: Track) => ({ host: serviceHost, subset: track, port: { number: port } });
    const split = splitFor(weight);
    return [
        { name: "canary-header", match: [{ headers: { [CANARY_HEADER.name]: { exact: CANARY_HEADER.value } } }], route: [{ destination: destination("canary") }] },
        { name: "weighted", route: TRACKS.map((track) => ({ destination: destination(track), weight: split[track] })) },
    ];
}

export interface IstioRoutingArgs extends RouterArgs {
    readonly istio: IstioConfig;
}

/**
 * A Service over both tracks, a DestinationRule with a subset per track, and a VirtualService bound
 * to the Istio gateway with the header route and the weighted route. Only the VirtualService changes
 * with the stage.
 */
export class IstioRouting extends pulumi.ComponentResource {
    public readonly virtualService: k8s.apiextensions.CustomResource;

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
                spec: { host: serviceHost, subsets: TRACKS.map((track) => ({ name: track, labels: { track } })) },
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
        this.registerOutputs({ virtualService: this.virtualService.metadata.name });
    }
}
