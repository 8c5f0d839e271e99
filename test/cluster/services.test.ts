/**
 * Two services on one platform, on a real API server: a platform stack (program platform/, stack
 * `lab`) through the real engine, whose outputs two service stacks of one project copy read by
 * StackReference (`canary:platform`): `podinfo` (the demo app) and `orders` (app/ordersMain.ts, the
 * repo's own OpenTelemetry-instrumented service on port 8090, its API key from a Secret, readiness on
 * /ready). Both walk 0 → 5 → 25 → 50 → 100 → promotion AT THE SAME TIME (each stage's two `pulumi up`s
 * run concurrently, each with its own traffic to its own tracks, each judged on its own), then a faulty
 * orders version fails its stage and is rolled back to 0 while podinfo's concurrent stage passes.
 *
 * The lab is demo/lab.ts's: the real Argo Rollouts controller out of cluster, the judge's bundle on the
 * host, a real Prometheus scraping each service's processes labelled as its tracks (kwok runs no
 * containers). What the platform would install here has no chart on this machine: monitoring, Argo
 * Rollouts and the Gateway are the lab's, logging and tracing off. Every assertion reads the cluster
 * through the API, or what the engine printed and recorded.
 */
import * as assert from "assert";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { API_KEY_ENV, ORDERS_PATHS } from "../../app/orders";
import { PLATFORM_DIR, rolloutCommand, Run, stackFileConfig, writeStackConfig } from "../../demo/engine";
import { eventually, ROOT } from "../../demo/host";
import { AnalysisRunObject, deploymentReady, Lab, ServiceStack, StageResult, stageRow, StageRow } from "../../demo/lab";

const STACK_TRACE = /\n\s+at .*\(.*:\d+:\d+\)/;
/** The orders service's Secret, which the test creates in its namespace, and the key its API key is under. */
const SECRET = { name: "orders-api", key: "apiKey" };
const ORDERS_IMAGE = "registry.example.com/orders";

type Row = StageRow & { readonly service: string };

/** A stage's result with when its `pulumi up` ran, to show two stacks' stages overlapped. */
type Timed = StageResult & { readonly from: number; readonly to: number };

