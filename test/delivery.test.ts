/** Progressive delivery (Argo Rollouts analysis per stage), TLS (cert-manager, ACM) and Istio routing. */
import * as assert from "assert";
import { analysisRunName, analysisTimeoutSeconds, errorExcessQuery, latencyRatioQuery, NEVER, runVerdict, TERMINAL_PHASES } from "../components/analysis";
import { RECORD } from "../components/rules";
import { CHARTS } from "../components/versions";
import { APP_LABELS, DEFAULT_METRICS, durationSeconds, errorRatio, latencyQuantile } from "../domain/promql";
import { byName, changedBetween, DEV_STACK, ofType, Registered, runProgram, RunOptions, suiteConfig } from "./harness";
import { waitForMatches } from "./tools";

const RUN = "kubernetes:argoproj.io/v1alpha1:AnalysisRun";
const scope = { namespace: "podinfo", app: "podinfo" };

function analysisRuns(resources: Registered[]): Registered[] {
    return ofType(resources, RUN);
}

/**
 * An Argo Rollouts condition (an expr-lang expression over `result`) as JavaScript: only the forms
 * the program writes (`len`, `isNaN`, `isInf`, comparisons, `&&`, `false`).
 */
function argoCondition(condition: string, result: number[]): boolean {
    const js = condition.replace(/len\(result\)/g, "result.length").replace(/!isInf\(/g, "!isInf(");
    return new Function("result", "isNaN", "isInf", `return (${js});`)(result, Number.isNaN, (x: number) => x === Infinity || x === -Infinity);
}

/**
 * A measurement's phase by Argo's rules: no failure condition means a false success condition is a
 * failure; neither true is inconclusive (argoproj/argo-rollouts utils/evaluate/evaluate.go).
 */
function argoMeasurement(metric: { successCondition?: string; failureCondition?: string }, result: number[]): string {
    let success = metric.successCondition ? argoCondition(metric.successCondition, result) : false;
    let failure = metric.failureCondition ? argoCondition(metric.failureCondition, result) : false;
    if (!metric.successCondition && !metric.failureCondition) return "Successful";
    if (metric.successCondition && !metric.failureCondition) failure = !success;
    if (!metric.successCondition && metric.failureCondition) success = !failure;
    if (failure) return "Failed";
    return success ? "Successful" : "Inconclusive";
}

describe("analysis (pure)", () => {
    const names: [string, string, number, string][] = [
        ["podinfo", "6.8.0", 5, "podinfo-6-8-0-w5"],
        ["podinfo", "6.8.0", 25, "podinfo-6-8-0-w25"],
        ["podinfo", "v2.0.0_RC1", 100, "podinfo-v2-0-0-rc1-w100"],
        ["a-very-long-application-name-for-testing", "1.2.3-beta.4+build.5678901234", 50, "a-very-long-application-name-for-testing-1-2-3-beta-4-build-w50"],
    ];
    for (const [app, version, weight, want] of names) {
        it(`run name for ${app} ${version} at ${weight}: ${want}`, () => {
            const got = analysisRunName(app, version, weight);
            assert.strictEqual(got, want);
            assert.ok(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(got) && got.length <= 63, got);
        });
    }

    it("durations and the wait timeout: every measurement plus a margin", () => {
        assert.deepStrictEqual(["30s", "1m", "2h"].map(durationSeconds), [30, 60, 7200]);
        assert.throws(() => durationSeconds("1 minute"));
        assert.strictEqual(analysisTimeoutSeconds({ count: 5, interval: "1m" } as any), 5 * 60 + 180);
    });

    it("the analysis queries are built from the alert rules' builders", () => {
        const input = { scope, metrics: DEFAULT_METRICS, analysis: { window: "5m" } as any, errorRatioVsStable: 2, errorRatioFloor: 0.01, prometheusUrl: "x" };
        const canaryRatio = errorRatio(DEFAULT_METRICS, scope, "5m", APP_LABELS, ['track="canary"']);
        const stableRatio = errorRatio(DEFAULT_METRICS, scope, "5m", APP_LABELS, ['track="stable"']);
        assert.strictEqual(errorExcessQuery(input), `${canaryRatio} - on (namespace, app) (2 * clamp_min(${stableRatio}, 0.01))`);
        assert.strictEqual(
            latencyRatioQuery(input),
            `${latencyQuantile(DEFAULT_METRICS, scope, 0.95, "5m", APP_LABELS, ['track="canary"'])} / on (namespace, app) ${latencyQuantile(DEFAULT_METRICS, scope, 0.95, "5m", APP_LABELS, ['track="stable"'])}`,
        );
    });
});

describe("progressive delivery: one AnalysisRun per stage", () => {
    const run = (opts: RunOptions) => runProgram(opts).then((r) => (assert.ifError(r.error), r));

    it("installs Argo Rollouts (pinned) and a ClusterAnalysisTemplate whose queries are the rules' builders' output", async () => {
        const { resources } = await run({ stack: "dev", config: { weight: 5 } });
        const release = byName(resources, "delivery-argo-rollouts").inputs;
        assert.deepStrictEqual([release.chart, release.version, release.namespace], ["argo-rollouts", CHARTS.argoRollouts.version, "argo-rollouts"]);
        const template = byName(resources, "delivery-template").inputs;
        const metrics = Object.fromEntries(template.spec.metrics.map((m: any) => [m.name, m]));
        assert.deepStrictEqual(Object.keys(metrics), ["canary-requests", "error-ratio-vs-stable", "latency-p95-vs-stable"]);
        const rules = byName(resources, "alerts-rules").inputs.spec.groups.flatMap((g: any) => g.rules);
        const recorded = rules.find((r: any) => r.record === RECORD.errorRatio).expr;
        assert.strictEqual(recorded, errorRatio(DEFAULT_METRICS, scope, "5m"), "the recording rule is the builder's output");
        assert.ok(metrics["error-ratio-vs-stable"].provider.prometheus.query.includes(errorRatio(DEFAULT_METRICS, scope, "5m", APP_LABELS, ['track="canary"'])));
        assert.strictEqual(metrics["error-ratio-vs-stable"].provider.prometheus.address, "http://kps-prometheus.monitoring.svc.cluster.local:9090");
        for (const m of Object.values<any>(metrics)) {
            // Empty results and NaN meet no condition: inconclusive, never failed, never an error on result[0].
            assert.match(m.successCondition, /^len\(result\) > 0 && !isNaN\(result\[0\]\) && !isInf\(result\[0\]\) && /);
            if (m.failureCondition !== NEVER) assert.match(m.failureCondition, /^len\(result\) > 0 && !isNaN\(result\[0\]\) && !isInf\(result\[0\]\) && /);
            assert.deepStrictEqual([m.interval, m.count, m.failureLimit, m.inconclusiveLimit], ["1m", 5, 1, 2]);
        }
        assert.match(metrics["canary-requests"].successCondition, />= 50$/);
        // Each metric's measurement as Argo Rollouts rates it (utils/evaluate/evaluate.go, EvaluateResult).
        const phase = (name: string, result: number[]) => argoMeasurement(metrics[name], result);
        assert.deepStrictEqual(
            [[], [NaN], [10], [49], [50], [500]].map((r) => phase("canary-requests", r)),
            ["Inconclusive", "Inconclusive", "Inconclusive", "Inconclusive", "Successful", "Successful"],
            "too few canary requests is inconclusive, never failed",
        );
        assert.deepStrictEqual([[], [NaN], [-0.01], [0], [0.02]].map((r) => phase("error-ratio-vs-stable", r)), ["Inconclusive", "Inconclusive", "Successful", "Successful", "Failed"]);
        assert.deepStrictEqual([[], [Infinity], [1.2], [1.5], [1.6]].map((r) => phase("latency-p95-vs-stable", r)), ["Inconclusive", "Inconclusive", "Successful", "Successful", "Failed"]);
    });

    it("the run's name is the same for the same stage, new for a new stage or version; none at weight 0", async () => {
        const name = async (opts: RunOptions) => analysisRuns((await run(opts)).resources).map((r) => r.inputs.metadata.name);
        const a = await name({ stack: "prod", config: { weight: 25 } });
        const b = await name({ stack: "prod", config: { weight: 25 } });
        const c = await name({ stack: "prod", config: { weight: 50 } });
        const d = await name({
            stack: "prod",
            config: { weight: 25, app: { canary: { image: "ghcr.io/stefanprodan/podinfo:6.9.0" } } },
            stackOutputs: { [DEV_STACK]: { promotedVersion: "6.9.0" } },
        });
        assert.deepStrictEqual(a, ["podinfo-6-8-0-w25"]);
        assert.deepStrictEqual(b, a);
        assert.deepStrictEqual(c, ["podinfo-6-8-0-w50"]);
        assert.deepStrictEqual(d, ["podinfo-6-9-0-w25"]);
        assert.deepStrictEqual(await name({ stack: "prod", config: { weight: 0 } }), []);
    });

    for (const [stack, router, route] of [
        ["prod", "alb", "route-weighted"],
        ["dev", "gateway", "route-httproute"],
        ["dev", "nginx", "route-canary"],
        ["dev", "istio", "route-virtualservice"],
    ] as const) {
        it(`${stack}/${router}: pulumi up waits for the run (waitFor, timeout), which starts after the routing moved`, async () => {
            const { resources } = await run({ stack, config: { weight: 5, router } });
            const [analysis] = analysisRuns(resources);
            assert.deepStrictEqual(analysis.inputs.metadata.annotations, {
                "pulumi.com/waitFor": "jsonpath={$[?@.phase=='Successful' || @.phase=='Failed' || @.phase=='Error' || @.phase=='Inconclusive']}",
                "pulumi.com/timeoutSeconds": "480",
            });
            assert.ok(analysis.dependencies.includes(byName(resources, route).urn), `the run depends on ${route}`);
            // On a fresh cluster the first stage's queries need Prometheus and the ServiceMonitor first.
            for (const source of ["monitoring-kube-prometheus-stack", "podinfo-servicemonitor"]) {
                assert.ok(analysis.dependencies.includes(byName(resources, source).urn), `the run depends on ${source}`);
            }
            assert.deepStrictEqual(analysis.inputs.spec.metrics, byName(resources, "delivery-template").inputs.spec.metrics);
        });
    }

    it("the waitFor annotation, evaluated by theory/jsonpath (the provider's JSONPath library), ends the wait on every terminal phase and only on those", async () => {
        const { resources } = await run({ stack: "dev", config: { weight: 5 } });
        const annotation = analysisRuns(resources)[0].inputs.metadata.annotations["pulumi.com/waitFor"];
        const phases = ["Pending", "Running", ...TERMINAL_PHASES];
        const objects = [{ apiVersion: "argoproj.io/v1alpha1", kind: "AnalysisRun", metadata: { name: "r" } }, ...phases.map((phase) => ({ apiVersion: "argoproj.io/v1alpha1", kind: "AnalysisRun", metadata: { name: "r" }, status: { phase } }))];
        assert.deepStrictEqual(waitForMatches(annotation, objects), [false, false, false, true, true, true, true]);
        // The annotation it replaces waited for Successful only: a failed run waited out the timeout.
        assert.deepStrictEqual(waitForMatches("jsonpath={.status.phase}=Successful", objects), [false, false, false, true, false, false, false]);
    });

    it("a run that ends Failed or Inconclusive fails `pulumi up` with the run's reasons, and the stage outputs are not written", async () => {
        const failed = {
            phase: "Failed",
            message: 'Metric "error-ratio-vs-stable" assessed Failed due to failed (2) > failureLimit (1)',
            metricResults: [
                { name: "canary-requests", phase: "Successful", count: 2 },
                { name: "error-ratio-vs-stable", phase: "Failed", count: 2, failed: 2 },
            ],
        };
        const a = await runProgram({ stack: "dev", config: { weight: 5 }, analysisStatus: failed });
        assert.match(a.error?.message ?? "", /the stage's analysis podinfo-6-8-0-w5 ended Failed: Metric "error-ratio-vs-stable" assessed Failed due to failed \(2\) > failureLimit \(1\); error-ratio-vs-stable Failed: 2 failed, 0 inconclusive, 0 errors of 2 measurements/);
        assert.match(a.error?.message ?? "", /retry the stage with a new run \(`rollout retry`, `pulumi up`\)/);
        assert.deepStrictEqual(a.outputs, {}, "no outputs: the engine keeps the previous ones (stage, canaryVersion)");
        const b = await runProgram({ stack: "dev", config: { weight: 5 }, analysisStatus: { phase: "Inconclusive", message: "too few requests" } });
        assert.match(b.error?.message ?? "", /ended Inconclusive: too few requests/);
        const passed = await runProgram({ stack: "dev", config: { weight: 5 } });
        assert.ifError(passed.error);
        assert.deepStrictEqual([passed.outputs.stage, passed.outputs.canaryVersion], [5, "6.8.0"]);
        // Without waiting there is no gate: the stage is recorded when `up` returns.
        const unwaited = await runProgram({ stack: "dev", config: { weight: 5, analysis: { wait: false } }, analysisStatus: failed });
        assert.ifError(unwaited.error);
        assert.strictEqual(unwaited.outputs.stage, 5);
    });

    it("after a failed 25 the recorded stage is still 5: retrying 25 and rolling back are allowed, 50 is refused", async () => {
        const previous = { stage: 5, canaryVersion: "6.8.0" };
        for (const weight of [0, 25]) assert.ifError((await runProgram({ stack: "dev", config: { weight }, previous })).error);
        const skip = await runProgram({ stack: "dev", config: { weight: 50 }, previous });
        assert.match(skip.error?.message ?? "", /canary:weight = 50 skips a stage: the stack last applied weight 5/);
    });

    it("a retry (canary:analysis.attempt) starts a new run and changes nothing else", async () => {
        const a = await run({ stack: "dev", config: { weight: 25 } });
        const b = await run({ stack: "dev", config: { weight: 25, analysis: { attempt: 1 } } });
        assert.deepStrictEqual(analysisRuns(b.resources).map((r) => r.inputs.metadata.name), ["podinfo-6-8-0-w25-a1"]);
        assert.deepStrictEqual(changedBetween(a.resources, b.resources), [`${RUN} delivery-run`]);
        assert.strictEqual(analysisRunName("podinfo", "6.8.0", 25, 0), "podinfo-6-8-0-w25");
    });

    it("a promotion whose stable rollout fails does not write promotedVersion (prod stays locked)", async () => {
        const promote = { weight: 0, app: { stable: { image: "ghcr.io/stefanprodan/podinfo:6.8.0" } } };
        const ok = await runProgram({ stack: "dev", config: promote });
        assert.ifError(ok.error);
        assert.strictEqual(ok.outputs.promotedVersion, "6.8.0");
        const failed = await runProgram({ stack: "dev", config: promote, failResource: "podinfo-stable" });
        assert.match(failed.error?.message ?? "", /podinfo-stable failed to become ready/);
        assert.strictEqual(failed.outputs.promotedVersion, undefined);
    });

    it("runVerdict: Successful passes; anything else names the phase, the message and each metric that did not succeed", () => {
        assert.strictEqual(runVerdict("r", { phase: "Successful" }), undefined);
        assert.match(runVerdict("r", { phase: "Error", metricResults: [{ name: "m", phase: "Error", message: "connection refused", error: 5, count: 5 }] })!, /ended Error; m Error \(connection refused\): 0 failed, 0 inconclusive, 5 errors of 5 measurements/);
        assert.match(runVerdict("r", undefined)!, /ended without a phase/);
    });

    it("with canary:analysis.wait false the run starts but `pulumi up` does not wait for it", async () => {
        const { resources } = await run({ stack: "dev", config: { weight: 5, analysis: { wait: false } } });
        assert.deepStrictEqual(analysisRuns(resources)[0].inputs.metadata.annotations, {});
    });

    it("with canary:analysis.enabled false nothing of Argo Rollouts is installed", async () => {
        const { resources } = await run({ stack: "dev", config: { weight: 5, analysis: { enabled: false } } });
        assert.deepStrictEqual(resources.filter((r) => r.name.startsWith("delivery")), []);
    });

    it("interval, count and limits come from config", async () => {
        const { resources } = await run({ stack: "prod", config: { weight: 5, analysis: { interval: "30s", count: 10, failureLimit: 2, inconclusiveLimit: 3 } } });
        const [analysis] = analysisRuns(resources);
        const m = analysis.inputs.spec.metrics[1];
        assert.deepStrictEqual([m.interval, m.count, m.failureLimit, m.inconclusiveLimit], ["30s", 10, 2, 3]);
        assert.strictEqual(analysis.inputs.metadata.annotations["pulumi.com/timeoutSeconds"], String(10 * 30 + 180));
    });
});

describe("TLS", () => {
    it("dev on ingress-nginx: cert-manager (pinned), a self-signed ClusterIssuer and a Certificate that wait for it; the Ingresses use its Secret", async () => {
        const { error, resources } = await runProgram({ stack: "dev", config: { weight: 5, router: "nginx" } });
        assert.ifError(error);
        const manager = byName(resources, "tls-cert-manager");
        assert.strictEqual(manager.type, "kubernetes:helm.sh/v3:Release");
        // crds.enabled and crds.keep replace the deprecated installCRDs.
        assert.deepStrictEqual([manager.inputs.chart, manager.inputs.version, manager.inputs.namespace, manager.inputs.values], ["cert-manager", CHARTS.certManager.version, "cert-manager", { crds: { enabled: true, keep: true } }]);
        const issuer = byName(resources, "tls-issuer");
        assert.deepStrictEqual(issuer.inputs.spec, { selfSigned: {} });
        assert.ok(issuer.dependencies.includes(manager.urn), "the ClusterIssuer depends on cert-manager");
        const cert = byName(resources, "tls-certificate");
        assert.ok(cert.dependencies.includes(issuer.urn));
        assert.deepStrictEqual(cert.inputs.spec.dnsNames, ["podinfo.127.0.0.1.nip.io"]);
        // The stable Ingress serves the certificate for the host; ingress-nginx ignores a canary Ingress's tls.
        assert.deepStrictEqual(byName(resources, "route-stable").inputs.spec.tls, [{ hosts: ["podinfo.127.0.0.1.nip.io"], secretName: cert.inputs.spec.secretName }]);
        assert.strictEqual(byName(resources, "route-canary").inputs.spec.tls, undefined);
    });

    it("in-cluster prod: an ACME ClusterIssuer with HTTP-01 through ingress-nginx and the configured e-mail", async () => {
        const { error, resources } = await runProgram({ stack: "prod", config: { router: "nginx", tls: { acmeEmail: "ops@example.com" } } });
        assert.ifError(error);
        const acme = byName(resources, "tls-issuer").inputs.spec.acme;
        assert.strictEqual(acme.email, "ops@example.com");
        assert.deepStrictEqual(acme.solvers, [{ http01: { ingress: { ingressClassName: "nginx" } } }]);
    });

    it("ACME without an e-mail is a config error", async () => {
        const { error, resources } = await runProgram({ stack: "prod", config: { router: "nginx" }, previous: null });
        assert.match(error?.message ?? "", /canary:tls\.acmeEmail = \(not set\): is required when canary:tls\.issuer is acme/);
        assert.deepStrictEqual(resources, []);
    });

    it("ALB: the configured ACM certificate, or one created and DNS-validated in the hosted zone", async () => {
        const given = await runProgram({ stack: "prod" });
        assert.deepStrictEqual(ofType(given.resources, "aws:acm/certificate:Certificate"), []);
        const base = structuredClone(suiteConfig("prod")) as any;
        delete base.alb.certificateArn;
        const { error, resources } = await runProgram({ stack: "prod", baseConfig: base, config: { alb: { hostedZoneId: "Z0123456789ABC" } } });
        assert.ifError(error);
        const cert = byName(resources, "route-certificate");
        assert.deepStrictEqual([cert.inputs.domainName, cert.inputs.validationMethod], ["podinfo.example.com", "DNS"]);
        const record = byName(resources, "route-certificate-validation");
        assert.strictEqual(record.type, "aws:route53/record:Record");
        assert.strictEqual(record.inputs.zoneId, "Z0123456789ABC");
        const validation = ofType(resources, "aws:acm/certificateValidation:CertificateValidation")[0];
        assert.strictEqual(byName(resources, "route-https").inputs.certificateArn, validation.inputs.certificateArn);
        assert.ok(byName(resources, "route-https").dependencies.includes(validation.urn), "the listener waits for the validated certificate");
    });
});

describe("Istio routing", () => {
    const istio = (weight: number, previous?: number) =>
        runProgram({ stack: "dev", config: { router: "istio", weight }, ...(previous === undefined ? {} : { previous: { stage: previous, canaryVersion: "6.8.0" } }) });

    for (const weight of [0, 5, 25, 50, 100]) {
        it(`weight ${weight}: stable ${100 - weight}, canary ${weight}, sum 100, and the header route`, async () => {
            const { error, resources } = await istio(weight);
            assert.ifError(error);
            const vs = byName(resources, "route-virtualservice").inputs.spec;
            assert.deepStrictEqual(vs.gateways, ["istio-system/ingressgateway"]);
            const [header, weighted] = vs.http;
            assert.deepStrictEqual(header.match, [{ headers: { "x-canary": { exact: "always" } } }]);
            assert.strictEqual(header.route[0].destination.subset, "canary");
            const w = Object.fromEntries(weighted.route.map((r: any) => [r.destination.subset, r.weight]));
            assert.deepStrictEqual(w, { stable: 100 - weight, canary: weight });
            assert.strictEqual(w.stable + w.canary, 100);
        });
    }

    it("subsets by track; the VirtualService waits for both Deployments; the gateway's namespace may reach the pods", async () => {
        const { resources } = await istio(25);
        assert.deepStrictEqual(byName(resources, "route-destinationrule").inputs.spec.subsets, [
            { name: "stable", labels: { track: "stable" } },
            { name: "canary", labels: { track: "canary" } },
        ]);
        const vs = byName(resources, "route-virtualservice");
        for (const d of ofType(resources, "kubernetes:apps/v1:Deployment")) assert.ok(vs.dependencies.includes(d.urn));
        const from = byName(resources, "podinfo-netpol").inputs.spec.ingress[0].from;
        assert.strictEqual(from[0].namespaceSelector.matchLabels["kubernetes.io/metadata.name"], "istio-system");
    });

    it("5 → 25 changes only the VirtualService, the stage rule and the stage's AnalysisRun", async () => {
        const a = await istio(5);
        const b = await istio(25, 5);
        assert.deepStrictEqual(
            changedBetween(a.resources, b.resources).map((c) => c.split(" ")[1]).sort(),
            ["alerts-stage", "delivery-run", "route-virtualservice"],
        );
    });
});
