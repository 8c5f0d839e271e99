/**
 * The program under mocks: what it sends for each stage on both stacks, and what a stage change
 * touches.
 */
import * as assert from "assert";
import { HEADER_RULE_PRIORITY, WEIGHTED_RULE_PRIORITY } from "../components/routing/albRouting";
import { CHARTS } from "../components/platform/versions";
import { byName, changedBetween, FAKE_VPC_CIDR, isSecretEnvelope, ofType, PROMOTED_PIN, Registered, runProgram, stackFileConfig, STACKS, StackName } from "./harness";

const RULE = "aws:lb/listenerRule:ListenerRule";
const INGRESS = "kubernetes:networking.k8s.io/v1:Ingress";
const HTTP_ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute";
const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const NGINX = "nginx.ingress.kubernetes.io";
const PROMETHEUS_RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule";
const ANALYSIS_RUN = "kubernetes:argoproj.io/v1alpha1:AnalysisRun";
const VIRTUAL_SERVICE = "kubernetes:networking.istio.io/v1beta1:VirtualService";

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

/** The canary's and stable's weights as the router's weighted resource receives them. */
function routedWeights(resources: Registered[]): { stable: number; canary: number } {
    if (resources.some((r) => r.name === "route-weighted")) {
        const weighted = byName(resources, "route-weighted").inputs;
        const [stable, canary] = weighted.actions[0].forward.targetGroups;
        assert.match(stable.arn, /route-stable$/);
        assert.match(canary.arn, /route-canary$/);
        return { stable: stable.weight, canary: canary.weight };
    }
    if (resources.some((r) => r.name === "route-httproute")) {
        const rules = byName(resources, "route-httproute").inputs.spec.rules;
        assert.strictEqual(rules.length, 1, "the weighted HTTPRoute has the weighted rule only");
        const [stable, canary] = rules[0].backendRefs;
        assert.deepStrictEqual([stable.name, canary.name, stable.port, canary.port], ["podinfo-stable", "podinfo-canary", 9898, 9898]);
        assert.deepStrictEqual(rules[0].matches, [{ path: { type: "PathPrefix", value: "/" } }]);
        return { stable: stable.weight, canary: canary.weight };
    }
    if (resources.some((r) => r.name === "route-virtualservice")) {
        const http = byName(resources, "route-virtualservice").inputs.spec.http;
        assert.strictEqual(http.length, 1, "the weighted VirtualService has the weighted route only");
        const w = Object.fromEntries(http[0].route.map((r: any) => [r.destination.subset, r.weight]));
        return { stable: w.stable, canary: w.canary };
    }
    const stableIngress = byName(resources, "route-stable").inputs;
    const canaryIngress = byName(resources, "route-canary").inputs;
    assert.strictEqual(stableIngress.metadata.annotations?.[`${NGINX}/canary`], undefined, "the stable Ingress is not a canary");
    const a = canaryIngress.metadata.annotations;
    assert.strictEqual(a[`${NGINX}/canary`], "true");
    assert.strictEqual(a[`${NGINX}/canary-weight-total`], "100");
    const canary = Number(a[`${NGINX}/canary-weight`]);
    return { stable: 100 - canary, canary };
}

/** A header match some router received: on which resource, the header, its value and where it sends the request. */
interface HeaderMatch {
    readonly resource: string;
    readonly name: string;
    readonly value: string;
    readonly to: string;
}

/**
 * Every header match any router received, whatever resource carries it: the ALB's httpHeader
 * conditions, HTTPRoute and VirtualService header matches, ingress-nginx's by-header annotations.
 */
function headerMatches(resources: Registered[]): HeaderMatch[] {
    const found: HeaderMatch[] = [];
    for (const r of resources) {
        if (r.type === RULE) {
            for (const c of r.inputs.conditions ?? []) {
                for (const value of c.httpHeader?.values ?? []) found.push({ resource: r.name, name: c.httpHeader.httpHeaderName, value, to: r.inputs.actions[0].targetGroupArn });
            }
        } else if (r.type === HTTP_ROUTE) {
            for (const rule of r.inputs.spec.rules ?? []) {
                for (const m of rule.matches ?? []) {
                    for (const h of m.headers ?? []) found.push({ resource: r.name, name: h.name, value: h.value, to: rule.backendRefs.map((b: any) => b.name).join(",") });
                }
            }
        } else if (r.type === VIRTUAL_SERVICE) {
            for (const route of r.inputs.spec.http ?? []) {
                for (const m of route.match ?? []) {
                    for (const [name, v] of Object.entries<any>(m.headers ?? {})) found.push({ resource: r.name, name, value: v.exact, to: route.route.map((d: any) => d.destination.subset).join(",") });
                }
            }
        } else if (r.type === INGRESS) {
            const a = r.inputs.metadata.annotations ?? {};
            if (a[`${NGINX}/canary-by-header`] !== undefined) found.push({ resource: r.name, name: a[`${NGINX}/canary-by-header`], value: a[`${NGINX}/canary-by-header-value`], to: r.inputs.spec.rules[0].http.paths[0].backend.service.name });
        }
    }
    return found;
}

