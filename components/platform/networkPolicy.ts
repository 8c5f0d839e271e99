/**
 * Egress rules for the program's own pods (the judge, the load test): DNS, and the one address each
 * must reach, from its URL. Pure.
 */
import type * as k8s from "@pulumi/kubernetes";
import { namespacePeer } from "./labels";

type EgressRule = k8s.types.input.networking.v1.NetworkPolicyEgressRule;
type Peer = k8s.types.input.networking.v1.NetworkPolicyPeer;

/**
 * Name lookups: the cluster DNS's pods, `k8s-app: kube-dns` in kube-system, as kubeadm's CoreDNS
 * (cmd/kubeadm/app/phases/addons/dns/manifests.go) and EKS's CoreDNS add-on label them; UDP and TCP 53.
 */
export const DNS_EGRESS: EgressRule = {
    to: [{ ...namespacePeer("kube-system"), podSelector: { matchLabels: { "k8s-app": "kube-dns" } } }],
    ports: [
        { port: 53, protocol: "UDP" },
        { port: 53, protocol: "TCP" },
    ],
};

/** Every address of one family: what an egress rule to a host outside the cluster, known only by name, must allow. */
const ANYWHERE: Peer[] = [{ ipBlock: { cidr: "0.0.0.0/0" } }, { ipBlock: { cidr: "::/0" } }];

/** A Service's in-cluster name, `<service>.<namespace>.svc[.<cluster domain>]`: its namespace. */
function serviceNamespace(host: string): string | undefined {
    const m = /^[a-z0-9-]+\.([a-z0-9-]+)\.svc(\.[a-z0-9.-]+)?\.?$/.exec(host);
    return m?.[1];
}

/**
 * The egress rule to the server of `url`, as narrow as its host allows:
 * - a Service in the cluster (`name.namespace.svc…`): that namespace's pods, or only `pods` in it when
 *   given; any port, as a NetworkPolicy sees the pod's port, which a Service may map from another;
 * - an IP address: that address, on the URL's port;
 * - any other name (outside the cluster: an external Prometheus, the ALB's DNS name): a NetworkPolicy
 *   selects addresses, never names, and such a name's addresses change, so every address, on the URL's
 *   port only.
 */
export function egressToUrl(url: string, pods?: Record<string, string>): EgressRule {
    const u = new URL(url);
    const host = u.hostname.replace(/^\[|\]$/g, "").toLowerCase();
    const namespace = serviceNamespace(host);
    if (namespace !== undefined) return { to: [{ ...namespacePeer(namespace), ...(pods ? { podSelector: { matchLabels: pods } } : {}) }] };
    const port = Number(u.port || (u.protocol === "https:" ? 443 : 80));
    const ports = [{ port, protocol: "TCP" }];
    if (/^\d{1,3}(\.\d{1,3}){3}$/.test(host)) return { to: [{ ipBlock: { cidr: `${host}/32` } }], ports };
    if (host.includes(":")) return { to: [{ ipBlock: { cidr: `${host}/128` } }], ports };
    return { to: ANYWHERE, ports };
}
