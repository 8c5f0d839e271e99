/**
 * A platform and its services: the platform program (platform/index.ts) installs the shared add-ons once;
 * a service stack that names it (`canary:platform`) reads the platform's outputs by StackReference and
 * installs none of them. The service runs here on the outputs the platform program itself exported.
 */
import * as assert from "assert";
import { byName, ofType, runProgram, RunResult } from "./harness";

const PLATFORM = "organization/platform/dev";
const RELEASE = "kubernetes:helm.sh/v3:Release";

async function platformRun(config: Record<string, unknown> = {}): Promise<RunResult> {
    return runProgram({ program: "platform", stack: "dev", baseConfig: {}, config });
}

/** A service stack on the platform, given the platform's exported outputs. */
async function serviceRun(platform: Record<string, unknown>, config: Record<string, unknown> = {}, base?: Record<string, unknown>): Promise<RunResult> {
    return runProgram({ stack: "dev", ...(base ? { baseConfig: base } : {}), config: { platform: PLATFORM, weight: 5, ...config }, stackOutputs: { [PLATFORM]: platform } });
}

/** Every Kubernetes object's kind, namespace and name: what would collide on one cluster. */
const objects = (r: RunResult) =>
    r.resources.filter((x) => x.custom && x.type.startsWith("kubernetes:") && x.inputs.metadata?.name).map((x) => `${x.type.split(":")[2]} ${x.inputs.metadata.namespace ?? "-"}/${x.inputs.metadata.name}`);

describe("a platform and its services", () => {
    let platform: RunResult;
    before(async () => {
        platform = await platformRun();
        assert.ifError(platform.error);
    });

    it("the platform installs the shared add-ons once, through its own provider, and exports what services read", () => {
        assert.deepStrictEqual(ofType(platform.resources, RELEASE).map((r) => r.inputs.name).sort(), ["argo-rollouts", "envoy-gateway", "fluent-bit", "kube-prometheus-stack", "loki", "tempo"]);
        const gateway = ofType(platform.resources, "kubernetes:gateway.networking.k8s.io/v1:Gateway")[0].inputs;
        assert.deepStrictEqual([gateway.metadata.name, gateway.metadata.namespace], ["shared", "envoy-gateway-system"]);
        assert.deepStrictEqual(gateway.spec.listeners, [{ name: "http", protocol: "HTTP", port: 80, allowedRoutes: { namespaces: { from: "All" } } }]);
        const provider = platform.resources.find((r) => r.type === "pulumi:providers:kubernetes");
        assert.ok(provider, "the platform's Kubernetes provider");
        for (const r of platform.resources.filter((x) => x.custom && x.type.startsWith("kubernetes:"))) assert.ok(r.provider.startsWith(provider.urn), `${r.name} uses the platform's provider`);
        assert.deepStrictEqual(platform.outputs, {
            prometheusUrl: "http://kps-prometheus.monitoring.svc.cluster.local:9090",
            monitoringNamespace: "monitoring",
            serviceMonitorLabels: {},
            ruleLabels: {},
            logging: true,
            tracing: true,
            rollouts: true,
            gateway: { parentRef: { name: "shared", namespace: "envoy-gateway-system", sectionName: "http" }, namespace: "envoy-gateway-system", entry: "http://canary-envoy.envoy-gateway-system.svc:80" },
        });
    });

    it("a bad platform key is refused naming it, before any resource", async () => {
        const bad = await platformRun({ gateway: { name: "Shared" }, app: { name: "x" } });
        assert.ok(bad.error);
        assert.match(bad.error.message, /platform:gateway\.name = "Shared": must be a DNS label/);
        assert.match(bad.error.message, /platform:app = \{"name":"x"\}: is not a known key/);
        assert.deepStrictEqual(bad.resources, []);
        const byo = await platformRun({ monitoring: { install: false } });
        assert.match(String(byo.error), /platform:monitoring\.prometheusUrl = \(not set\): is required when platform:monitoring\.install is false/);
    });

    it("a service on the platform installs no add-on: the platform's Prometheus, namespace, Gateway, entry and Tempo", async () => {
        const r = await serviceRun(platform.outputs);
        assert.ifError(r.error);
        assert.deepStrictEqual(ofType(r.resources, RELEASE).map((x) => x.name), []);
        assert.deepStrictEqual(ofType(r.resources, "kubernetes:core/v1:Namespace").map((x) => x.inputs.metadata.name), ["podinfo"]);
        assert.deepStrictEqual(ofType(r.resources, "kubernetes:gateway.networking.k8s.io/v1:Gateway"), []);
        const route = byName(r.resources, "route-httproute").inputs;
        assert.deepStrictEqual(route.spec.parentRefs, [{ name: "shared", namespace: "envoy-gateway-system", sectionName: "http" }]);
        assert.ok(byName(r.resources, "delivery-judge-deployment").inputs.spec.template.spec.containers[0].command.includes("http://kps-prometheus.monitoring.svc.cluster.local:9090"));
        assert.ok(byName(r.resources, "load-job").inputs.spec.template.spec.containers[0].command.includes("http://canary-envoy.envoy-gateway-system.svc:80"), "the load goes through the shared Gateway");
        const env = byName(r.resources, "podinfo-canary").inputs.spec.template.spec.containers[0].env.map((e: { name: string }) => e.name);
        assert.ok(env.includes("OTEL_EXPORTER_OTLP_ENDPOINT"), "traces go to the platform's Tempo");
        assert.strictEqual(byName(r.resources, "dashboard-dashboard").inputs.metadata.namespace, "monitoring");
    });

    it("a key the platform sets is refused in the service's own config, naming it and the platform", async () => {
        const r = await serviceRun(platform.outputs, { monitoring: { prometheusUrl: "http://elsewhere:9090" }, analysis: { installController: true } });
        assert.ok(r.error);
        assert.match(r.error.message, /canary:monitoring\.prometheusUrl = "http:\/\/elsewhere:9090": is the platform's: the platform stack organization\/platform\/dev sets it/);
        assert.match(r.error.message, /canary:analysis\.installController = true: is the platform's/);
        assert.deepStrictEqual(r.resources.filter((x) => x.custom && x.type !== "pulumi:pulumi:StackReference"), []);
    });

    it("a platform stack that has not run (no outputs) is refused, saying what to do", async () => {
        const r = await serviceRun({});
        assert.ok(r.error);
        assert.match(r.error.message, /canary:platform = "organization\/platform\/dev": the platform stack has no prometheusUrl or monitoringNamespace output: run `pulumi up` on the platform stack first/);
    });

    it("without a shared Gateway the service names its own, and may", async () => {
        const noGateway = { ...platform.outputs, gateway: undefined };
        const r = await serviceRun(noGateway, { gateway: { install: false, parentRef: { name: "edge", namespace: "gateways" }, namespace: "gateways" }, loadTest: { target: "http://edge.gateways.svc:80" } });
        assert.ifError(r.error);
        assert.deepStrictEqual(byName(r.resources, "route-httproute").inputs.spec.parentRefs, [{ name: "edge", namespace: "gateways" }]);
    });

    it("two services on one platform: no Kubernetes object of one is the other's", async () => {
        const podinfo = await serviceRun(platform.outputs);
        const checkout = await serviceRun(platform.outputs, { app: { name: "checkout", namespace: "checkout", host: "checkout.127.0.0.1.nip.io" } });
        assert.ifError(podinfo.error);
        assert.ifError(checkout.error);
        const shared = objects(podinfo).filter((o) => objects(checkout).includes(o));
        assert.deepStrictEqual(shared, []);
    });
});
