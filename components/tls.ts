import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../stacks/schema";
import { appLabels } from "./labels";
import { pinnedRelease } from "./helm";
import { CHARTS } from "./versions";

export const CERT_MANAGER_NAMESPACE = "cert-manager";

type TlsConfig = StackConfig["tls"];

/** The ClusterIssuer spec: self-signed, or ACME with HTTP-01 answered through ingress-nginx. */
export function issuerSpec(tls: TlsConfig, ingressClass: string): Record<string, unknown> {
    if (tls.issuer === "selfsigned") return { selfSigned: {} };
    return {
        acme: {
            email: tls.acmeEmail,
            server: tls.acmeServer,
            privateKeySecretRef: { name: "canary-acme-account" },
            solvers: [{ http01: { ingress: { ingressClassName: ingressClass } } }],
        },
    };
}

export interface TlsArgs {
    readonly tls: TlsConfig;
    readonly app: string;
    readonly host: string;
    /** The app's namespace: the Certificate and its Secret live there, beside the Ingresses. */
    readonly namespace: pulumi.Input<string>;
    readonly ingressClass: string;
}

/** cert-manager (pinned chart), a ClusterIssuer that waits for it, and a Certificate for the app host. */
export class Tls extends pulumi.ComponentResource {
    /** The Secret cert-manager writes the certificate to: the Ingresses' TLS secret. */
    public readonly secretName: string;
    public readonly certificate: k8s.apiextensions.CustomResource;

    constructor(name: string, args: TlsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("canary:tls:Tls", name, {}, opts);
        const manager = args.tls.installCertManager ? this.installCertManager(name) : undefined;
        const issuerName = `canary-${args.tls.issuer}`;
        const issuer = new k8s.apiextensions.CustomResource(
            `${name}-issuer`,
            { apiVersion: "cert-manager.io/v1", kind: "ClusterIssuer", metadata: { name: issuerName }, spec: issuerSpec(args.tls, args.ingressClass) },
            { parent: this, dependsOn: manager ? [manager] : [] },
        );
        this.secretName = `${args.app}-tls`;
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
     * every Certificate, when the release is uninstalled.
     */
    private installCertManager(name: string): k8s.helm.v3.Release {
        const namespace = new k8s.core.v1.Namespace(`${name}-namespace`, { metadata: { name: CERT_MANAGER_NAMESPACE } }, { parent: this });
        return pinnedRelease(
            `${name}-cert-manager`,
            { pin: CHARTS.certManager, releaseName: "cert-manager", namespace: namespace.metadata.name, values: { crds: { enabled: true, keep: true } } },
            { parent: this },
        );
    }
}
