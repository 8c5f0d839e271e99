/**
 * The program under mocks: what it sends for each stage on both stacks, and what a stage change
 * touches.
 */
import * as assert from "assert";
import { isDeepStrictEqual } from "util";
import { HEADER_RULE_PRIORITY, WEIGHTED_RULE_PRIORITY } from "../components/routing/albRouting";
import { CHARTS } from "../components/platform/versions";
import { byName, changedBetween, FAKE_VPC_CIDR, ofType, PROMOTED_PIN, Registered, runProgram, STACKS, StackName } from "./harness";

const RULE = "aws:lb/listenerRule:ListenerRule";
const INGRESS = "kubernetes:networking.k8s.io/v1:Ingress";
const HTTP_ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute";
const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const NGINX = "nginx.ingress.kubernetes.io";
const PROMETHEUS_RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule";
const ANALYSIS_RUN = "kubernetes:argoproj.io/v1alpha1:AnalysisRun";

const WEIGHTS = [0, 5, 25, 50, 100];

/** The app's two Deployments (not the judge's). */
function deploymentUrns(resources: Registered[]): string[] {
    return ofType(resources, DEPLOYMENT)
        .filter((d) => d.name.startsWith("podinfo-"))
        .map((d) => d.urn);
}

/** The routers a stage is tested on: prod's ALB, dev's Gateway API, and dev on the retired ingress-nginx. */
const ROUTED: { what: string; stack: StackName; config: Record<string, unknown>; route: string; routes: string; load: boolean }[] = [
    { what: "prod (ALB)", stack: "prod", config: {}, route: `${RULE} route-weighted`, routes: RULE, load: false },
    { what: "dev (Gateway API)", stack: "dev", config: {}, route: `${HTTP_ROUTE} route-httproute`, routes: HTTP_ROUTE, load: true },
    { what: "dev on ingress-nginx", stack: "dev", config: { router: "nginx" }, route: `${INGRESS} route-canary`, routes: INGRESS, load: true },
];

/** The canary's and stable's weights as the router receives them, and whether the header route comes first. */
function routedWeights(resources: Registered[]): { stable: number; canary: number; header: boolean } {
    if (resources.some((r) => r.name === "route-weighted")) {
        const weighted = byName(resources, "route-weighted").inputs;
        const header = byName(resources, "route-header").inputs;
        const [stable, canary] = weighted.actions[0].forward.targetGroups;
        assert.match(stable.arn, /route-stable$/);
        assert.match(canary.arn, /route-canary$/);
        const headerOk =
            header.priority < weighted.priority &&
            header.conditions.some((c: any) => c.httpHeader?.httpHeaderName === "x-canary" && c.httpHeader.values.includes("always")) &&
            /route-canary$/.test(header.actions[0].targetGroupArn);
        return { stable: stable.weight, canary: canary.weight, header: headerOk };
    }
    if (resources.some((r) => r.name === "route-httproute")) {
        const rules = byName(resources, "route-httproute").inputs.spec.rules;
        assert.strictEqual(rules.length, 2);
        const [header, weighted] = rules;
        const [stable, canary] = weighted.backendRefs;
        assert.deepStrictEqual([stable.name, canary.name, stable.port, canary.port], ["podinfo-stable", "podinfo-canary", 9898, 9898]);
        assert.deepStrictEqual(weighted.matches, [{ path: { type: "PathPrefix", value: "/" } }]);
        const headerOk =
            isDeepStrictEqual(header.matches, [{ path: { type: "PathPrefix", value: "/" }, headers: [{ type: "Exact", name: "x-canary", value: "always" }] }]) &&
            isDeepStrictEqual(header.backendRefs, [{ name: "podinfo-canary", port: 9898 }]);
        return { stable: stable.weight, canary: canary.weight, header: headerOk };
    }
    const stableIngress = byName(resources, "route-stable").inputs;
    const canaryIngress = byName(resources, "route-canary").inputs;
    assert.strictEqual(stableIngress.metadata.annotations?.[`${NGINX}/canary`], undefined, "the stable Ingress is not a canary");
    const a = canaryIngress.metadata.annotations;
    assert.strictEqual(a[`${NGINX}/canary`], "true");
    assert.strictEqual(a[`${NGINX}/canary-weight-total`], "100");
    const canary = Number(a[`${NGINX}/canary-weight`]);
    return { stable: 100 - canary, canary, header: a[`${NGINX}/canary-by-header`] === "x-canary" && a[`${NGINX}/canary-by-header-value`] === "always" };
}