/** Whether a secret envelope appears anywhere in a resource's inputs as sent. */
function carriesSecret(v: unknown): boolean {
    if (isSecretEnvelope(v)) return true;
    if (Array.isArray(v)) return v.some(carriesSecret);
    return typeof v === "object" && v !== null && Object.values(v).some(carriesSecret);
}

describe("program: weights at every stage", () => {
    for (const { what, stack, config } of ROUTED) {
        for (const weight of WEIGHTS) {
            it(`${what} at weight ${weight}: the router gets canary ${weight}, stable ${100 - weight}, and no header route`, async () => {
                const { error, resources, outputs } = await runProgram({ stack, config: { ...config, weight } });
                assert.ifError(error);
                const got = routedWeights(resources);
                assert.deepStrictEqual(got, { stable: 100 - weight, canary: weight });
                assert.deepStrictEqual(headerMatches(resources), [], "no header reaches the canary unless canary:header.enabled");
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
            assert.strictEqual(routes.length, type === INGRESS ? 2 : 1, "the weighted route only: no header route by default");
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
        assert.deepStrictEqual(routedWeights(resources), { stable: 100, canary: 0 });
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
        assert.deepStrictEqual(routedWeights(resources), { stable: 75, canary: 25 });
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

describe("program: the canary header is a choice, not a door", () => {
    const ISTIO = { router: "istio", loadTest: { target: "http://istio-ingressgateway.istio-system.svc:80" } };
    const HEADER = { header: { enabled: true } };
    /** Each router that can keep header requests apart, its weighted resource, and where the header's route sends a request. */
    const ROUTERS: { what: string; stack: StackName; config: Record<string, unknown>; weighted: string; preview: RegExp }[] = [
        { what: "prod (ALB)", stack: "prod", config: {}, weighted: "route-weighted", preview: /route-preview$/ },
        { what: "dev (Gateway API)", stack: "dev", config: {}, weighted: "route-httproute", preview: /^podinfo-preview$/ },
        { what: "dev on Istio", stack: "dev", config: ISTIO, weighted: "route-virtualservice", preview: /^preview$/ },
    ];

    for (const { what, stack, config } of [...ROUTERS, { what: "dev on ingress-nginx", stack: "dev" as StackName, config: { router: "nginx" } }]) {
        it(`${what} by default: no header route, no preview, no header output`, async () => {
            const { error, resources, outputs } = await runProgram({ stack, config: { ...config, weight: 25 } });
            assert.ifError(error);
            assert.deepStrictEqual(headerMatches(resources), []);
            assert.ok(!resources.some((r) => r.name === "podinfo-preview"), "no preview Deployment");
            assert.strictEqual(outputs.canaryHeader, undefined);
        });
    }

    for (const { what, stack, config, weighted, preview } of ROUTERS) {
        // 25 and 0, and 0 after a rollback from 25: the header reaches the preview at every one.
        for (const [weight, previous] of [[25, 25], [0, 0], [0, 25]] as const) {
            it(`${what} with canary:header.enabled at weight ${weight}${previous !== weight ? ` (rolled back from ${previous})` : ""}: a generated secret value, to the preview, outside the weighted route`, async () => {
                const { error, resources, outputs, secretOutputs } = await runProgram({ stack, config: { ...config, ...HEADER, weight }, previous: { stage: previous, canaryVersion: "6.8.0" } });
                assert.ifError(error);
                const matches = headerMatches(resources);
                assert.strictEqual(matches.length, 1, JSON.stringify(matches));
                const [m] = matches;
                assert.strictEqual(m.name, "x-canary");
                assert.notStrictEqual(m.value, "always");
                assert.match(m.value, /^generated-password-/, "the RandomPassword's result");
                assert.match(m.to, preview, "header requests go to the preview track, not the canary");
                assert.notStrictEqual(m.resource, weighted, "the header match is a resource of its own");
                // The secret stays in its own resource: the weighted one (the stage's diff) carries none.
                assert.ok(carriesSecret(byName(resources, m.resource).wireInputs), `${m.resource} holds the value as a secret`);
                assert.ok(!carriesSecret(byName(resources, weighted).wireInputs), `${weighted} carries no secret`);
                assert.deepStrictEqual(routedWeights(resources), { stable: 100 - weight, canary: weight });
                // Testers read it with `pulumi stack output canaryHeader --show-secrets`.
                assert.strictEqual(outputs.canaryHeader, `x-canary: ${m.value}`);
                assert.ok(secretOutputs.includes("canaryHeader"), "canaryHeader is a secret output");
            });
        }
    }

    it("the preview: the canary's image and hardened pod spec under track preview, one replica, a Service, scraped with the app", async () => {
        const { error, resources } = await runProgram({ stack: "dev", config: { ...HEADER, weight: 5 } });
        assert.ifError(error);
        const canary = byName(resources, "podinfo-canary").inputs;
        const preview = byName(resources, "podinfo-preview").inputs;
        assert.strictEqual(preview.metadata.name, "podinfo-preview");
        assert.strictEqual(preview.spec.replicas, 1);
        assert.deepStrictEqual(preview.spec.selector.matchLabels, { "app.kubernetes.io/name": "podinfo", track: "preview" });
        assert.strictEqual(preview.spec.template.metadata.labels.track, "preview");
        const [pc, cc] = [preview.spec.template.spec.containers[0], canary.spec.template.spec.containers[0]];
        assert.strictEqual(pc.image, cc.image);
        assert.deepStrictEqual([pc.securityContext, pc.resources, pc.readinessProbe], [cc.securityContext, cc.resources, cc.readinessProbe]);
        const withoutContainers = (spec: any) => ({ ...spec, containers: undefined });
        assert.deepStrictEqual(withoutContainers(preview.spec.template.spec), withoutContainers(canary.spec.template.spec));
        const service = byName(resources, "podinfo-preview-svc").inputs;
        assert.deepStrictEqual(service.spec.selector, { "app.kubernetes.io/name": "podinfo", track: "preview" });
        // The ServiceMonitor selects the app's Services by app labels, so the preview is scraped, its series labelled track="preview".
        const monitor = byName(resources, "podinfo-servicemonitor").inputs;
        for (const [k, v] of Object.entries<string>(monitor.spec.selector.matchLabels)) assert.strictEqual(service.metadata.labels[k], v);
    });

    it("a stage change touches neither the preview nor the header's route", async () => {
        const a = await runProgram({ stack: "dev", config: { ...HEADER, weight: 5 } });
        const b = await runProgram({ stack: "dev", config: { ...HEADER, weight: 25 }, previous: { stage: 5, canaryVersion: "6.8.0" } });
        const changed = changedBetween(a.resources, b.resources);
        for (const name of ["podinfo-preview", "podinfo-preview-svc", "route-preview", "canary-header"]) assert.ok(!changed.some((c) => c.endsWith(` ${name}`)), `${name} changed: ${changed.join(", ")}`);
    });

    it("without a canary image there is nothing to preview: no preview and no header route, the value is kept", async () => {
        const { error, resources, outputs } = await runProgram({ stack: "prod", baseConfig: stackFileConfig("prod"), config: HEADER, previous: null });
        assert.ifError(error);
        assert.deepStrictEqual(headerMatches(resources), []);
        assert.ok(!resources.some((r) => r.name === "podinfo-preview"));
        assert.match(outputs.canaryHeader, /^x-canary: generated-password-/);
    });

    it("a configured value (canary:header.value) is the header's, a secret in its own route and the output, and no RandomPassword is made", async () => {
        const value = "k3v9".repeat(10);
        const { error, resources, outputs, secretOutputs } = await runProgram({ stack: "dev", config: { header: { enabled: true, value }, weight: 5 } });
        assert.ifError(error);
        const [m, ...more] = headerMatches(resources);
        assert.deepStrictEqual(more, []);
        assert.strictEqual(m.value, value);
        assert.ok(carriesSecret(byName(resources, m.resource).wireInputs), `${m.resource} holds the value as a secret`);
        assert.ok(!carriesSecret(byName(resources, "route-httproute").wireInputs), "the weighted route carries no secret");
        assert.ok(!resources.some((r) => r.name === "canary-header"), "no generated value beside the configured one");
        assert.strictEqual(outputs.canaryHeader, `x-canary: ${value}`);
        assert.ok(secretOutputs.includes("canaryHeader"));
    });

    it("refused with router nginx, naming the keys: ingress-nginx would count header requests as the canary's", async () => {
        const { error, resources } = await runProgram({ stack: "dev", config: { ...HEADER, router: "nginx" } });
        assert.match(error?.message ?? "", /canary:header\.enabled = true: must be false with canary:router nginx/);
        assert.deepStrictEqual(resources.filter((r) => r.custom), [], "refused before anything is registered");
    });
});