describe("two services on one platform: podinfo and the orders service canaried at the same time, each through its own stack", function () {
    this.timeout(40 * 60_000);
    let lab: Lab;
    let platform: string;
    let podinfo: ServiceStack;
    let orders: ServiceStack;
    const rows: Row[] = [];

    const record = (service: ServiceStack | string, step: string, s: Pick<StageResult, "up" | "run" | "answer" | "gateSeconds">) =>
        rows.push({ service: typeof service === "string" ? service : service.stack, ...stageRow(step, s) });
    const timedStage = async (service: ServiceStack, extra: Record<string, unknown>): Promise<Timed> => {
        const from = Date.now();
        const s = await service.stage(extra);
        return { ...s, from, to: Date.now() };
    };
    /** One stage of each service, both `up`s at once; asserts they overlapped. */
    const together = async (step: string, p: Record<string, unknown>, o: Record<string, unknown>, during?: () => Promise<void>): Promise<[Timed, Timed]> => {
        const [ps, os] = await Promise.all([timedStage(podinfo, p), timedStage(orders, o), during?.()]);
        record(podinfo, step, ps);
        record(orders, step, os);
        assert.ok(ps.from < os.to && os.from < ps.to, `the two stages did not overlap: podinfo ${ps.from}..${ps.to}, orders ${os.from}..${os.to}`);
        return [ps, os];
    };
    /** A stage that must pass: the up succeeds on its own run's PROMOTE, in its own namespace, and a second preview changes nothing. */
    const passed = async (service: ServiceStack, s: StageResult) => {
        assert.strictEqual(s.up.status, 0, `${service.stack}: ${s.up.stdout.slice(-4000)}\n${s.up.stderr.slice(-2000)}`);
        const weight = service.config["canary:weight"] as number;
        assert.deepStrictEqual(await service.routeWeights(), [100 - weight, weight], service.stack);
        const out = service.outputs();
        assert.strictEqual(out.stage, weight);
        if (weight > 0) {
            assert.ok(s.routeMoved.seen && s.routeMoved.canaryReady, `${service.stack}: the route moved before the canary was ready: ${JSON.stringify(s.routeMoved)}`);
            ownRun(service, s.run);
            assert.strictEqual(s.run!.status?.phase, "Successful", JSON.stringify(s.run!.status));
            assert.strictEqual(s.answer?.decision, "PROMOTE", `${service.stack}: ${JSON.stringify(s.answer?.reasons)}`);
            assert.ok((s.answer!.canaryRequests ?? 0) > 0);
            assert.strictEqual(out.stageGate, "passed on the judge's PROMOTE");
            if (weight < 100) assert.strictEqual(out.canaryEvidence?.stages?.[String(weight)]?.canaryRequests, s.answer?.canaryRequests, JSON.stringify(out.canaryEvidence));
        }
        service.noChanges();
    };
    /** The stage's run is this service's: in its namespace, asking the judge about its app with its own metric contract. */
    const ownRun = (service: ServiceStack, run: AnalysisRunObject | undefined) => {
        assert.ok(run, `${service.stack}: the stage made no AnalysisRun`);
        assert.strictEqual((run.metadata as { namespace?: string }).namespace, service.namespace);
        const judge = (run.spec as any).metrics.find((m: { name: string }) => m.name === "judge");
        const asked = new URL(judge.provider.web.url).searchParams;
        assert.strictEqual(asked.get("namespace"), service.namespace);
        assert.strictEqual(asked.get("app"), service.app);
        const contract = service === orders ? ["http_server_request_duration_seconds", "http_response_status_code", "http_route"] : ["http_request_duration_seconds", "status", "path"];
        assert.deepStrictEqual([asked.get("histogram"), asked.get("statusLabel"), asked.get("routeLabel")], contract);
        if (service === orders) assert.strictEqual(asked.get("excludedRoutes"), "/ready,/live,/metrics,/faults");
    };

    before(async function () {
        const t0 = Date.now();
        lab = await Lab.start();
        // What the platform can install here: nothing with a chart (none on this machine). Prometheus, the
        // Argo Rollouts controller and the Gateway are the lab's; it exports them for its services.
        const p = lab.platform("lab", {
            "platform:environment": "dev",
            "platform:monitoring": { install: false, prometheusUrl: lab.live.promUrl },
            "platform:rollouts": { install: false },
            "platform:gateway": { install: false },
            "platform:logging": { enabled: false },
            "platform:tracing": { enabled: false },
        });
        platform = p.name;
        record("platform", "platform up", { up: p.up });
        console.log(`      control plane, controller, CRDs, Prometheus, judge and the platform stack up in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    });

    after(async function () {
        if (rows.length > 0) {
            const line = (cells: (string | number)[]) => `  ${cells.map((c, i) => String(c).padEnd(i === 1 ? 30 : 12)).join("")}`;
            console.log(line(["service", "step", "up s", "gate s", "decision", "canary req", "run"]));
            for (const r of rows) console.log(line([r.service, r.step, r.up.toFixed(1), r.gate?.toFixed(1) ?? "-", r.decision ?? "-", r.canaryRequests ?? "-", r.phase ?? "-"]));
        }
        await lab?.stop();
    });

    afterEach(function () {
        if (this.currentTest?.state === "failed" && lab) {
            for (const name of ["kube-apiserver", "rollouts-controller"]) console.log(`--- ${name}.log (last lines)\n${lab.cp.log(name, 15)}`);
        }
    });

    it("the platform stack exports the lab's Prometheus and no add-on of its own", () => {
        const out = JSON.parse(lab.engine.ok(["stack", "output", "--json", "--stack", "lab"], path.join(lab.project, PLATFORM_DIR)).stdout);
        assert.deepStrictEqual(
            { prometheusUrl: out.prometheusUrl, monitoringNamespace: out.monitoringNamespace, logging: out.logging, tracing: out.tracing, rollouts: out.rollouts, gateway: out.gateway },
            { prometheusUrl: lab.live.promUrl, monitoringNamespace: "monitoring", logging: false, tracing: false, rollouts: false, gateway: undefined },
        );
        // The stack file went into the copy's own platform directory, never into the repository's.
        assert.ok(fs.existsSync(path.join(lab.project, PLATFORM_DIR, "Pulumi.lab.yaml")) && !fs.existsSync(path.join(ROOT, PLATFORM_DIR, "Pulumi.lab.yaml")));
    });

    it("both service stacks' first ups at 0 at once, over the platform: the orders Deployments take the API key from the Secret, probe /ready, and route on their own HTTPRoute", async () => {
        const onPlatform = { "canary:environment": "dev", "canary:platform": platform, "canary:tls": { installCertManager: false }, ...lab.serviceConfig() };
        podinfo = lab.serviceStack("podinfo", { app: "podinfo", namespace: "podinfo", host: "podinfo.127.0.0.1.nip.io" }, { ...stackFileConfig(path.join(ROOT, "Pulumi.dev.yaml")), ...onPlatform });
        const ordersConfig = {
            ...onPlatform,
            "canary:weight": 0,
            "canary:app": {
                name: "orders",
                namespace: "orders",
                port: 8090,
                probes: { readiness: { path: ORDERS_PATHS.readiness }, liveness: { path: ORDERS_PATHS.liveness } },
                host: "orders.127.0.0.1.nip.io",
                env: [{ name: API_KEY_ENV, valueFrom: { secretKeyRef: SECRET } }],
                stable: { image: `${ORDERS_IMAGE}:1.4.0` },
                canary: { image: `${ORDERS_IMAGE}:1.5.0` },
            },
            // Its own probe, scrape and fault routes are not user requests.
            "canary:metrics": { preset: "opentelemetry", excludedRoutes: [ORDERS_PATHS.readiness, ORDERS_PATHS.liveness, ORDERS_PATHS.metrics, "/faults"] },
        };
        lab.engine.ok(["stack", "init", "orders"], lab.project);
        writeStackConfig(path.join(lab.project, "Pulumi.orders.yaml"), ordersConfig);
        // The orders pods' processes start only once the Secret their spec names is there: it goes into
        // the namespace the stack creates, while its pods wait for it (kwok reports them Running regardless).
        const key = randomBytes(24).toString("base64url");
        const createSecret = async () => {
            await eventually("namespace orders", async () => (await lab.cp.request("GET", "/api/v1/namespaces/orders")).status === 200, { intervalMs: 100, timeoutMs: 300_000 });
            const secret = { apiVersion: "v1", kind: "Secret", metadata: { name: SECRET.name, namespace: "orders" }, data: { [SECRET.key]: Buffer.from(key).toString("base64") } };
            const r = await lab.cp.request("POST", "/api/v1/namespaces/orders/secrets", secret);
            assert.strictEqual(r.status, 201, r.text);
        };
        const [p, o] = await Promise.all([podinfo.stage({}), lab.engine.start(["up", "--yes", "--skip-preview", "--stack", "orders"], lab.project), createSecret()]);
        record(podinfo, "first up at 0", p);
        record("orders", "first up at 0", { up: o as Run });
        assert.strictEqual((o as Run).status, 0, `${(o as Run).stdout.slice(-4000)}\n${(o as Run).stderr.slice(-2000)}`);
        const stored = await lab.get(`/api/v1/namespaces/orders/secrets/${SECRET.name}`);
        const readBack = Buffer.from(stored.data[SECRET.key], "base64").toString("utf8");
        assert.strictEqual(readBack, key);
        // Its pods' processes get the key as a kubelet gives it, from the Secret their spec names (demo/pods.ts).
        const service = { app: "orders", namespace: "orders", host: "orders.127.0.0.1.nip.io", faultHeaders: { authorization: `Bearer ${readBack}` } };
        lab.scrape(service);
        orders = new ServiceStack(lab, "orders", service, "/orders");
        orders.config = ordersConfig;
        await passed(podinfo, p);
        assert.strictEqual(orders.outputs().stage, 0);
        orders.noChanges();

        for (const track of ["stable", "canary"]) {
            const d = await lab.get(`/apis/apps/v1/namespaces/orders/deployments/orders-${track}`);
            assert.ok(deploymentReady(d), `orders-${track}: ${JSON.stringify(d.status)}`);
            const c = d.spec.template.spec.containers[0];
            assert.deepStrictEqual(c.env.find((e: { name: string }) => e.name === API_KEY_ENV), { name: API_KEY_ENV, valueFrom: { secretKeyRef: SECRET } });
            assert.ok(!JSON.stringify(d).includes(key), "the key itself is nowhere in the Deployment");
            // The probes name the container's port, which is the service's own 8090.
            assert.deepStrictEqual([c.readinessProbe.httpGet.path, c.livenessProbe.httpGet.path], ["/ready", "/live"]);
            const probed = c.ports.find((port: { name: string }) => port.name === c.readinessProbe.httpGet.port);
            assert.strictEqual(probed?.containerPort, 8090, JSON.stringify(c.ports));
            assert.strictEqual(c.image, `${ORDERS_IMAGE}:${track === "stable" ? "1.4.0" : "1.5.0"}`);
        }
        // Each service's route is its own, in its own namespace, for its own host and Services.
        const route = async (ns: string, app: string) => (await lab.get(`/apis/gateway.networking.k8s.io/v1/namespaces/${ns}/httproutes/${app}`)).spec;
        const [pr, or] = [await route("podinfo", "podinfo"), await route("orders", "orders")];
        assert.deepStrictEqual(or.hostnames, ["orders.127.0.0.1.nip.io"]);
        assert.deepStrictEqual(pr.hostnames, ["podinfo.127.0.0.1.nip.io"]);
        const backends = (spec: any) => spec.rules.at(-1).backendRefs.map((b: { name: string; port: number }) => `${b.name}:${b.port}`);
        assert.ok(backends(or).every((b: string) => b.startsWith("orders-")), backends(or).join(" "));
        assert.ok(backends(pr).every((b: string) => b.startsWith("podinfo-")), backends(pr).join(" "));
        // Nothing a service stack installed is the platform's: no chart, no namespace but its own, nothing outside it.
        for (const s of [podinfo, orders]) {
            const resources = JSON.parse(lab.engine.ok(["stack", "export", "--stack", s.stack], lab.project).stdout).deployment.resources as { type: string; outputs?: any }[];
            const k8s = resources.filter((r) => r.type.startsWith("kubernetes:") && r.type !== "pulumi:providers:kubernetes");
            assert.deepStrictEqual(k8s.filter((r) => r.type === "kubernetes:core/v1:Namespace").map((r) => r.outputs.metadata.name), [s.namespace], s.stack);
            assert.deepStrictEqual(k8s.filter((r) => /helm|Release/.test(r.type)), [], s.stack);
            // The dashboard's ConfigMap goes to the platform's monitoring namespace; everything else is the service's.
            const elsewhere = k8s.filter((r) => r.outputs?.metadata?.namespace !== undefined && r.outputs.metadata.namespace !== s.namespace).map((r) => `${r.type} ${r.outputs.metadata.namespace}/${r.outputs.metadata.name}`);
            assert.ok(elsewhere.length === 1 && elsewhere[0].startsWith("kubernetes:core/v1:ConfigMap monitoring/"), `${s.stack}: ${elsewhere.join(", ")}`);
        }
    });

    it("0 → 5 → 25 → 50 → 100 for both at the same time: each stage passes on its own run's PROMOTE, in its own namespace", async () => {
        let from = 0;
        for (const weight of [5, 25, 50, 100]) {
            const [p, o] = await together(`${from} → ${weight}`, { "canary:weight": weight }, { "canary:weight": weight });
            await passed(podinfo, p);
            await passed(orders, o);
            from = weight;
        }
        // Each namespace holds its own service's runs only (a stage's up replaces the stage before's run): the last stage's.
        for (const s of [podinfo, orders]) {
            const runs = await s.runs();
            assert.deepStrictEqual(runs.map((r) => r.metadata.labels?.["canary.stage/weight"]), ["100"], s.stack);
            assert.ok(runs.every((r) => r.metadata.name.startsWith(`${s.app}-`)), runs.map((r) => r.metadata.name).join(" "));
        }
    });

    it("promotion of both at once: each stable takes its canary's image and each stack exports its promoted version", async () => {
        const promote = (s: ServiceStack) => {
            const app = s.config["canary:app"] as any;
            return { "canary:weight": 0, "canary:app": { ...app, stable: { ...app.stable, image: app.canary.image } } };
        };
        const [p, o] = await together("promotion", promote(podinfo), promote(orders));
        await passed(podinfo, p);
        await passed(orders, o);
        assert.strictEqual(podinfo.outputs().promotedVersion, "6.8.0");
        assert.strictEqual(orders.outputs().promotedVersion, "1.5.0");
        const stable = await lab.get("/apis/apps/v1/namespaces/orders/deployments/orders-stable");
        assert.strictEqual(stable.spec.template.spec.containers[0].image, `${ORDERS_IMAGE}:1.5.0`);
    });

    it("a faulty orders 1.6.0 fails its stage with the judge's reasons and is rolled back to 0, while podinfo's 6.9.0 passes its concurrent stage", async () => {
        const canary = (s: ServiceStack, image: string) => ({ "canary:app": { ...(s.config["canary:app"] as any), canary: { image } } });
        const [p0, o0] = await together("new canaries at 0", canary(podinfo, "ghcr.io/stefanprodan/podinfo:6.9.0"), canary(orders, `${ORDERS_IMAGE}:1.6.0`));
        await passed(podinfo, p0);
        await passed(orders, o0);
        await orders.faults("canary", "errorRatio=0.2");
        try {
            const [p, o] = await together("0 → 5, orders faulty", { "canary:weight": 5 }, { "canary:weight": 5 });
            await passed(podinfo, p);
            assert.notStrictEqual(o.up.status, 0, o.up.stdout.slice(-3000));
            ownRun(orders, o.run);
            assert.strictEqual(o.run!.status?.phase, "Failed", JSON.stringify(o.run!.status));
            assert.strictEqual(o.answer?.decision, "ROLLBACK");
            assert.match(o.up.stdout, new RegExp(`the stage's analysis ${o.run!.metadata.name} ended Failed`));
            assert.match(o.up.stdout, /last answer: ROLLBACK: /, "the judge's reasons");
            assert.doesNotMatch(o.up.stdout + o.up.stderr, STACK_TRACE, "no JS stack trace");
            assert.strictEqual(orders.outputs().stage, 0, "a failed stage is not recorded");
            // As a user rolls back: `rollout rollback` writes weight 0 into the stack file, then `pulumi up`.
            const rb = await rolloutCommand(["rollback", "--stack", "orders"], lab.project, lab.engine.env);
            assert.strictEqual(rb.status, 0, rb.stdout + rb.stderr);
            orders.config = YAML.parse(fs.readFileSync(path.join(lab.project, "Pulumi.orders.yaml"), "utf8")).config;
            assert.strictEqual(orders.config["canary:weight"], 0);
            const back = await orders.stage({});
            record(orders, "rollback to 0", back);
            await passed(orders, back);
            assert.deepStrictEqual(await orders.routeWeights(), [100, 0]);
            // podinfo's stage stayed its own: at 5 on its PROMOTE, its run in its namespace.
            assert.deepStrictEqual(await podinfo.routeWeights(), [95, 5]);
            assert.strictEqual(podinfo.outputs().stage, 5);
        } finally {
            await orders.faults("canary", "errorRatio=0");
        }
    });
});
