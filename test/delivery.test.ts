/** Progressive delivery (Argo Rollouts analysis per stage), TLS (cert-manager, ACM) and Istio routing. */
import * as assert from "assert";
import { spawn } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { ANALYSIS_TIMEOUT_MARGIN_SECONDS, analysisRunName, analysisTimeoutSeconds, consecutiveErrorLimit, JUDGE_OUTAGE_SECONDS, judgeUrl, measurementCount, runVerdict, stageEvidence, stageObjectName, TERMINAL_PHASES } from "../components/delivery/analysis";
import { judgeBundle } from "../components/delivery/judge";
import { CHARTS } from "../components/platform/versions";
import { DEFAULT_METRICS } from "../domain/promql";
import { durationSeconds } from "../domain/duration";
import { DEFAULT_JUDGE_IMAGE } from "../stacks/schema";
import { judgeQuery } from "../rollout/serve";
import { byName, changedBetween, DEV_EVIDENCE, DEV_STACK, ofType, Registered, runProgram, RunOptions, suiteConfig, testDigest } from "./harness";
import { HOLD, PROMOTE, ROLLBACK, runMetric, WebAnswer } from "./argo";
import { waitForMatches } from "./tools";
import { tempDir } from "../demo/host";

const RUN = "kubernetes:argoproj.io/v1alpha1:AnalysisRun";
/** An external judge's token, as `pulumi config set --secret --path canary:analysis.judge.token` sets it. */
const EXTERNAL_TOKEN = "ext-judge-token-0123456789abcdefghijklmnopqrstu";
const scope = { namespace: "podinfo", app: "podinfo" };

function analysisRuns(resources: Registered[]): Registered[] {
    return ofType(resources, RUN);
}

describe("analysis (pure)", () => {
    const spec = { metrics: [{ name: "judge" }], args: [{ name: "weight", value: "5" }] };
    const names: [string, string, number, { entry: number; attempt: number }, RegExp][] = [
        ["podinfo", "6.8.0", 5, { entry: 1, attempt: 0 }, /^podinfo-6-8-0-w5-e1-[0-9a-f]{6}$/],
        ["podinfo", "6.8.0", 25, { entry: 12, attempt: 2 }, /^podinfo-6-8-0-w25-e12-a2-[0-9a-f]{6}$/],
        ["podinfo", "v2.0.0_RC1", 100, { entry: 3, attempt: 0 }, /^podinfo-v2-0-0-rc1-w100-e3-[0-9a-f]{6}$/],
        ["a-very-long-application-name-for-testing", "1.2.3-beta.4+build.5678901234", 50, { entry: 7, attempt: 1 }, /^a-very-long-application-name-for-testing-1-2-3-w50-e7-a1-[0-9a-f]{6}$/],
    ];
    for (const [app, version, weight, identity, want] of names) {
        it(`run name for ${app} ${version} at ${weight}: ${want}`, () => {
            const got = analysisRunName(app, version, weight, { ...identity, spec });
            assert.match(got, want);
            assert.ok(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(got) && got.length <= 63, got);
        });
    }

    it("a run's name is its question: the same spec the same name, any change to the spec a new one", () => {
        const name = (s: unknown, entry = 1) => analysisRunName("podinfo", "6.8.0", 5, { entry, attempt: 0, spec: s });
        assert.strictEqual(name(spec), name(structuredClone(spec)));
        assert.notStrictEqual(name({ ...spec, args: [{ name: "weight", value: "5" }, { name: "carry", value: "errors:-1.0000" }] }), name(spec));
        assert.notStrictEqual(name(spec, 2), name(spec), "a new entry into the stage");
        assert.strictEqual(stageObjectName("podinfo-load", "6.8.0", 25, 1), "podinfo-load-6-8-0-w25-a1");
    });

    it("durations and the wait timeout: every question until the deadline, each taking up to its timeout, one outage up to the error limit, plus a margin", () => {
        assert.deepStrictEqual(["30s", "1m", "2h"].map((d) => durationSeconds(d)), [30, 60, 7200]);
        assert.throws(() => durationSeconds("1 minute"));
        assert.strictEqual(measurementCount({ interval: "1m", deadline: "30m" } as any), 30);
        assert.strictEqual(measurementCount({ interval: "45s", deadline: "10m" } as any), 14, "the deadline rounds up to a whole question");
        // Argo retries an Error 10 s after it (analysis.go DefaultErrorRetryInterval), whatever the interval: 5 minutes is 30 errors.
        assert.strictEqual(consecutiveErrorLimit(), 30);
        const timeouts: [string, string, number][] = [
            // count × (interval + 30 s web timeout) + 30 × (10 s retry + 30 s) + 180 s
            ["15s", "30m", 120 * 45 + 30 * 40 + 180],
            ["1m", "30m", 30 * 90 + 30 * 40 + 180],
            ["30s", "10m", 20 * 60 + 30 * 40 + 180],
            ["45s", "10m", 14 * 75 + 30 * 40 + 180],
        ];
        for (const [interval, deadline, want] of timeouts) assert.strictEqual(analysisTimeoutSeconds({ interval, deadline } as any), want, `${interval} until ${deadline}`);
    });

    it("the judge's URL: the app, stages and metric contract fixed, the run and the stage as Argo arguments", () => {
        const url = judgeUrl("http://canary-judge.podinfo.svc:8080/", { scope, metrics: DEFAULT_METRICS, stages: [5, 25, 50, 100], ratios: [], deadline: "30m" });
        assert.strictEqual(
            url,
            "http://canary-judge.podinfo.svc:8080/judge?namespace=podinfo&app=podinfo&stages=5%2C25%2C50%2C100&histogram=http_request_duration_seconds&statusLabel=status&routeLabel=path&errorStatus=5..&excludedRoutes=healthz%2Creadyz%2Cmetrics&deadline=30m&run={{args.run}}&weight={{args.weight}}&carry={{args.carry}}&since={{args.since}}",
        );
        // Each ratio metric is one `ratio` parameter, which the judge reads back as it was configured.
        const checkout = { name: "checkout-failures", events: "checkouts_failed_total", total: "checkouts_total", bad: "up" } as const;
        const withRatio = judgeUrl("http://judge:8080", { scope, metrics: DEFAULT_METRICS, stages: [5, 25, 50, 100], ratios: [checkout], deadline: "30m" });
        assert.match(withRatio, /&ratio=checkout-failures%2Ccheckouts_failed_total%2Ccheckouts_total%2Cup&run=/);
        const query = new URL(withRatio.replace(/\{\{args\.(\w+)\}\}/g, (_m, a) => ({ run: "r", weight: "25", carry: "" })[a as string] ?? "")).searchParams;
        query.set("since", "2025-01-01T10:00:00Z");
        assert.deepStrictEqual(judgeQuery(query, new Date("2025-01-01T10:10:00Z")).ratios, [checkout]);
        // What the judge reads once Argo substituted the arguments.
        const asked = new URL(
            url.replace("{{args.run}}", "podinfo-6-8-0-w25").replace("{{args.weight}}", "25").replace("{{args.carry}}", "errors:-3.2000,latency:-3.1000").replace("{{args.since}}", "2026-12-06T21:00:00Z"),
        );
        assert.deepStrictEqual(Object.fromEntries(asked.searchParams), {
            namespace: "podinfo",
            app: "podinfo",
            stages: "5,25,50,100",
            histogram: "http_request_duration_seconds",
            statusLabel: "status",
            routeLabel: "path",
            errorStatus: "5..",
            excludedRoutes: "healthz,readyz,metrics",
            deadline: "30m",
            run: "podinfo-6-8-0-w25",
            weight: "25",
            carry: "errors:-3.2000,latency:-3.1000",
            since: "2026-12-06T21:00:00Z",
        });
    });
});

