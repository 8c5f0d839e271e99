import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { splitFor } from "../../domain/stages";
import type { NginxConfig } from "../../stacks/schema";
import type { Track } from "../../domain/tracks";
import { appLabels, namespacePeer } from "../platform/labels";
import type { RouterArgs, TrackServices } from "./router";
import { pinnedRelease } from "../platform/helm";
import { CHARTS } from "../platform/versions";

const ANNOTATION = "nginx.ingress.kubernetes.io";

/** The installed controller's Service: the chart's `<fullname>-controller`, and the release is named ingress-nginx. */
export const NGINX_CONTROLLER_SERVICE = "ingress-nginx-controller";

/**
 * The ingress-nginx canary annotations for a stage: the canary Ingress gets `weight` of 100. No
 * by-header routing: it would send header requests to this Ingress's backend, the canary Service, and
 * count them as the stage's evidence, so `canary:header.enabled` is refused with this router.
 */
export function canaryAnnotations(weight: number): Record<string, string> {
    return {
        [`${ANNOTATION}/canary`]: "true",
        [`${ANNOTATION}/canary-weight`]: String(splitFor(weight).canary),
        [`${ANNOTATION}/canary-weight-total`]: "100",
    };
}

/** Only the ingress-nginx controller's namespace may reach the pods. */
export function nginxPeers(nginx: NginxConfig): k8s.types.input.networking.v1.NetworkPolicyPeer[] {
    return [namespacePeer(nginx.namespace)];
}

export interface NginxRoutingArgs extends RouterArgs, TrackServices {
    readonly nginx: NginxConfig;
    /** The Secret with the host's certificate (from `Tls`); without it the Ingresses serve plain HTTP. */
    readonly tlsSecretName?: string;
}

/** A stable Ingress and a canary Ingress with ingress-nginx canary annotations; optionally ingress-nginx itself. */
export class NginxRouting extends pulumi.ComponentResource {
    public readonly controller?: k8s.helm.v3.Release;
    public readonly stableIngress: k8s.networking.v1.Ingress;
    public readonly canaryIngress: k8s.networking.v1.Ingress;

    constructor(name: string, args: NginxRoutingArgs, opts?: pulumi.ComponentResourceOptions) {
        super("canary:routing:NginxRouting", name, {}, opts);
        const { app, nginx } = args;
        if (nginx.install) {
            this.controller = pinnedRelease(
                `${name}-ingress-nginx`,
                {
                    pin: CHARTS.ingressNginx,
                    releaseName: "ingress-nginx",
                    namespace: nginx.namespace,
                    createNamespace: true,
                    values: {
                        controller: {
                            ingressClassResource: { name: nginx.ingressClass, default: false },
                            ingressClass: nginx.ingressClass,
                            service: { type: nginx.serviceType },
                            // Nothing scrapes the controller's metrics (no ServiceMonitor for it here),
                            // so its metrics endpoint stays off rather than half set up.
                            metrics: { enabled: false },
                        },
                    },
                },
                { parent: this },
            );
        }
        const dependsOn = [...args.workloads, ...(this.controller ? [this.controller] : [])];
        const ingress = (track: Track, annotations: Record<string, string>) =>
            new k8s.networking.v1.Ingress(
                `${name}-${track}`,
                {
                    metadata: {
                        name: track === "stable" ? app.name : `${app.name}-canary`,
                        namespace: args.namespace,
                        labels: { ...appLabels(app.name), track },
                        annotations,
                    },
                    spec: {
                        ingressClassName: nginx.ingressClass,
                        // TLS on the stable Ingress only: ingress-nginx builds the host's server from
                        // non-canary Ingresses and ignores a canary Ingress's tls section, so a TLS
                        // section here would only suggest it is served.
                        ...(args.tlsSecretName && track === "stable" ? { tls: [{ hosts: [app.host], secretName: args.tlsSecretName }] } : {}),
                        rules: [
                            {
                                host: app.host,
                                http: {
                                    paths: [
                                        {
                                            path: "/",
                                            pathType: "Prefix",
                                            backend: { service: { name: args.serviceNames[track], port: { name: "http" } } },
                                        },
                                    ],
                                },
                            },
                        ],
                    },
                },
                { parent: this, dependsOn },
            );
        this.stableIngress = ingress("stable", {});
        this.canaryIngress = ingress("canary", canaryAnnotations(args.weight));
        this.registerOutputs({ stableIngress: this.stableIngress.metadata.name, canaryIngress: this.canaryIngress.metadata.name });
    }
}