describe("program: weights at every stage", () => {
    for (const { what, stack, config } of ROUTED) {
        for (const weight of WEIGHTS) {
            it(`${what} at weight ${weight}: the router gets canary ${weight}, stable ${100 - weight}, and the header route`, async () => {
                const { error, resources, outputs } = await runProgram({ stack, config: { ...config, weight } });
                assert.ifError(error);
                const got = routedWeights(resources);
                assert.deepStrictEqual(got, { stable: 100 - weight, canary: weight, header: true });
                assert.strictEqual(got.stable + got.canary, 100);
                assert.deepStrictEqual([outputs.stage, outputs.stableWeight, outputs.canaryWeight], [weight, 100 - weight, weight]);
            });
        }
    }
});

describe("program: a stage change touches only routing", () => {
    const moves: [number, number][] = [
        [5, 25],
        [50, 0],
        [0, 5],
    ];
    for (const { what, stack, config, route, load } of ROUTED) {
        for (const [from, to] of moves) {
            it(`${what}: ${from} → ${to} changes only the weighted routing, the stage rule, the stage's AnalysisRun${load ? " and its load test" : ""}`, async () => {
                const a = await runProgram({ stack, config: { ...config, weight: from } });
                const b = await runProgram({ stack, config: { ...config, weight: to }, previous: { stage: from, canaryVersion: "6.8.0" } });
                assert.ifError(a.error);
                assert.ifError(b.error);
                const changed = changedBetween(a.resources, b.resources);
                // The weighted route, the rule that records the weight, and the stage's AnalysisRun (none at 0).
                const stageObjects = [`${ANALYSIS_RUN} delivery-run`, route, `${PROMETHEUS_RULE} alerts-stage`, ...(load ? ["kubernetes:batch/v1:Job load-job"] : [])];
                assert.deepStrictEqual(changed, stageObjects.sort());
                assert.deepStrictEqual(byName(b.resources, "alerts-stage").inputs.spec.groups[0].rules[0].expr, `vector(${to})`);
            });
        }
    }
});

describe("program: routing waits for both Deployments", () => {
    for (const { what, stack, config, routes: type } of ROUTED) {
        it(`${what}: every weighted route depends on the stable and the canary Deployment`, async () => {
            const { resources } = await runProgram({ stack, config: { ...config, weight: 25 } });
            const deployments = deploymentUrns(resources);
            assert.strictEqual(deployments.length, 2);
            // The app's routes; the Gateway's HTTP-to-HTTPS redirect carries no app traffic.
            const routes = ofType(resources, type).filter((r) => r.name !== "route-redirect");
            assert.strictEqual(routes.length, type === HTTP_ROUTE ? 1 : 2);
            for (const route of routes) {
                for (const d of deployments) assert.ok(route.dependencies.includes(d), `${route.name} should depend on ${d}`);
            }
        });
    }

    it("prod: promotion in one up (stable takes the canary image, weight 0) routes only after both are ready", async () => {
        const canaryImage = PROMOTED_PIN;
        const { error, resources, outputs } = await runProgram({
            stack: "prod",
            config: { weight: 0, app: { stable: { image: canaryImage } } },
            previous: { stage: 100, canaryVersion: "6.8.0" },
        });
        assert.ifError(error);
        const stable = byName(resources, "podinfo-stable").inputs;
        const canary = byName(resources, "podinfo-canary").inputs;
        assert.strictEqual(stable.spec.template.spec.containers[0].image, canaryImage);
        assert.strictEqual(canary.spec.replicas, 0, "after promotion the canary is the stable version and runs no pods");
        assert.deepStrictEqual(routedWeights(resources), { stable: 100, canary: 0, header: true });
        assert.strictEqual(outputs.promotedVersion, "6.8.0");
        const rule = byName(resources, "route-weighted");
        for (const d of deploymentUrns(resources)) assert.ok(rule.dependencies.includes(d));
    });
});

