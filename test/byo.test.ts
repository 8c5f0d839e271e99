/** Bring your own add-ons: with the install switches off the program creates only its own objects. */
import * as assert from "assert";
import { byName, ofType, runProgram } from "./harness";

const BYO = {
    monitoring: {
        install: false,
        namespace: "observability",
        prometheusUrl: "http://prometheus-operated.observability:9090",
        ruleLabels: { release: "kube-prometheus-stack" },
        serviceMonitorLabels: { release: "kube-prometheus-stack" },
    },
    analysis: { installController: false },
    tls: { installCertManager: false },
    logging: { enabled: false },
    tracing: { enabled: false },
    gateway: { install: false, parentRef: { name: "shared", namespace: "gateways" }, namespace: "gateways" },
    // The existing gateway's entry as pods reach it: the program cannot know it.
    loadTest: { target: "https://shared-envoy.gateways.svc:443" },
};

describe("bring your own add-ons (monitoring, Argo Rollouts, cert-manager, logging, tracing, the gateway)", () => {
    it("dev with every add-on switched off: no Helm release and no add-on namespace, only the program's own objects, labelled for the existing selectors", async () => {
        const { error, resources } = await runProgram({ stack: "dev", config: { weight: 5, ...BYO } });
        assert.ifError(error);
        assert.deepStrictEqual(ofType(resources, "kubernetes:helm.sh/v3:Release").map((r) => r.name), []);
        assert.deepStrictEqual(ofType(resources, "kubernetes:core/v1:Namespace").map((r) => r.inputs.metadata.name), ["podinfo"]);
        const kinds = new Set(resources.filter((r) => r.custom && r.type.startsWith("kubernetes:")).map((r) => r.type.split(":")[2]));
        for (const kind of ["ServiceMonitor", "PrometheusRule", "ConfigMap", "AnalysisRun", "HTTPRoute", "Deployment"]) {
            assert.ok(kinds.has(kind), `the program still creates its ${kind}`);
        }
        const monitor = byName(resources, "podinfo-servicemonitor");
        assert.strictEqual(monitor.inputs.metadata.labels.release, "kube-prometheus-stack");
        assert.strictEqual(byName(resources, "delivery-judge-servicemonitor").inputs.metadata.labels.release, "kube-prometheus-stack", "the judge's ServiceMonitor is selected too");
        for (const rule of ofType(resources, "kubernetes:monitoring.coreos.com/v1:PrometheusRule")) assert.strictEqual(rule.inputs.metadata.labels.release, "kube-prometheus-stack", rule.name);
        assert.strictEqual(byName(resources, "dashboard-dashboard").inputs.metadata.namespace, "observability");
        const run = ofType(resources, "kubernetes:argoproj.io/v1alpha1:AnalysisRun")[0];
        // The judge the program runs reads the existing Prometheus.
        assert.ok(run.inputs.spec.metrics.every((m: any) => m.provider.web.url.startsWith("http://canary-judge.podinfo.svc:8080/judge?")));
        assert.ok(byName(resources, "delivery-judge-deployment").inputs.spec.template.spec.containers[0].command.includes("http://prometheus-operated.observability:9090"));
        const netpol = byName(resources, "podinfo-netpol").inputs;
        assert.ok(JSON.stringify(netpol.spec.ingress).includes('"kubernetes.io/metadata.name":"observability"'), "the existing monitoring namespace may scrape the pods");
        // An existing Gateway's owner manages its listeners and certificates: no cert-manager objects here.
        assert.deepStrictEqual(resources.filter((r) => r.name.startsWith("tls-")).map((r) => r.name), []);
    });

    it("ingress-nginx switched off: the Ingresses and the certificate against the existing controller and cert-manager", async () => {
        const { error, resources } = await runProgram({ stack: "dev", config: { weight: 5, ...BYO, router: "nginx", nginx: { install: false }, loadTest: { target: "http://nginx.edge.svc:80" } } });
        assert.ifError(error);
        assert.deepStrictEqual(ofType(resources, "kubernetes:helm.sh/v3:Release").map((r) => r.name), []);
        const kinds = new Set(resources.filter((r) => r.custom).map((r) => r.type.split(":")[2]));
        for (const kind of ["ClusterIssuer", "Certificate", "Ingress"]) assert.ok(kinds.has(kind), `the program still creates its ${kind}`);
    });

    it("the defaults still install every add-on", async () => {
        const { resources } = await runProgram({ stack: "dev", config: { weight: 5 } });
        assert.deepStrictEqual(ofType(resources, "kubernetes:helm.sh/v3:Release").map((r) => r.name).sort(), [
            "delivery-argo-rollouts",
            "logging-fluent-bit",
            "logging-loki",
            "monitoring-kube-prometheus-stack",
            "route-envoy-gateway",
            "tls-cert-manager",
            "tracing-tempo",
        ]);
        assert.deepStrictEqual(ofType(resources, "kubernetes:core/v1:Namespace").map((r) => r.inputs.metadata.name).sort(), ["cert-manager", "logging", "monitoring", "podinfo"]);
    });

    it("without an installed monitoring stack: the Prometheus URL is required, and receiver secrets are refused (they would go nowhere)", async () => {
        const noUrl = await runProgram({ stack: "dev", config: { monitoring: { install: false } } });
        assert.match(noUrl.error?.message ?? "", /canary:monitoring\.prometheusUrl = \(not set\): is required when canary:monitoring\.install is false/);
        assert.deepStrictEqual(noUrl.resources, []);
        const secret = await runProgram({ stack: "dev", config: { monitoring: BYO.monitoring, slackWebhookUrl: "https://hooks.slack.com/services/T/B/X" }, secretKeys: ["slackWebhookUrl"] });
        assert.match(secret.error?.message ?? "", /canary:slackWebhookUrl = \[secret\]: is used only when canary:monitoring\.install is true/);
        const badLabel = await runProgram({ stack: "dev", config: { monitoring: { ...BYO.monitoring, ruleLabels: { "bad key!": "x" } } } });
        assert.match(badLabel.error?.message ?? "", /canary:monitoring\.ruleLabels.*must be a label key/);
    });
});
