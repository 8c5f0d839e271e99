/**
 * Every Kubernetes object the program registers validates against the upstream schema:
 * `kubernetes-models` (generated from the Kubernetes OpenAPI spec) for built-in kinds,
 * `@kubernetes-models/prometheus-operator` for ServiceMonitor and PrometheusRule, and the
 * TargetGroupBinding CRD's v1beta1 schema (aws-load-balancer-controller) for that custom kind.
 */
import * as assert from "assert";
import { EVERY_POD_FIELD, Registered, runProgram, RunOptions } from "./harness";
import { loadSchemaModels, validateObject } from "./manifests";

before(loadSchemaModels);

const validate = (r: Registered) => validateObject(`${r.type} ${r.name}`, r.inputs);

/** Kubernetes objects, i.e. everything from the kubernetes provider but Helm releases (not objects themselves). */
function kubernetesObjects(resources: Registered[]): Registered[] {
    return resources.filter((r) => r.custom && r.type.startsWith("kubernetes:") && r.type !== "kubernetes:helm.sh/v3:Release");
}

/** Kinds the program must register in at least one run, so that each schema package is exercised. */
const EXPECTED_KINDS = [
    "Deployment", "Service", "Ingress", "NetworkPolicy", "PodDisruptionBudget", "Namespace", "Secret", "ConfigMap",
    "TargetGroupBinding", "ServiceMonitor", "PrometheusRule", "AnalysisRun",
    "ClusterIssuer", "Certificate", "VirtualService", "DestinationRule",
    "GatewayClass", "Gateway", "HTTPRoute", "EnvoyProxy", "Job",
];
const seenKinds = new Set<string>();

const runs: [string, RunOptions][] = [
    ["dev at 0", { stack: "dev", config: { weight: 0 } }],
    ["dev at 25", { stack: "dev", config: { weight: 25 } }],
    ["dev at 5 with ACME through the Gateway", { stack: "dev", config: { weight: 5, tls: { issuer: "acme", acmeEmail: "ops@example.com" } } }],
    ["dev with an existing Gateway at 50", { stack: "dev", config: { weight: 50, gateway: { install: false, parentRef: { name: "shared", namespace: "gateways", sectionName: "https" } }, loadTest: { target: "https://shared.gateways.svc:443" } } }],
    ["dev on ingress-nginx at 25", { stack: "dev", config: { weight: 25, router: "nginx" } }],
    ["dev at 25 judged on Envoy Gateway's per-track clusters (backendRef filters)", { stack: "dev", config: { weight: 25, metrics: { source: "envoy-gateway" } } }],
    ["dev after promotion", { stack: "dev", config: { app: { stable: { image: "ghcr.io/stefanprodan/podinfo:6.8.0" } } } }],
    ["prod at 5", { stack: "prod", config: { weight: 5 } }],
    ["dev at 5 with an external judge and Prometheus", { stack: "dev", config: { weight: 5, monitoring: { install: false, prometheusUrl: "https://prometheus.example.com" }, analysis: { judge: { install: false, url: "http://judge.ops:8080", token: "ext-judge-token-0123456789abcdefghijklmnopqrstu" } } } }],
    ["dev with istio at 50", { stack: "dev", config: { weight: 50, router: "istio", loadTest: { target: "http://istio-ingressgateway.istio-system.svc:80" } } }],
    ["prod on nginx with ACME", { stack: "prod", config: { weight: 25, router: "nginx", tls: { acmeEmail: "ops@example.com" } } }],
    ["prod at 100", { stack: "prod", config: { weight: 100 } }],
    ["dev at 5 with a pod using every field, the canary's own variables and the preview", { stack: "dev", config: { weight: 5, header: { enabled: true }, app: { ...EVERY_POD_FIELD, canary: { env: [{ name: "NEW_CHECKOUT", value: "on" }] } } } }],
    [
        "prod with the controller installed",
        { stack: "prod", config: { alb: { controller: { install: true, clusterName: "prod", serviceAccountRoleArn: "arn:aws:iam::123456789012:role/x" } } } },
    ],
];

describe("every Kubernetes object validates against the upstream schema", () => {
    for (const [what, run] of runs) {
        it(what, async () => {
            const { error, resources } = await runProgram(run);
            assert.ifError(error);
            const objects = kubernetesObjects(resources);
            assert.ok(objects.length >= 9, `expected the program's objects, got ${objects.length}`);
            objects.forEach(validate);
            objects.forEach((o) => seenKinds.add(o.inputs.kind));
        });
    }

    it("covered every kind the program can register", () => {
        assert.deepStrictEqual(EXPECTED_KINDS.filter((k) => !seenKinds.has(k)), []);
    });

    it("rejects an invalid object (the validation is live)", () => {
        const bad: Registered = {
            type: "kubernetes:apps/v1:Deployment",
            name: "bad",
            urn: "urn",
            parent: "",
            custom: true,
            dependencies: [],
            provider: "",
            providers: {},
            wireInputs: {},
            inputs: { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "x" }, spec: { replicas: "three", template: {} } },
        };
        assert.throws(() => validate(bad), /does not validate/);
        const badTgb = { ...bad, inputs: { apiVersion: "elbv2.k8s.aws/v1beta1", kind: "TargetGroupBinding", metadata: {}, spec: { serviceRef: { name: "x" } } } };
        assert.throws(() => validate(badTgb), /targetGroupARN|port/);
        const badRoute = { ...bad, inputs: { apiVersion: "gateway.networking.k8s.io/v1", kind: "HTTPRoute", metadata: { name: "x" }, spec: { rules: [{ backendRefs: [{ name: "s", port: 80, weight: -1 }] }] } } };
        assert.throws(() => validate(badRoute), /does not validate/);
        const badProxy = { ...bad, inputs: { apiVersion: "gateway.envoyproxy.io/v1alpha1", kind: "EnvoyProxy", metadata: {}, spec: { provider: { type: "Kubernetes", kubernetes: { envoyService: { type: "HostPort" } } } } } };
        assert.throws(() => validate(badProxy), /envoyService/);
        const badRule = { ...bad, inputs: { apiVersion: "monitoring.coreos.com/v1", kind: "PrometheusRule", metadata: { name: "x" }, spec: { groups: [{ rules: [{ expr: 1 }] }] } } };
        assert.throws(() => validate(badRule), /does not validate/);
    });
});