describe("program: workload", () => {
    for (const stack of STACKS) {
        it(`${stack}: Deployments carry the track labels, probes, limits, OTEL identity and a restricted security context`, async () => {
            const { resources } = await runProgram({ stack, config: { weight: 5 } });
            for (const [track, version] of [
                ["stable", "6.7.1"],
                ["canary", "6.8.0"],
            ]) {
                const d = byName(resources, `podinfo-${track}`).inputs;
                assert.deepStrictEqual(d.spec.selector.matchLabels, { "app.kubernetes.io/name": "podinfo", track }, "the selector has no version");
                const labels = d.spec.template.metadata.labels;
                assert.strictEqual(labels["app.kubernetes.io/name"], "podinfo");
                assert.strictEqual(labels["app.kubernetes.io/version"], version);
                assert.strictEqual(labels.track, track);
                const pod = d.spec.template.spec;
                assert.strictEqual(pod.securityContext.runAsNonRoot, true);
                assert.strictEqual(pod.securityContext.seccompProfile.type, "RuntimeDefault");
                const c = pod.containers[0];
                assert.strictEqual(c.readinessProbe.httpGet.path, "/readyz");
                assert.strictEqual(c.livenessProbe.httpGet.path, "/healthz");
                assert.ok(c.resources.requests.cpu && c.resources.requests.memory && c.resources.limits.cpu && c.resources.limits.memory);
                assert.deepStrictEqual(c.securityContext, {
                    allowPrivilegeEscalation: false,
                    readOnlyRootFilesystem: true,
                    runAsNonRoot: true,
                    capabilities: { drop: ["ALL"] },
                    seccompProfile: { type: "RuntimeDefault" },
                });
                const env = Object.fromEntries(c.env.map((e: any) => [e.name, e.value]));
                assert.strictEqual(env.OTEL_SERVICE_NAME, "podinfo");
                assert.match(env.OTEL_RESOURCE_ATTRIBUTES, new RegExp(`service\\.version=${version.replace(/\./g, "\\.")}`));
                assert.match(env.OTEL_RESOURCE_ATTRIBUTES, new RegExp(`deployment\\.track=${track}`));
                const svc = byName(resources, `podinfo-${track}-svc`).inputs;
                assert.deepStrictEqual(svc.spec.selector, { "app.kubernetes.io/name": "podinfo", track });
            }
            const pdb = byName(resources, "podinfo-stable-pdb").inputs;
            assert.deepStrictEqual(pdb.spec.selector.matchLabels, { "app.kubernetes.io/name": "podinfo", track: "stable" });
        });
    }

    for (const [router, dataPlane] of [
        ["gateway", "envoy-gateway-system"],
        ["nginx", "ingress-nginx"],
    ]) {
        it(`dev on ${router}: the NetworkPolicy admits only ${dataPlane} (the router's data plane) and monitoring`, async () => {
            const { resources } = await runProgram({ stack: "dev", config: { weight: 0, router } });
            const from = byName(resources, "podinfo-netpol").inputs.spec.ingress[0].from;
            assert.deepStrictEqual(
                from.map((p: any) => p.namespaceSelector.matchLabels["kubernetes.io/metadata.name"]),
                [dataPlane, "monitoring"],
            );
        });
    }

    it("prod: the NetworkPolicy admits only the VPC (the ALB) and monitoring", async () => {
        const { resources } = await runProgram({ stack: "prod", config: { weight: 0 } });
        const from = byName(resources, "podinfo-netpol").inputs.spec.ingress[0].from;
        assert.deepStrictEqual(from, [{ ipBlock: { cidr: FAKE_VPC_CIDR } }, { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } } }]);
    });

    it("a canary equal to stable runs no pods; a different canary keeps its pods at weight 0", async () => {
        const same = await runProgram({ stack: "dev", config: { app: { canary: { image: "ghcr.io/stefanprodan/podinfo:6.7.1" } } } });
        assert.strictEqual(byName(same.resources, "podinfo-canary").inputs.spec.replicas, 0);
        const rolledBack = await runProgram({ stack: "dev", config: { weight: 0 } });
        assert.strictEqual(byName(rolledBack.resources, "podinfo-canary").inputs.spec.replicas, 1);
    });

    it("namespaces: app (restricted), monitoring and logging", async () => {
        const { resources } = await runProgram({ stack: "dev" });
        const ns = ofType(resources, "kubernetes:core/v1:Namespace")
            .filter((r) => r.name.startsWith("ns-"))
            .map((r) => [r.inputs.metadata.name, r.inputs.metadata.labels["pod-security.kubernetes.io/enforce"]]);
        assert.deepStrictEqual(ns.sort(), [
            ["logging", "privileged"],
            ["monitoring", "privileged"],
            ["podinfo", "restricted"],
        ]);
    });
});

