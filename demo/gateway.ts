/**
 * The lab's Gateway API data plane: Traefik v3.6.12 (scripts/gateway.sh builds it from Go modules) as
 * the implementation of a GatewayClass `traefik`, serving the Gateway `gateways/shared` the stacks'
 * `canary:gateway.parentRef` names, as on a cluster that brings its own gateway. Traefik watches the
 * lab's API server (its Gateway API provider: Gateways, HTTPRoutes, Services, EndpointSlices) and sends
 * each request to a pod's address by the route's weights; its Prometheus metrics (per backend service:
 * requests by code, latency histograms) are what users saw. Runs inside the lab's network namespace.
 */
import { spawnSync } from "child_process";
import * as path from "path";
import type { ControlPlane } from "./controlplane";
import { eventually, ROOT } from "./host";

/** Where the Gateway listens: Traefik maps a listener to the entry point of the same port (pkg/provider/kubernetes/gateway/kubernetes.go, `entryPointName`). */
export const GATEWAY_PORT = 8000;
/** The Gateway the stacks attach to (the dev stack's `canary:gateway.parentRef`). */
export const GATEWAY = { name: "shared", namespace: "gateways" } as const;
/** Traefik's controller name (pkg/provider/kubernetes/gateway/kubernetes.go `controllerName`). */
export const TRAEFIK_CONTROLLER = "traefik.io/gateway-controller";

/** The bin dir of scripts/gateway.sh: built on first use (minutes when cold), seconds when warm. */
export function gatewayBin(): string {
    if (process.env.CANARY_GATEWAY_BIN) return process.env.CANARY_GATEWAY_BIN;
    const r = spawnSync("bash", [path.join(ROOT, "scripts", "gateway.sh")], { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], timeout: 60 * 60_000 });
    if (r.status !== 0) throw new Error(`scripts/gateway.sh failed (${r.status ?? r.signal})`);
    return r.stdout.trim().split("\n").pop()!;
}

/** Traefik's command line: the Gateway's entry point, a metrics entry point, and the Gateway API provider on the lab's API server. */
export function traefikArgs(cp: Pick<ControlPlane, "server" | "token" | "ca">, metricsPort: number): string[] {
    return [
        `--entrypoints.web.address=127.0.0.1:${GATEWAY_PORT}`,
        `--entrypoints.metrics.address=127.0.0.1:${metricsPort}`,
        "--metrics.prometheus=true",
        "--metrics.prometheus.entrypoint=metrics",
        "--ping=true",
        "--ping.entrypoint=metrics",
        "--providers.kubernetesgateway=true",
        `--providers.kubernetesgateway.endpoint=${cp.server}`,
        `--providers.kubernetesgateway.token=${cp.token}`,
        `--providers.kubernetesgateway.certauthfilepath=${cp.ca}`,
        "--log.level=INFO",
    ];
}

/** The GatewayClass, the Gateway's namespace and the Gateway (HTTP on GATEWAY_PORT, routes from every namespace). */
export async function createGateway(cp: Pick<ControlPlane, "request">): Promise<void> {
    const create = async (urlPath: string, body: unknown) => {
        const r = await cp.request("POST", urlPath, body);
        if (r.status !== 201) throw new Error(`POST ${urlPath}: ${r.status} ${r.text}`);
    };
    await create("/apis/gateway.networking.k8s.io/v1/gatewayclasses", { apiVersion: "gateway.networking.k8s.io/v1", kind: "GatewayClass", metadata: { name: "traefik" }, spec: { controllerName: TRAEFIK_CONTROLLER } });
    await create("/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: GATEWAY.namespace } });
    await create(`/apis/gateway.networking.k8s.io/v1/namespaces/${GATEWAY.namespace}/gateways`, {
        apiVersion: "gateway.networking.k8s.io/v1",
        kind: "Gateway",
        metadata: { name: GATEWAY.name, namespace: GATEWAY.namespace },
        spec: { gatewayClassName: "traefik", listeners: [{ name: "http", protocol: "HTTP", port: GATEWAY_PORT, allowedRoutes: { namespaces: { from: "All" } } }] },
    });
}

/** Until Traefik has accepted the Gateway (its status condition Programmed, which Traefik writes once it serves it). */
export function gatewayProgrammed(cp: Pick<ControlPlane, "request">, timeoutMs = 60_000): Promise<unknown> {
    return eventually(
        `Gateway ${GATEWAY.namespace}/${GATEWAY.name} Programmed by Traefik`,
        async () => {
            const r = await cp.request("GET", `/apis/gateway.networking.k8s.io/v1/namespaces/${GATEWAY.namespace}/gateways/${GATEWAY.name}`);
            return (r.body?.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === "Programmed" && c.status === "True");
        },
        { intervalMs: 250, timeoutMs },
    );
}
