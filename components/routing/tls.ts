import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../../stacks/schema";
import { appLabels } from "../platform/labels";
import { pinnedRelease } from "../platform/helm";
import { CHARTS } from "../platform/versions";

export const CERT_MANAGER_NAMESPACE = "cert-manager";

type TlsConfig = StackConfig["tls"];

/** The Secret cert-manager writes the app host's certificate to: what the Ingress or the Gateway's HTTPS listener serves. */
export function tlsSecretName(app: string): string {
    return `${app}-tls`;
}

/** The ACME HTTP-01 solver for ingress-nginx: cert-manager answers challenges through an Ingress of this class. */
export function ingressHttp01Solver(ingressClass: string): Record<string, unknown> {
    return { ingress: { ingressClassName: ingressClass } };
}

/** The ClusterIssuer spec: self-signed, or ACME with HTTP-01 answered through the router (`http01`, the solver). */
export function issuerSpec(tls: TlsConfig, http01: Record<string, unknown>): Record<string, unknown> {
    if (tls.issuer === "selfsigned") return { selfSigned: {} };
    return {
        acme: {
            email: tls.acmeEmail,
            server: tls.acmeServer,
            privateKeySecretRef: { name: "canary-acme-account" },
            solvers: [{ http01 }],
        },
    };
}

export interface TlsArgs {
    readonly tls: TlsConfig;
    readonly app: string;
    readonly host: string;
    /** The app's namespace: the Certificate and its Secret live there, beside the Ingresses. */
    readonly namespace: pulumi.Input<string>;
    /** How ACME HTTP-01 challenges are answered: `ingressHttp01Solver` or `gatewayHttp01Solver`. */
    readonly http01: Record<string, unknown>;
    /**
     * The Gateway API's CRDs, for a router that uses them: cert-manager then runs with Gateway API
     * support, and starts after them (it looks for the Gateway API only when it starts).
     */
    readonly gatewayApi?: pulumi.Resource;
}

/** cert-manager (pinned chart), a ClusterIssuer that waits for it, and a Certificate for the app host. */
export class Tls extends pulumi.ComponentResource {
    /** The Secret cert-manager writes the certificate to: the Ingresses' TLS secret. */
    public readonly secretName: string;
    public readonly certificate: k8s.apiextensions.CustomResource;

    constructor(name: string, args: TlsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("canary:tls:Tls", name, {}, opts);
        const manager = args.tls.installCertManager ? this.installCertManager(name, args.gatewayApi) : undefined;
        const issuerName = `canary-${args.tls.issuer}`;
        const issuer = new k8s.apiextensions.CustomResource(
            `${name}-issuer`,
            { apiVersion: "cert-manager.io/v1", kind: "ClusterIssuer", metadata: { name: issuerName }, spec: issuerSpec(args.tls, args.http01) },
            { parent: this, dependsOn: manager ? [manager] : [] },
        );
        this.secretName = tlsSecretName(args.app);
        this.certificate = new k8s.apiextensions.CustomResource(
            `${name}-certificate`,
            {
                apiVersion: "cert-manager.io/v1",
                kind: "Certificate",
                metadata: { name: args.app, namespace: args.namespace, labels: appLabels(args.app) },
                spec: { secretName: this.secretName, dnsNames: [args.host], issuerRef: { name: issuerName, kind: "ClusterIssuer", group: "cert-manager.io" } },
            },
            { parent: this, dependsOn: [issuer] },
        );
        this.registerOutputs({ secretName: this.secretName });
    }

    /**
     * cert-manager in its own namespace, with its CRDs (skipped when the cluster has one). The chart
     * itself, through the one Helm helper: `crds.enabled` replaces the deprecated `installCRDs` (which is
     * all the kubernetes-cert-manager component offers), and `crds.keep` keeps the CRDs, and with them
     * every Certificate, when the release is uninstalled. `config.enableGatewayAPI` is the chart's
     * switch for Gateway API support (values.yaml at the pinned version).
     */
    private installCertManager(name: string, gatewayApi?: pulumi.Resource): k8s.helm.v3.Release {
        const namespace = new k8s.core.v1.Namespace(`${name}-namespace`, { metadata: { name: CERT_MANAGER_NAMESPACE } }, { parent: this });
        return pinnedRelease(
            `${name}-cert-manager`,
            {
                pin: CHARTS.certManager,
                releaseName: "cert-manager",
                namespace: namespace.metadata.name,
                values: { crds: { enabled: true, keep: true }, ...(gatewayApi ? { config: { enableGatewayAPI: true } } : {}) },
            },
            { parent: this, dependsOn: gatewayApi ? [gatewayApi] : [] },
        );
    }
}