describe("program: ALB (prod)", () => {
    it("HTTPS with a TLS 1.2+ policy and the configured certificate; HTTP only redirects", async () => {
        const { resources } = await runProgram({ stack: "prod", config: { weight: 5 } });
        const https = byName(resources, "route-https").inputs;
        assert.strictEqual(https.protocol, "HTTPS");
        assert.strictEqual(https.port, 443);
        assert.strictEqual(https.sslPolicy, "ELBSecurityPolicy-TLS13-1-2-2021-06");
        assert.match(https.certificateArn, /^arn:aws:acm:/);
        const http = byName(resources, "route-http").inputs;
        assert.deepStrictEqual(http.defaultActions, [{ type: "redirect", redirect: { port: "443", protocol: "HTTPS", statusCode: "HTTP_301" } }]);
        assert.deepStrictEqual([HEADER_RULE_PRIORITY < WEIGHTED_RULE_PRIORITY], [true]);
    });

    it("target groups are ip targets health-checked on the readiness path, bound to each Service", async () => {
        const { resources } = await runProgram({ stack: "prod", config: { weight: 5 } });
        for (const track of ["stable", "canary"]) {
            const tg = byName(resources, `route-${track}`).inputs;
            assert.strictEqual(tg.targetType, "ip");
            assert.strictEqual(tg.port, 9898);
            assert.strictEqual(tg.healthCheck.path, "/readyz");
            const tgb = byName(resources, `route-${track}-tgb`).inputs;
            assert.strictEqual(tgb.spec.serviceRef.name, `podinfo-${track}`);
            assert.match(tgb.spec.targetGroupARN, new RegExp(`route-${track}$`));
        }
    });

    it("stickiness follows config", async () => {
        const { resources } = await runProgram({ stack: "prod", config: { weight: 25, alb: { stickiness: { enabled: true, durationSeconds: 600 } } } });
        assert.deepStrictEqual(byName(resources, "route-weighted").inputs.actions[0].forward.stickiness, { enabled: true, duration: 600 });
    });

    it("installs the AWS Load Balancer Controller, pinned, when asked, and binds targets after it", async () => {
        const { error, resources } = await runProgram({
            stack: "prod",
            config: { alb: { controller: { install: true, clusterName: "prod-eks", serviceAccountRoleArn: "arn:aws:iam::123456789012:role/alb-controller" } } },
        });
        assert.ifError(error);
        const release = byName(resources, "route-controller");
        assert.strictEqual(release.inputs.version, CHARTS.awsLoadBalancerController.version);
        assert.strictEqual(release.inputs.values.clusterName, "prod-eks");
        assert.ok(byName(resources, "route-stable-tgb").dependencies.includes(release.urn));
        // Its Service webhook (failurePolicy Fail) would race this update's Service creates.
        assert.strictEqual(release.inputs.values.enableServiceMutatorWebhook, false);
        assert.strictEqual(release.inputs.values.region, "eu-west-1", "the stack's aws:region, not the instance metadata");
    });

    it("ALB: readiness gates in the app namespace, and bindings that never wait for the Deployments they gate", async () => {
        const { resources } = await runProgram({ stack: "prod", config: { weight: 25 } });
        assert.strictEqual(byName(resources, "ns-app").inputs.metadata.labels["elbv2.k8s.aws/pod-readiness-gate-inject"], "enabled");
        for (const track of ["stable", "canary"]) {
            const tgb = byName(resources, `route-${track}-tgb`);
            assert.ok(tgb.dependencies.includes(byName(resources, `podinfo-${track}-svc`).urn), `the ${track} binding waits for its Service`);
            for (const deployment of ["podinfo-stable", "podinfo-canary"]) {
                assert.ok(!tgb.dependencies.includes(byName(resources, deployment).urn), `the ${track} binding must not wait for ${deployment}: its pods wait for the binding`);
            }
        }
        // Traffic still moves only after both Deployments are ready and both bindings exist.
        const rule = byName(resources, "route-weighted");
        for (const dep of ["podinfo-stable", "podinfo-canary", "route-stable-tgb", "route-canary-tgb"]) assert.ok(rule.dependencies.includes(byName(resources, dep).urn), dep);
        const dev = await runProgram({ stack: "dev" });
        assert.strictEqual(byName(dev.resources, "ns-app").inputs.metadata.labels["elbv2.k8s.aws/pod-readiness-gate-inject"], undefined, "no ALB, no gates");
    });

    it("outputs: stage, versions, URL and target group ARNs", async () => {
        const { outputs } = await runProgram({ stack: "prod", config: { weight: 25 }, previous: { stage: 5, canaryVersion: "6.8.0" } });
        assert.strictEqual(outputs.stage, 25);
        assert.strictEqual(outputs.stableVersion, "6.7.1");
        assert.strictEqual(outputs.canaryVersion, "6.8.0");
        assert.strictEqual(outputs.promotedVersion, "6.7.1");
        assert.strictEqual(outputs.url, "https://podinfo.example.com");
        assert.match(outputs.targetGroupArns.stable, /route-stable$/);
        assert.match(outputs.targetGroupArns.canary, /route-canary$/);
    });
});