describe("progressive delivery: one AnalysisRun per stage", () => {
    const run = (opts: RunOptions) => runProgram(opts).then((r) => (assert.ifError(r.error), r));

    it("installs Argo Rollouts (pinned) and no ClusterAnalysisTemplate; the run has one metric: the judge, asked until it decides", async () => {
        const { resources } = await run({ stack: "dev", config: { weight: 5 } });
        const release = byName(resources, "delivery-argo-rollouts").inputs;
        assert.deepStrictEqual([release.chart, release.version, release.namespace], ["argo-rollouts", CHARTS.argoRollouts.version, "argo-rollouts"]);
        assert.deepStrictEqual(ofType(resources, "kubernetes:argoproj.io/v1alpha1:ClusterAnalysisTemplate"), [], "the run carries its metric itself");
        const spec = analysisRuns(resources)[0].inputs.spec;
        assert.deepStrictEqual(spec.args.map((a: { name: string }) => a.name), ["run", "weight", "carry", "since", "token"]);
        const [metric] = spec.metrics;
        assert.strictEqual(spec.metrics.length, 1, "no threshold metrics beside the judge");
        assert.deepStrictEqual(
            { ...metric, provider: undefined },
            {
                name: "judge",
                interval: "15s",
                count: 120,
                failureLimit: 0,
                inconclusiveLimit: 120,
                consecutiveSuccessLimit: 1,
                consecutiveErrorLimit: 30,
                successCondition: 'result.decision == "PROMOTE"',
                failureCondition: 'result.decision == "ROLLBACK"',
                provider: undefined,
            },
        );
        assert.deepStrictEqual(metric.provider.web, {
            url: judgeUrl("http://canary-judge.podinfo.svc:8080", { scope, metrics: DEFAULT_METRICS, stages: [5, 25, 50, 100], ratios: [], deadline: "30m" }),
            headers: [{ key: "Authorization", value: "Bearer {{args.token}}" }],
            jsonPath: "{$.gate}",
            timeoutSeconds: 30,
        });
    });

    it("Argo Rollouts' own rules turn the judge's answers into the run's end: PROMOTE Successful, ROLLBACK Failed, HOLD until the deadline then Inconclusive", async () => {
        const { resources } = await run({ stack: "dev", config: { weight: 5, analysis: { interval: "60s", deadline: "5m" } } });
        const [metric] = analysisRuns(resources)[0].inputs.spec.metrics;
        const cases: [string, WebAnswer[], { phase: string; asked: number }][] = [
            ["PROMOTE at once", [PROMOTE], { phase: "Successful", asked: 1 }],
            ["HOLD, then PROMOTE", [HOLD, HOLD, PROMOTE], { phase: "Successful", asked: 3 }],
            ["ROLLBACK at once", [ROLLBACK], { phase: "Failed", asked: 1 }],
            ["HOLD, then ROLLBACK", [HOLD, HOLD, HOLD, ROLLBACK], { phase: "Failed", asked: 4 }],
            ["HOLD until the deadline", [HOLD, HOLD, HOLD, HOLD, HOLD, PROMOTE], { phase: "Inconclusive", asked: 5 }],
            ["still HOLD before the deadline", [HOLD, HOLD], { phase: "Running", asked: 2 }],
            ["an unreachable judge now and then", [null, HOLD, null, PROMOTE], { phase: "Successful", asked: 4 }],
            ["a judge answering 400 (a bad query) until the error limit", Array(metric.consecutiveErrorLimit + 1).fill({ status: 400, body: '{"error":"weight=7 is not one of the stages"}' }), { phase: "Error", asked: metric.consecutiveErrorLimit + 1 }],
        ];
        for (const [what, answers, want] of cases) {
            const r = runMetric(metric, answers);
            assert.deepStrictEqual({ phase: r.status.phase, asked: r.asked }, want, what);
        }
        // Each phase the run can end in stops `pulumi up`'s wait.
        for (const [, , want] of cases.filter(([, , w]) => w.phase !== "Running")) assert.ok((TERMINAL_PHASES as readonly string[]).includes(want.phase));
    });

    it("a stage passes only on the judge's PROMOTE: Successful runs without one (terminated, an answer not the judge's, a controller older than v1.8) are not passed, and say which", async () => {
        const { resources } = await run({ stack: "dev", config: { weight: 5, analysis: { interval: "60s", deadline: "5m" } } });
        const [metric] = analysisRuns(resources)[0].inputs.spec.metrics;
        const passed = runMetric(metric, [HOLD, PROMOTE]);
        assert.strictEqual(passed.status.phase, "Successful");
        assert.strictEqual(runVerdict("r", passed.status), undefined);
        assert.strictEqual(stageEvidence(passed.status)?.decision, "PROMOTE");
        const html = "<html><body>Sign in</body></html>";
        const cases: [string, ReturnType<typeof runMetric>, RegExp][] = [
            // An SSO proxy in front of the judge URL: webmetric.go keeps a body that is not JSON as a Successful value.
            ["an HTML page with 200", runMetric(metric, [{ status: 200, body: html }]), /ended Successful without a PROMOTE from the judge: its last measurement is not the judge's answer: "<html><body>Sign in<\/body><\/html>"/],
            // `kubectl argo rollouts terminate analysisrun` sets spec.terminate: an unfinished metric ends Successful.
            ["HOLDs, then terminated", runMetric(metric, [HOLD, HOLD, HOLD], { terminateAfter: 2 }), /ended Successful without a PROMOTE from the judge: the run was terminated \(Run Terminated: spec\.terminate/],
            ["terminated before any measurement", runMetric(metric, [HOLD], { terminateAfter: 0 }), /the run was terminated/],
            // A v1.7 controller (its CRD drops consecutiveSuccessLimit): HOLD until the count ends Successful.
            ["a controller older than v1.8", runMetric({ ...metric, consecutiveSuccessLimit: undefined }, Array(5).fill(HOLD)), /ended Successful without a PROMOTE from the judge: no PROMOTE recorded \(the last answer: HOLD: hold for the test\).*v1\.8/],
        ];
        for (const [what, r, message] of cases) {
            assert.strictEqual(r.status.phase, "Successful", `${what}: Argo ends it Successful`);
            assert.match(runVerdict("r", r.status) ?? "passed", message, what);
            assert.strictEqual(stageEvidence(r.status), undefined, `${what}: no evidence recorded`);
        }
        assert.match(runVerdict("r", { phase: "Successful" }) ?? "passed", /no PROMOTE recorded/);
        // What `pulumi up` reads back: the live spec's terminate, even when the status says nothing of it.
        const terminated = runMetric(metric, [HOLD, HOLD], { terminateAfter: 1 }).status;
        assert.match(runVerdict("r", { ...terminated, message: "" }, true) ?? "passed", /the run was terminated/);
        // Through the program: the stage fails with the reasons only (no stack trace) and its outputs are not written.
        const proxied = await runProgram({ stack: "dev", config: { weight: 5 }, analysisStatus: cases[0][1].status as Record<string, unknown> });
        assert.match(proxied.error?.message ?? "", /not the judge's answer/);
        assert.strictEqual((proxied.error as { hideStack?: boolean } | undefined)?.hideStack, true, "a ResourceError with hideStack: the reasons only");
        assert.doesNotMatch(proxied.error?.stack ?? "", /\n\s+at /, "no stack frames for the runner's span to format (messageOnly)");
        assert.deepStrictEqual(proxied.outputs, {});
    });

    it("a judge restart of a few minutes only delays: Argo retries an Error every 10 s and the metric's consecutiveErrorLimit outlasts the outage", async () => {
        const { resources } = await run({ stack: "dev", config: { weight: 5 } });
        const [metric] = analysisRuns(resources)[0].inputs.spec.metrics;
        assert.strictEqual(metric.consecutiveErrorLimit, consecutiveErrorLimit());
        const outage = Array(Math.ceil(JUDGE_OUTAGE_SECONDS / 10)).fill(null);
        const r = runMetric(metric, [HOLD, ...outage, HOLD, PROMOTE]);
        assert.strictEqual(r.status.phase, "Successful");
        assert.ok(r.elapsedSeconds >= JUDGE_OUTAGE_SECONDS, `the errors spanned ${r.elapsedSeconds} s`);
        // With Argo's default limit (4) the same outage ends the run Error after 5 errors (about 40 s).
        assert.strictEqual(runMetric({ ...metric, consecutiveErrorLimit: undefined }, [HOLD, ...outage, PROMOTE]).status.phase, "Error");
    });

    it("`pulumi up` ends on the run's verdict, not on its timeout, in the worst case Argo allows: every answer at the web timeout, an outage up to the error limit, HOLD until the count", async () => {
        for (const analysis of [{}, { interval: "30s", deadline: "10m" }, { interval: "60s", deadline: "2m" }]) {
            const { resources } = await run({ stack: "dev", config: { weight: 5, analysis } });
            const [r0] = analysisRuns(resources);
            const [metric] = r0.inputs.spec.metrics;
            const outage = Array(metric.consecutiveErrorLimit).fill(null);
            const worst = runMetric(metric, [...outage, ...Array(metric.count).fill(HOLD)], { tookSeconds: metric.provider.web.timeoutSeconds });
            assert.strictEqual(worst.status.phase, "Inconclusive");
            const timeout = Number(r0.inputs.metadata.annotations["pulumi.com/timeoutSeconds"]);
            assert.ok(worst.elapsedSeconds + ANALYSIS_TIMEOUT_MARGIN_SECONDS <= timeout, `${JSON.stringify(analysis)}: the run ends at ${worst.elapsedSeconds} s, the wait at ${timeout} s`);
        }
    });

    it("the judge runs in the app namespace: the bundled `rollout serve` in a ConfigMap, the pinned node image, hardened, rolled on a new bundle", async () => {
        const { resources } = await run({ stack: "dev", config: { weight: 5 } });
        const code = byName(resources, "delivery-judge-code").inputs;
        assert.deepStrictEqual([code.metadata.name, code.metadata.namespace], ["canary-judge", "podinfo"]);
        assert.strictEqual(code.data["judge.js"], judgeBundle());
        const d = byName(resources, "delivery-judge-deployment").inputs;
        const c = d.spec.template.spec.containers[0];
        assert.strictEqual(c.image, DEFAULT_JUDGE_IMAGE);
        assert.deepStrictEqual(c.command, ["node", "/judge/judge.js", "--prometheus", "http://kps-prometheus.monitoring.svc.cluster.local:9090", "--listen", "0.0.0.0:8080", "--token-file", "/var/run/canary-judge/token"]);
        assert.strictEqual(d.spec.template.metadata.annotations["canary.judge/code-sha256"], createHash("sha256").update(judgeBundle()).digest("hex"));
        assert.deepStrictEqual(d.spec.template.spec.volumes[0], { name: "code", configMap: { name: "canary-judge" } });
        assert.strictEqual(byName(resources, "delivery-judge-service").inputs.spec.ports[0].port, 8080);
        const runs = analysisRuns(resources);
        for (const dep of ["delivery-judge-deployment", "delivery-judge-service"]) assert.ok(runs[0].dependencies.includes(byName(resources, dep).urn), `the run waits for ${dep}`);
        // Bring your own judge: nothing installed, the run asks the given URL.
        const byo = await run({ stack: "dev", config: { weight: 5, analysis: { judge: { install: false, url: "http://judge.ops:8080", token: EXTERNAL_TOKEN } } } });
        assert.deepStrictEqual(byo.resources.filter((r) => r.name.startsWith("delivery-judge")).map((r) => r.type), ["kubernetes:core/v1:Secret"], "only the token's Secret");
        assert.match(analysisRuns(byo.resources)[0].inputs.spec.metrics[0].provider.web.url, /^http:\/\/judge\.ops:8080\/judge\?namespace=podinfo&/);
        const missing = await runProgram({ stack: "dev", config: { analysis: { judge: { install: false } } } });
        assert.match(missing.error?.message ?? "", /canary:analysis\.judge\.url = \(not set\): is required when canary:analysis\.judge\.install is false/);
        const short = await runProgram({ stack: "dev", config: { analysis: { interval: "5m", deadline: "5m" } } });
        assert.match(short.error?.message ?? "", /canary:analysis\.deadline = "5m": must be at least two intervals/);
    });

    it("the installed judge is scraped like the app: its own ServiceMonitor selects the judge's Service (the app's does not), /metrics with the judge's labels kept, after the CRDs", async () => {
        const { resources } = await run({ stack: "dev", config: { weight: 5 } });
        const sm = byName(resources, "delivery-judge-servicemonitor");
        const svc = byName(resources, "delivery-judge-service").inputs;
        for (const [k, v] of Object.entries<string>(sm.inputs.spec.selector.matchLabels)) assert.strictEqual(svc.metadata.labels[k], v, `the judge's Service has ${k}=${v}`);
        const appSelector = byName(resources, "podinfo-servicemonitor").inputs.spec.selector.matchLabels;
        assert.ok(Object.entries<string>(appSelector).some(([k, v]) => svc.metadata.labels[k] !== v), "the app's ServiceMonitor does not scrape the judge as the app");
        assert.deepStrictEqual(sm.inputs.spec.endpoints, [{ port: svc.spec.ports[0].name, path: "/metrics", interval: "15s", honorLabels: true }]);
        assert.strictEqual(sm.inputs.metadata.namespace, "podinfo");
        assert.ok(sm.dependencies.includes(byName(resources, "monitoring-kube-prometheus-stack").urn), "waits for the CRDs");
    });

    it("the judge's bundle runs on a plain node: it answers /healthz, and HOLD when its Prometheus is unreachable", async () => {
        const dir = tempDir("judge-bundle");
        fs.writeFileSync(path.join(dir, "judge.js"), judgeBundle());
        const port = await new Promise<number>((resolve) => {
            const s = net.createServer().listen(0, "127.0.0.1", () => {
                const p = (s.address() as net.AddressInfo).port;
                s.close(() => resolve(p));
            });
        });
        const judge = spawn(process.execPath, [path.join(dir, "judge.js"), "--prometheus", "http://127.0.0.1:9", "--listen", `127.0.0.1:${port}`], { stdio: "ignore" });
        try {
            const base = `http://127.0.0.1:${port}`;
            const until = Date.now() + 10_000;
            while (!(await fetch(`${base}/healthz`).then((r) => r.ok, () => false))) {
                assert.ok(Date.now() < until, "the bundled judge did not start");
                await new Promise((r) => setTimeout(r, 100));
            }
            const body = await (await fetch(`${base}/judge?namespace=podinfo&app=podinfo&weight=5&since=5m`)).json();
            assert.strictEqual(body.decision, "HOLD");
            assert.strictEqual(body.gate.decision, "HOLD");
            assert.match(body.gate.reasons[0], /^Prometheus at http:\/\/127\.0\.0\.1:9 is unreachable/);
            // prom-client in the bundle: a run's decision on /metrics, in the exposition format.
            await fetch(`${base}/judge?namespace=podinfo&app=podinfo&weight=5&run=podinfo-6-8-0-w5&since=${new Date(Date.now() - 60_000).toISOString()}`);
            const metrics = await fetch(`${base}/metrics`);
            assert.match(metrics.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
            assert.match(await metrics.text(), /^canary_judge_decision\{run="podinfo-6-8-0-w5",app="podinfo",namespace="podinfo",weight="5",decision="HOLD"\} 1$/m);
        } finally {
            await new Promise((r) => (judge.once("exit", r), judge.kill("SIGTERM")));
        }
        assert.strictEqual(judge.exitCode, 0, "SIGTERM stops it cleanly");
        // docs/gate.md gives the bundle's size as esbuild makes it, to the nearest 10 KB.
        const [, kb] = /what it imports \(about (\d+) KB\)/.exec(fs.readFileSync(path.join(__dirname, "..", "docs", "gate.md"), "utf8")) ?? [];
        assert.strictEqual(Number(kb), Math.round(Buffer.byteLength(judgeBundle()) / 10_000) * 10, "docs/gate.md's judge bundle size");
    });

    it("the run's name is the same for the same stage, new for a new stage or version; none at weight 0", async () => {
        const name = async (opts: RunOptions) => analysisRuns((await run(opts)).resources).map((r) => r.inputs.metadata.name);
        const a = await name({ stack: "prod", config: { weight: 25 } });
        const b = await name({ stack: "prod", config: { weight: 25 } });
        const c = await name({ stack: "prod", config: { weight: 50 } });
        const d = await name({
            stack: "prod",
            config: { weight: 25, app: { canary: { image: `ghcr.io/stefanprodan/podinfo:6.9.0@${testDigest("9")}` } } },
            stackOutputs: { [DEV_STACK]: { promotedVersion: "6.9.0", promotionEvidence: { ...DEV_EVIDENCE, version: "6.9.0", image: `ghcr.io/stefanprodan/podinfo@${testDigest("9")}` } } },
        });
        assert.match(a[0], /^podinfo-6-8-0-w25-e0-[0-9a-f]{6}$/);
        assert.deepStrictEqual(b, a);
        assert.match(c[0], /^podinfo-6-8-0-w50-e0-[0-9a-f]{6}$/);
        assert.match(d[0], /^podinfo-6-9-0-w25-e0-[0-9a-f]{6}$/);
        assert.deepStrictEqual(await name({ stack: "prod", config: { weight: 0 } }), []);
    });

    it("a finished run is never asked a different question: a raised deadline or a new ratio is a new run", async () => {
        const name = async (analysis: Record<string, unknown>) => analysisRuns((await run({ stack: "dev", config: { weight: 25, analysis } })).resources)[0].inputs.metadata.name;
        const before = await name({});
        assert.strictEqual(await name({}), before);
        assert.notStrictEqual(await name({ deadline: "45m" }), before);
        assert.notStrictEqual(await name({ ratios: [{ name: "checkout-failures", events: "checkouts_failed_total", total: "checkouts_total", bad: "up" }] }), before);
    });

    it("a rollback and a second try at the same weight start a new run (its own window); a repeated `up` keeps the run", async () => {
        const at = async (weight: number, previous: { stage: number; entry: number }) => {
            const r = await run({ stack: "dev", config: { weight }, previous: { ...previous, canaryVersion: "6.8.0" } });
            return { names: analysisRuns(r.resources).map((x) => x.inputs.metadata.name), entry: r.outputs.stageEntry };
        };
        const first = await at(5, { stage: 0, entry: 1 });
        assert.strictEqual(first.entry, 2);
        assert.match(first.names[0], /-w5-e2-/);
        assert.deepStrictEqual(await at(5, { stage: 5, entry: 2 }), first, "the same stage again: the same run");
        const rolledBack = await at(0, { stage: 5, entry: 2 });
        assert.deepStrictEqual(rolledBack, { names: [], entry: 3 });
        const again = await at(5, { stage: 0, entry: 3 });
        assert.match(again.names[0], /-w5-e4-/);
        assert.notStrictEqual(again.names[0], first.names[0]);
        // The second try's window is its own: a new run starts at the time its `up` runs, whatever the first try's was.
        const firstTry = { name: first.names[0], since: "2025-01-01T10:00:00Z" };
        const secondTry = await run({ stack: "dev", config: { weight: 5 }, previous: { stage: 0, entry: 3, canaryVersion: "6.8.0" }, previousRun: firstTry, now: new Date("2025-01-01T11:00:00Z") });
        assert.strictEqual(analysisRuns(secondTry.resources)[0].inputs.spec.args.find((a: { name: string }) => a.name === "since").value, "2025-01-01T11:00:00Z", "not the first try's start");
    });

    for (const [stack, router, route] of [
        ["prod", "alb", "route-weighted"],
        ["dev", "gateway", "route-httproute"],
        ["dev", "nginx", "route-canary"],
        ["dev", "istio", "route-virtualservice"],
    ] as const) {
        it(`${stack}/${router}: pulumi up waits for the run (waitFor, timeout), which starts after the routing moved`, async () => {
            const { resources } = await run({ stack, config: { weight: 5, router, ...(router === "istio" ? { loadTest: { target: ISTIO_ENTRY } } : {}) } });
            const [analysis] = analysisRuns(resources);
            assert.deepStrictEqual(analysis.inputs.metadata.annotations, {
                "pulumi.com/waitFor": "jsonpath={$[?@.phase=='Successful' || @.phase=='Failed' || @.phase=='Error' || @.phase=='Inconclusive']}",
                "pulumi.com/timeoutSeconds": "6780",
            });
            assert.ok(analysis.dependencies.includes(byName(resources, route).urn), `the run depends on ${route}`);
            // On a fresh cluster the first stage's queries need Prometheus and the ServiceMonitor first.
            for (const source of ["monitoring-kube-prometheus-stack", "podinfo-servicemonitor"]) {
                assert.ok(analysis.dependencies.includes(byName(resources, source).urn), `the run depends on ${source}`);
            }
            assert.deepStrictEqual(analysis.inputs.spec.args, [
                { name: "run", value: analysis.inputs.metadata.name },
                { name: "weight", value: "5" },
                { name: "carry", value: "" },
                { name: "since", value: "2026-12-06T21:00:00Z" },
                { name: "token", valueFrom: { secretKeyRef: { name: "canary-judge-token", key: "token" } } },
            ]);
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
        assert.match(a.error?.message ?? "", /the stage's analysis podinfo-6-8-0-w5-e0-[0-9a-f]{6} ended Failed: Metric "error-ratio-vs-stable" assessed Failed due to failed \(2\) > failureLimit \(1\); error-ratio-vs-stable Failed: 2 failed, 0 inconclusive, 0 errors of 2 measurements/);
        assert.match(a.error?.message ?? "", /retry the stage with a new run \(`rollout retry`, `pulumi up`\)/);
        assert.deepStrictEqual(a.outputs, {}, "no outputs: the engine keeps the previous ones (stage, canaryVersion)");
        // The judge's last answer, as Argo keeps it (the web metric's value as JSON), says why.
        const judged = {
            phase: "Failed",
            metricResults: [{ name: "judge", phase: "Failed", count: 2, failed: 1, inconclusive: 1, measurements: [{ value: JSON.stringify({ decision: "ROLLBACK", reasons: ["errors: canary 40/200 5xx (20.00%) vs stable 0.50%; regression"] }) }] }],
        };
        const c = await runProgram({ stack: "dev", config: { weight: 5 }, analysisStatus: judged });
        assert.match(c.error?.message ?? "", /judge Failed: 1 failed, 1 inconclusive, 0 errors of 2 measurements; last answer: ROLLBACK: errors: canary 40\/200 5xx \(20\.00%\) vs stable 0\.50%; regression\./);
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
        assert.match(analysisRuns(b.resources)[0].inputs.metadata.name, /^podinfo-6-8-0-w25-e0-a1-[0-9a-f]{6}$/);
        assert.deepStrictEqual(changedBetween(a.resources, b.resources), [`${RUN} delivery-run`, "kubernetes:batch/v1:Job load-job"], "a new run, and a new load for it");
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

    it("runVerdict: anything but Successful names the phase, the message and each metric that did not succeed", () => {
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

    it("interval and deadline come from config: the questions, their limits and the wait follow", async () => {
        const { resources } = await run({ stack: "prod", config: { weight: 5, analysis: { interval: "30s", deadline: "10m" } } });
        const [analysis] = analysisRuns(resources);
        const m = analysis.inputs.spec.metrics[0];
        assert.deepStrictEqual([m.interval, m.count, m.failureLimit, m.inconclusiveLimit, m.consecutiveSuccessLimit, m.consecutiveErrorLimit], ["30s", 20, 0, 20, 1, 30]);
        assert.strictEqual(analysis.inputs.metadata.annotations["pulumi.com/timeoutSeconds"], String(analysisTimeoutSeconds({ interval: "30s", deadline: "10m" } as any)));
    });

    it("canary:analysis.controllerInstanceId labels the run for a controller started with --instance-id; no label without it", async () => {
        const labelled = analysisRuns((await run({ stack: "dev", config: { weight: 5, analysis: { controllerInstanceId: "team-a" } } })).resources)[0];
        assert.strictEqual(labelled.inputs.metadata.labels["argo-rollouts.argoproj.io/controller-instance-id"], "team-a");
        const plain = analysisRuns((await run({ stack: "dev", config: { weight: 5 } })).resources)[0];
        assert.ok(!("argo-rollouts.argoproj.io/controller-instance-id" in plain.inputs.metadata.labels));
        const bad = await runProgram({ stack: "dev", config: { analysis: { controllerInstanceId: "team a!" } } });
        assert.match(bad.error?.message ?? "", /canary:analysis\.controllerInstanceId = "team a!": must be a Kubernetes label value/);
    });

    it("canary:analysis.interval takes only what Go's time.ParseDuration (Argo's parser) takes: no d, w or y", async () => {
        for (const interval of ["1d", "1w", "1y", "15"]) {
            const r = await runProgram({ stack: "dev", config: { analysis: { interval, deadline: "30d" } } });
            assert.match(r.error?.message ?? "", new RegExp(`canary:analysis\\.interval = "${interval}": must be a Go duration .*ms, s, m or h.*not d, w or y`), interval);
        }
        for (const interval of ["500ms", "15s", "2m", "1h"]) assert.ifError((await runProgram({ stack: "dev", config: { weight: 5, analysis: { interval, deadline: "2h" } } })).error);
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

/** The Istio ingress gateway's Service as pods reach it: the program cannot know it, so the load test is told. */
const ISTIO_ENTRY = "http://istio-ingressgateway.istio-system.svc:80";

describe("Istio routing", () => {
    const istio = (weight: number, previous?: number) =>
        runProgram({ stack: "dev", config: { router: "istio", weight, loadTest: { target: ISTIO_ENTRY } }, ...(previous === undefined ? {} : { previous: { stage: previous, canaryVersion: "6.8.0" } }) });

    for (const weight of [0, 5, 25, 50, 100]) {
        it(`weight ${weight}: stable ${100 - weight}, canary ${weight}, sum 100, and no header route`, async () => {
            const { error, resources } = await istio(weight);
            assert.ifError(error);
            const vs = byName(resources, "route-virtualservice").inputs.spec;
            assert.deepStrictEqual(vs.gateways, ["istio-system/ingressgateway"]);
            assert.strictEqual(vs.http.length, 1, "the weighted route only");
            const [weighted] = vs.http;
            assert.strictEqual(weighted.match, undefined, "the one catch-all route");
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
        for (const d of ofType(resources, "kubernetes:apps/v1:Deployment").filter((d) => d.name.startsWith("podinfo-"))) assert.ok(vs.dependencies.includes(d.urn), d.name);
        const from = byName(resources, "podinfo-netpol").inputs.spec.ingress[0].from;
        assert.strictEqual(from[0].namespaceSelector.matchLabels["kubernetes.io/metadata.name"], "istio-system");
    });

    it("with canary:header.enabled: a preview subset, and a second VirtualService for the same host and gateway with only the header route", async () => {
        const { error, resources } = await runProgram({ stack: "dev", config: { router: "istio", weight: 25, loadTest: { target: ISTIO_ENTRY }, header: { enabled: true } } });
        assert.ifError(error);
        assert.deepStrictEqual(byName(resources, "route-destinationrule").inputs.spec.subsets.map((s: any) => s.name), ["stable", "canary", "preview"]);
        const weighted = byName(resources, "route-virtualservice").inputs.spec;
        const preview = byName(resources, "route-preview").inputs.spec;
        // Istio merges VirtualServices of one host only on a gateway, and moves the catch-all last.
        assert.deepStrictEqual([preview.hosts, preview.gateways], [weighted.hosts, weighted.gateways]);
        assert.strictEqual(preview.http.length, 1);
        assert.ok(preview.http[0].match.every((m: any) => Object.keys(m.headers).length > 0), "not a catch-all");
        assert.deepStrictEqual(preview.http[0].route.map((r: any) => r.destination.subset), ["preview"]);
    });

    it("5 → 25 changes only the VirtualService, the stage rule and the stage's AnalysisRun", async () => {
        const a = await istio(5);
        const b = await istio(25, 5);
        assert.deepStrictEqual(
            changedBetween(a.resources, b.resources).map((c) => c.split(" ")[1]).sort(),
            ["alerts-stage", "delivery-run", "load-job", "route-virtualservice"],
        );
    });
});

describe("canary:metrics reaches every consumer: the stage's run, the rules and the dashboard", () => {
    it("a Micrometer app with its own error regex: the judge is asked with that contract, and every rule and panel selects its histogram and labels", async () => {
        const { error, resources } = await runProgram({ stack: "dev", config: { weight: 5, metrics: { preset: "micrometer", errorStatus: "5..|429" } } });
        assert.ifError(error);
        const url = new URL(analysisRuns(resources)[0].inputs.spec.metrics[0].provider.web.url);
        assert.deepStrictEqual(
            ["histogram", "statusLabel", "routeLabel", "errorStatus", "excludedRoutes"].map((k) => url.searchParams.get(k)),
            ["http_server_requests_seconds", "status", "uri", "5..|429", "/actuator/health,/actuator/health/**,/actuator/prometheus"],
        );
        const rules: string[] = byName(resources, "alerts-rules").inputs.spec.groups.flatMap((g: any) => g.rules.map((r: any) => r.expr));
        const model = JSON.parse(Object.values<string>(byName(resources, "dashboard-dashboard").inputs.data)[0]);
        const panels: string[] = model.panels.flatMap((p: any) => p.targets.map((t: any) => t.expr));
        for (const e of [...rules, ...panels]) {
            assert.ok(!e.includes("http_request_duration_seconds_"), `prom-client's histogram in ${e}`);
            for (const sel of e.match(/http_server_requests_seconds_(count|bucket)\{[^}]*\}/g) ?? []) assert.ok(sel.includes('uri!~"/actuator/health|/actuator/health/\\\\*\\\\*|/actuator/prometheus"'), sel);
        }
        assert.ok(rules.some((e) => e.includes('status=~"5..|429"')), "the errors are the stack's errorStatus");
        assert.ok(panels.some((e) => e.includes("http_server_requests_seconds_count")), "the dashboard reads the app's histogram");
    });
});