describe("program: ingress-nginx (dev with canary:router nginx)", () => {
    const NGINX_DEV = { router: "nginx" };
    it("installs ingress-nginx, pinned, and the Ingresses wait for it", async () => {
        const { resources } = await runProgram({ stack: "dev", config: NGINX_DEV });
        const release = byName(resources, "route-ingress-nginx");
        assert.strictEqual(release.inputs.chart, CHARTS.ingressNginx.chart);
        assert.strictEqual(release.inputs.version, CHARTS.ingressNginx.version);
        for (const i of ofType(resources, INGRESS)) assert.ok(i.dependencies.includes(release.urn));
    });

    it("its Service is a NodePort by default (no LoadBalancer address on kind or minikube), configurable; its metrics are off (nothing scrapes them)", async () => {
        const { resources } = await runProgram({ stack: "dev", config: NGINX_DEV });
        const values = byName(resources, "route-ingress-nginx").inputs.values.controller;
        assert.deepStrictEqual([values.service, values.metrics], [{ type: "NodePort" }, { enabled: false }]);
        const lb = await runProgram({ stack: "dev", config: { ...NGINX_DEV, nginx: { serviceType: "LoadBalancer" } } });
        assert.deepStrictEqual(byName(lb.resources, "route-ingress-nginx").inputs.values.controller.service, { type: "LoadBalancer" });
        const bad = await runProgram({ stack: "dev", config: { ...NGINX_DEV, nginx: { serviceType: "External" } } });
        assert.match(bad.error?.message ?? "", /canary:nginx\.serviceType = "External": must be NodePort, LoadBalancer or ClusterIP/);
    });

    it("does not install it when canary:nginx.install is false", async () => {
        const { resources } = await runProgram({ stack: "dev", config: { ...NGINX_DEV, nginx: { install: false }, loadTest: { target: "http://nginx.edge.svc:80" } } });
        assert.deepStrictEqual(
            ofType(resources, "kubernetes:helm.sh/v3:Release").filter((r) => r.inputs.chart === CHARTS.ingressNginx.chart),
            [],
        );
        assert.ok(ofType(resources, INGRESS).length === 2, "the Ingresses still go to the existing controller");
    });
});

describe("program: Gateway API (dev)", () => {
    const RELEASE = "kubernetes:helm.sh/v3:Release";
    it("installs Envoy Gateway (pinned OCI chart), an EnvoyProxy with a NodePort Service, a GatewayClass and a Gateway, in order", async () => {
        const { error, resources } = await runProgram({ stack: "dev", config: { weight: 5 } });
        assert.ifError(error);
        const release = byName(resources, "route-envoy-gateway");
        assert.deepStrictEqual(
            [release.inputs.chart, release.inputs.version, release.inputs.namespace, release.inputs.createNamespace, release.inputs.repositoryOpts],
            ["oci://docker.io/envoyproxy/gateway-helm", CHARTS.envoyGateway.version, "envoy-gateway-system", true, undefined],
        );
        const proxy = byName(resources, "route-envoyproxy");
        assert.deepStrictEqual(proxy.inputs.spec, { provider: { type: "Kubernetes", kubernetes: { envoyService: { type: "NodePort", name: "canary-envoy" } } } });
        const gatewayClass = byName(resources, "route-gatewayclass");
        assert.deepStrictEqual(gatewayClass.inputs.spec, {
            controllerName: "gateway.envoyproxy.io/gatewayclass-controller",
            parametersRef: { group: "gateway.envoyproxy.io", kind: "EnvoyProxy", name: "canary-proxy", namespace: "envoy-gateway-system" },
        });
        const gateway = byName(resources, "route-gateway");
        assert.deepStrictEqual([gateway.inputs.metadata.name, gateway.inputs.metadata.namespace, gateway.inputs.spec.gatewayClassName], ["podinfo", "podinfo", "canary"]);
        const listeners = gateway.inputs.spec.listeners;
        assert.deepStrictEqual(
            listeners.map((l: any) => [l.name, l.protocol, l.port, l.hostname, l.allowedRoutes.namespaces.from]),
            [
                ["http", "HTTP", 80, "podinfo.127.0.0.1.nip.io", "Same"],
                ["https", "HTTPS", 443, "podinfo.127.0.0.1.nip.io", "Same"],
            ],
        );
        assert.deepStrictEqual(listeners[1].tls, { mode: "Terminate", certificateRefs: [{ kind: "Secret", name: "podinfo-tls" }] });
        assert.strictEqual(byName(resources, "tls-certificate").inputs.spec.secretName, "podinfo-tls", "the HTTPS listener serves the Certificate's Secret");
        const route = byName(resources, "route-httproute");
        assert.deepStrictEqual(route.inputs.spec.parentRefs, [{ name: "podinfo", namespace: "podinfo", sectionName: "https" }]);
        assert.deepStrictEqual(route.inputs.spec.hostnames, ["podinfo.127.0.0.1.nip.io"]);
        for (const [later, earlier] of [
            [proxy, release],
            [gatewayClass, proxy],
            [gateway, gatewayClass],
            [route, gateway],
        ]) {
            assert.ok(later.dependencies.includes(earlier.urn), `${later.name} should wait for ${earlier.name}`);
        }
    });

    it("plain HTTP only redirects to HTTPS; without TLS the route is served on the HTTP listener and nothing redirects", async () => {
        const { resources } = await runProgram({ stack: "dev" });
        const redirect = byName(resources, "route-redirect").inputs.spec;
        assert.deepStrictEqual(redirect.parentRefs, [{ name: "podinfo", namespace: "podinfo", sectionName: "http" }]);
        assert.deepStrictEqual(redirect.rules, [{ filters: [{ type: "RequestRedirect", requestRedirect: { scheme: "https", statusCode: 301 } }] }]);
        const plain = await runProgram({ stack: "dev", config: { tls: { enabled: false } } });
        assert.ifError(plain.error);
        assert.deepStrictEqual(byName(plain.resources, "route-gateway").inputs.spec.listeners.map((l: any) => l.name), ["http"]);
        assert.deepStrictEqual(byName(plain.resources, "route-httproute").inputs.spec.parentRefs, [{ name: "podinfo", namespace: "podinfo", sectionName: "http" }]);
        assert.ok(!plain.resources.some((r) => r.name === "route-redirect" || r.name.startsWith("tls-")));
    });

    it("cert-manager runs with Gateway API support, after the Gateway API CRDs; ACME answers HTTP-01 through the Gateway's HTTP listener", async () => {
        const { resources } = await runProgram({ stack: "dev" });
        const manager = byName(resources, "tls-cert-manager");
        assert.deepStrictEqual(manager.inputs.values, { crds: { enabled: true, keep: true }, config: { enableGatewayAPI: true } });
        assert.ok(manager.dependencies.includes(byName(resources, "route-envoy-gateway").urn));
        const acme = await runProgram({ stack: "dev", config: { tls: { issuer: "acme", acmeEmail: "ops@example.com" } } });
        assert.ifError(acme.error);
        assert.deepStrictEqual(byName(acme.resources, "tls-issuer").inputs.spec.acme.solvers, [
            { http01: { gatewayHTTPRoute: { parentRefs: [{ kind: "Gateway", name: "podinfo", namespace: "podinfo", sectionName: "http" }] } } },
        ]);
    });

    it("the proxies' Service type is configurable; a bad one names the key", async () => {
        const lb = await runProgram({ stack: "dev", config: { gateway: { serviceType: "LoadBalancer" } } });
        assert.strictEqual(byName(lb.resources, "route-envoyproxy").inputs.spec.provider.kubernetes.envoyService.type, "LoadBalancer");
        const bad = await runProgram({ stack: "dev", config: { gateway: { serviceType: "HostPort" } } });
        assert.match(bad.error?.message ?? "", /canary:gateway\.serviceType = "HostPort": must be NodePort, LoadBalancer or ClusterIP/);
    });

    it("bring your own Gateway: canary:gateway.install false attaches the HTTPRoute to canary:gateway.parentRef and installs nothing", async () => {
        const parentRef = { name: "shared", namespace: "gateways", sectionName: "https" };
        const entry = "https://shared-envoy.gateways.svc:443";
        const { error, resources } = await runProgram({ stack: "dev", config: { weight: 25, gateway: { install: false, parentRef, namespace: "gateways" }, loadTest: { target: entry } } });
        assert.ifError(error);
        assert.deepStrictEqual(byName(resources, "route-httproute").inputs.spec.parentRefs, [parentRef]);
        assert.deepStrictEqual(routedWeights(resources), { stable: 75, canary: 25, header: true });
        const installed = resources.filter((r) => ["route-envoy-gateway", "route-envoyproxy", "route-gatewayclass", "route-gateway", "route-redirect", "tls-certificate"].includes(r.name));
        assert.deepStrictEqual(installed.map((r) => r.name), [], "the existing Gateway's owner manages its listeners and certificates");
        assert.ok(!ofType(resources, RELEASE).some((r) => r.inputs.chart === CHARTS.envoyGateway.chart));
        const from = byName(resources, "podinfo-netpol").inputs.spec.ingress[0].from;
        assert.strictEqual(from[0].namespaceSelector.matchLabels["kubernetes.io/metadata.name"], "gateways", "the NetworkPolicy admits the configured data plane");
    });

    it("refuses install false without a parentRef, and a parentRef with install true, naming the key", async () => {
        const missing = await runProgram({ stack: "dev", config: { gateway: { install: false } } });
        assert.match(missing.error?.message ?? "", /canary:gateway\.parentRef.*is required when canary:gateway\.install is false/);
        const both = await runProgram({ stack: "dev", config: { gateway: { parentRef: { name: "shared", namespace: "gateways" } } } });
        assert.match(both.error?.message ?? "", /canary:gateway\.parentRef.*is used only when canary:gateway\.install is false/);
        for (const run of [missing, both]) assert.deepStrictEqual(run.resources.filter((r) => r.custom), [], "nothing is registered");
    });

    it("outputs: stage, versions and URL, no target groups", async () => {
        const { outputs } = await runProgram({ stack: "dev", config: { weight: 5 }, previous: { stage: 0, canaryVersion: "6.8.0" } });
        assert.deepStrictEqual([outputs.stage, outputs.stableVersion, outputs.canaryVersion, outputs.url], [5, "6.7.1", "6.8.0", "https://podinfo.127.0.0.1.nip.io"]);
        assert.strictEqual(outputs.targetGroupArns, undefined);
    });
});
