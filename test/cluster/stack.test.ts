/**
 * The dev stack on a real API server: `pulumi up` through the toolchain's engine (CLI, language host
 * and Kubernetes provider built from Go modules) against the local control plane (test/cluster/
 * controlplane.ts), with the real Argo Rollouts controller running each stage's AnalysisRun out of
 * cluster, asking the program's own judge bundle on the host (two replicas behind a round robin, with
 * the stack's bearer token), which reads a real Prometheus that finds the pods' processes (demo/pods.ts:
 * a demo-app process on each pod's IP) through the API server. The stage's traffic goes through Traefik,
 * the Gateway's data plane, by the route's weights (demo/lab.ts). The test drives the traffic and the
 * faults, and fires hostile asks at the judge. Bring-your-own add-ons: the CRDs come from upstream
 * modules (scripts/controlplane.sh), no Helm release is installed, and there are no containers (kwok's node).
 *
 * Every assertion reads the cluster through the API, or what the engine printed and recorded.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import * as YAML from "yaml";
import { runAnswers } from "../../demo/charts";
import { timed } from "../../demo/engine";
import { eventually, ROOT, sleep, tempDir } from "../../demo/host";
import { JUDGE_TEST_TOKEN } from "../../demo/engine";
import { AnalysisRunObject, APP_NAMESPACE as NS, deploymentReady, HEADER_PROBE, Lab, ServiceStack, STAGE_RATE, StageResult, stageRow, StageRow } from "../../demo/lab";
import { queryVector } from "../../demo/live";
import { imageParts } from "../../demo/pods";
import { describeSplit, split } from "../../demo/split";
import { durationSeconds } from "../../domain/duration";
import { DEFAULT_POLICY } from "../../domain/decide";
import { agreement } from "../../domain/replay";
import { defaultIo, main } from "../../rollout/cli";

const STACK = "organization/canary/dev";
const STACK_TRACE = /\n\s+at .*\(.*:\d+:\d+\)/;


describe("the dev stack on a real API server, with the real Argo Rollouts controller and the real judge", function () {
    this.timeout(90 * 60_000);
    let lab: Lab;
    let dev: ServiceStack;
    let origin: string;
    const rows: StageRow[] = [];

    const record = (step: string, s: Pick<StageResult, "up" | "run" | "answer" | "gateSeconds">) =>
        rows.push(stageRow(step, s));
    const get = (urlPath: string) => lab.get(urlPath);
    const runs = () => dev.runs();
    const runNamed = (name: string): Promise<AnalysisRunObject> => get(`/apis/argoproj.io/v1alpha1/namespaces/${NS}/analysisruns/${name}`);
    const outputs = () => dev.outputs();
    const noChanges = () => lab.engine.ok(["preview", "--expect-no-changes"], lab.project);
    /** The stage's run, once the controller has taken at least one measurement of it. */
    const measuring = (weight: number) =>
        eventually(`the run at ${weight} measuring`, async () => (await runs()).find((r) => r.metadata.labels?.["canary.stage/weight"] === String(weight) && (r.status?.metricResults?.[0]?.count ?? 0) >= 1));

    /**
     * The stage's run replayed, as issue 34 checks it: `rollout replay --record` from the lab's Prometheus
     * over the run's window (its `since`, weight and carry; to a few looks past the live decision) into a
     * recording in the lab's dir, then that recording replayed with no Prometheus: the same replay, and
     * the live judge's decision at the same look (`agreement`: a ROLLBACK may be one look apart, and
     * says why). The run as last seen: its answers are the live decision (demo/charts.ts, `runAnswers`).
     */
    const replayAgrees = async (step: string, run: AnalysisRunObject | undefined) => {
        const r = run && runAnswers(run);
        const live = r?.answers.at(-1);
        assert.ok(r && live, `${step}: the run kept no answer of the judge: ${JSON.stringify(run?.status)}`);
        const interval = durationSeconds((dev.config["canary:analysis"] as { interval: string }).interval);
        // Three looks past the live decision, once Prometheus has them (the up may end before they pass).
        const to = new Date(Date.parse(r.since) + (live.seconds + 3 * interval) * 1000);
        await sleep(to.getTime() + 2000 - Date.now());
        const file = path.join(lab.live.dir, `replay-${step.replace(/[^A-Za-z0-9]+/g, "-")}.json`);
        const args = ["replay", "--stack", "dev", "--weight", String(r.stage.weight), ...(r.carry !== "" ? ["--carry", r.carry] : []), "--json"];
        const replay = async (extra: string[]) => {
            const out: string[] = [];
            const code = await main([...args, ...extra], { ...defaultIo(lab.project), out: (l) => out.push(l), err: (l) => out.push(l) });
            assert.ok([0, 1, 3].includes(code), `rollout ${[...args, ...extra].join(" ")}: exit ${code}: ${out.join("\n")}`);
            return JSON.parse(out[out.length - 1]);
        };
        const fromPrometheus = await replay(["--prometheus", lab.live.promUrl, "--from", r.since, "--to", to.toISOString(), "--scrape-interval", lab.live.scrapeInterval, "--record", file]);
        const fromFile = await replay(["--recording", file]);
        assert.deepStrictEqual(fromFile, { ...fromPrometheus, recording: null }, `${step}: the recording replays otherwise than Prometheus`);
        const a = agreement({ decision: live.answer.decision as "PROMOTE" | "ROLLBACK" | "HOLD", look: live.look, seconds: live.seconds }, fromFile, interval, DEFAULT_POLICY.minStageSeconds);
        console.log(`      replay of ${step} (${file}): ${a.message}`);
        assert.ok(a.agrees, `${step}: ${a.message}`);
    };

    /**
     * The canary header as a tester sends it (the stack's canaryHeader output), through the Gateway: every
     * answer the canary's version. While the canary's image differs from stable's, the header's route sends
     * them to the preview pod: counted under its series (track="preview"), none under the canary's, so they
     * are never the stage's evidence. Without a canary image the weighted route answers (stable runs it).
     */
    const headerReachesCanary = async (step: string) => {
        const app = dev.config["canary:app"] as any;
        const [stableVersion, canaryVersion] = [app.stable.image, app.canary.image].map((i: string) => imageParts(i)!.tag);
        const n = HEADER_PROBE.perSecond * HEADER_PROBE.seconds;
        // The warm-up requests (which the series count) over, then the last of those and of the stage's
        // scraped (every second here) before the counts are taken.
        await dev.processesWarm();
        await sleep(3000);
        const previews = lab.pods.running(NS, "preview");
        // Every request but Prometheus' own scrapes, which the app counts too (path="metrics", app/server.ts).
        const requests = `http_request_duration_seconds_count{namespace="${NS}",path!="metrics"`;
        const query = `sum by (track) (${requests},track="canary"} or ${requests},pod=~"${previews.map((p) => p.pod).join("|") || "none"}"})`;
        const counts = async () => {
            const v = await queryVector(lab.live.promUrl, query);
            return { canary: Number(v.find((x) => x.metric.track === "canary")?.value[1] ?? 0), preview: Number(v.find((x) => x.metric.track === "preview")?.value[1] ?? 0) };
        };
        // Settled: the same counts twice, 2 s apart (the stage's last requests, which Traefik may still
        // send the canary just after the route moved, scraped); at most 30 s.
        let before = await counts();
        for (let last, tries = 0; JSON.stringify(before) !== JSON.stringify(last) && tries < 15; tries++) {
            last = before;
            await sleep(2000);
            before = await counts();
        }
        const answers = await dev.headerAnswers();
        assert.deepStrictEqual([...answers], [[canaryVersion, n]], `${step}: the canary header's ${n} requests were answered by ${JSON.stringify([...answers])}`);
        if (canaryVersion === stableVersion) return;
        assert.strictEqual(previews.length, 1, `${step}: one preview pod runs the canary's image`);
        const after = await eventually(`${step}: the header's requests in the preview's series`, async () => {
            const c = await counts();
            return c.preview - before.preview >= n ? c : undefined;
        });
        assert.strictEqual(after.canary, before.canary, `${step}: the header's requests counted as the canary's`);
        console.log(`      ${step}: the canary header's ${n} requests answered by ${canaryVersion}, all by the preview pod`);
    };

    /** A stage that must pass: the update succeeds on the run's PROMOTE, the route moved once the canary was ready, the replay of its window agrees, the canary header reaches the canary's image, and a second preview changes nothing. */
    const passes = async (name: string, extra: Record<string, unknown>, during?: () => Promise<void>) => {
        const s = await dev.stage(extra, during);
        record(name, s);
        assert.strictEqual(s.up.status, 0, `${s.up.stdout.slice(-4000)}\n${s.up.stderr.slice(-2000)}`);
        const weight = dev.config["canary:weight"] as number;
        assert.deepStrictEqual(await dev.routeWeights(), [100 - weight, weight]);
        if (weight > 0) {
            // The Gateway split the stage's requests by the route's weights, within a binomial bound (demo/split.ts).
            const canaryVersion = imageParts((dev.config["canary:app"] as any).canary.image)!.tag;
            const sp = split(s.served, canaryVersion, weight);
            const forecast = s.forecast ? `; forecast at ${s.forecast.atSeconds.toFixed(0)} s: a decision at ${s.forecast.totalSeconds.toFixed(0)} s, it took ${s.gateSeconds?.toFixed(0)} s` : "";
            console.log(`      ${name}: ${describeSplit(sp, weight)}${forecast}`);
            assert.ok(sp.total >= STAGE_RATE, `only ${sp.total} requests answered after the route moved: ${JSON.stringify([...s.served])}`);
            assert.ok(sp.withinBound, describeSplit(sp, weight));
            assert.ok(s.routeMoved.seen, "the route never showed the stage's weights during the up");
            assert.ok(s.routeMoved.canaryReady, `the route moved before the canary Deployment was ready: ${JSON.stringify(s.routeMoved.canaryStatus)}`);
            assert.ok(s.run, "the stage made a new AnalysisRun");
            assert.strictEqual(s.run!.status?.phase, "Successful", JSON.stringify(s.run!.status));
            assert.strictEqual(s.answer?.decision, "PROMOTE", JSON.stringify(s.answer?.reasons));
            const out = outputs();
            assert.strictEqual(out.stage, weight);
            assert.strictEqual(out.stageGate, "passed on the judge's PROMOTE");
            // The evidence the stack records is the answer the gate passed on, as prod's promotion check reads it.
            if (weight < 100) assert.strictEqual(out.canaryEvidence?.stages?.[String(weight)]?.canaryRequests, s.answer?.canaryRequests, JSON.stringify(out.canaryEvidence));
            await replayAgrees(name, s.run);
        }
        await headerReachesCanary(name);
        noChanges();
        return s;
    };

    before(async function () {
        const t0 = Date.now();
        lab = await Lab.start();
        dev = lab.devStack();
        origin = gitProject(lab.project);
        console.log(`      control plane, controller, CRDs (${lab.crds.join("; ")}), Prometheus and judge up in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    });

    after(async function () {
        if (rows.length > 0) {
            const line = (cells: (string | number)[]) => `  ${cells.map((c, i) => String(c).padEnd(i === 0 ? 36 : 12)).join("")}`;
            console.log(line(["step", "up s", "gate s", "decision", "canary req", "run"]));
            for (const r of rows) console.log(line([r.step, r.up.toFixed(1), r.gate?.toFixed(1) ?? "-", r.decision ?? "-", r.canaryRequests ?? "-", r.phase ?? "-"]));
        }
        await lab?.stop();
    });

    afterEach(function () {
        if (this.currentTest?.state === "failed" && lab) {
            for (const name of ["kube-apiserver", "kube-controller-manager", "rollouts-controller"]) console.log(`--- ${name}.log (last lines)\n${lab.cp.log(name, 15)}`);
        }
    });

    it("the first up at weight 0: the provider waits for both Deployments on the kwok node; the namespace enforces restricted Pod Security", async () => {
        const s = await passes("first up at 0", {});
        assert.ok(s.changed.length > 15 && s.changed.every((c) => c.startsWith("create ")), s.changed.join(", "));
        for (const track of ["stable", "canary"]) {
            const d = await get(`/apis/apps/v1/namespaces/${NS}/deployments/podinfo-${track}`);
            assert.ok(deploymentReady(d), `podinfo-${track}: ${JSON.stringify(d.status)}`);
        }
        const ns = await get(`/api/v1/namespaces/${NS}`);
        assert.strictEqual(ns.metadata.labels["pod-security.kubernetes.io/enforce"], "restricted");
        assert.deepStrictEqual(await runs(), [], "no run at weight 0");
        assert.strictEqual(outputs().stage, 0);
    });

    it("a pod that breaks the namespace's restricted level is refused by the API server (never produced by the program: forced here)", async () => {
        const pod = {
            apiVersion: "v1",
            kind: "Pod",
            metadata: { name: "privileged", namespace: NS },
            spec: { containers: [{ name: "c", image: "registry.invalid/none:1", securityContext: { privileged: true } }] },
        };
        const r = await lab.cp.request("POST", `/api/v1/namespaces/${NS}/pods`, pod);
        assert.strictEqual(r.status, 403, r.text);
        assert.match(r.body.message, /violates PodSecurity "restricted:latest": privileged/);
        // The program's own pods were admitted under the same level, and kwok runs them.
        const pods = (await get(`/api/v1/namespaces/${NS}/pods`)).items;
        assert.ok(pods.length >= 2 && pods.every((p: any) => p.status.phase === "Running"), JSON.stringify(pods.map((p: any) => [p.metadata.name, p.status.phase])));
    });

    it("0 → 5: the route moves after the canary is ready, and the stage passes on the judge's PROMOTE from the real controller", async () => {
        const s = await passes("0 → 5", { "canary:weight": 5 });
        assert.ok(s.changed.includes("create delivery-run") && s.changed.includes("update route-httproute"), s.changed.join(", "));
        assert.ok((s.answer?.canaryRequests ?? 0) > 0);
    });

    it("at 5, the split-mismatch alert's expression, as the lab's Prometheus evaluates the stack's own rules, is quiet; with the route forced to 50/50 it fires", async () => {
        const files = await lab.syncRules();
        assert.ok(files.some((f) => f.startsWith(`${NS}-`)), files.join(" "));
        const rules = (await get(`/apis/monitoring.coreos.com/v1/namespaces/${NS}/prometheusrules`)).items as any[];
        const expr: string | undefined = rules.flatMap((r) => r.spec.groups.flatMap((g: any) => g.rules)).find((r: any) => r.alert === "CanaryTrafficSplitMismatch")?.expr;
        assert.ok(expr, "the stack applies CanaryTrafficSplitMismatch");
        const firing = async () => (await queryVector(lab.live.promUrl, expr!)).length > 0;
        const route = await get(`/apis/gateway.networking.k8s.io/v1/namespaces/${NS}/httproutes/podinfo`);
        // Forced, and put back below, by a server-side apply under the engine's own field manager: under any
        // other manager the engine's next apply would meet a conflict on the weights (it applies with its own).
        const manager: string | undefined = route.metadata.managedFields?.find((f: { operation: string }) => f.operation === "Apply")?.manager;
        assert.ok(manager, JSON.stringify(route.metadata.managedFields));
        const apply = (spec: unknown) =>
            lab.cp.request(
                "PATCH",
                `/apis/gateway.networking.k8s.io/v1/namespaces/${NS}/httproutes/podinfo?fieldManager=${encodeURIComponent(manager!)}&force=true`,
                JSON.stringify({ apiVersion: route.apiVersion, kind: route.kind, metadata: { name: route.metadata.name, namespace: NS }, spec }),
                "application/apply-patch+yaml",
            );
        const forced = structuredClone(route.spec);
        for (const b of forced.rules.at(-1).backendRefs) b.weight = 50;
        let quietFor = 0;
        let firedAfter: number | undefined;
        const window = (async () => {
            // Quiet at the stage's own weights, evaluated over 20 s of the stage's traffic.
            for (const t0 = Date.now(); Date.now() - t0 < 20_000; await sleep(2000)) {
                assert.ok(!(await firing()), `fired at the stage's own weights: ${expr}`);
                quietFor = (Date.now() - t0) / 1000;
            }
            const put = await apply(forced);
            assert.strictEqual(put.status, 200, put.text);
            const t1 = Date.now();
            await eventually("CanaryTrafficSplitMismatch's expression firing", firing, { intervalMs: 2000, timeoutMs: 240_000 });
            firedAfter = (Date.now() - t1) / 1000;
        })();
        try {
            await dev.traffic(window.catch(() => undefined));
            await window;
        } finally {
            const put = await apply(route.spec);
            assert.strictEqual(put.status, 200, put.text);
        }
        console.log(`      quiet for ${quietFor.toFixed(0)} s at 95/5; fired ${firedAfter?.toFixed(0)} s after the route was forced to 50/50`);
        assert.deepStrictEqual(await dev.routeWeights(), [95, 5]);
    });

    let terminated = "";
    it("5 → 25 with the run terminated mid-stage (spec.terminate): the stage does not pass and the stack stays at 5", async () => {
        const s = await dev.stage({ "canary:weight": 25 }, async () => {
            terminated = (await measuring(25)).metadata.name;
            const patched = await lab.cp.request("PATCH", `/apis/argoproj.io/v1alpha1/namespaces/${NS}/analysisruns/${terminated}`, { spec: { terminate: true } }, "application/merge-patch+json");
            assert.strictEqual(patched.status, 200, patched.text);
        });
        record("5 → 25, run terminated", s);
        assert.notStrictEqual(s.up.status, 0, s.up.stdout.slice(-3000));
        assert.match(s.up.stdout, new RegExp(`the stage's analysis ${terminated} ended Successful without a PROMOTE from the judge: the run was terminated`));
        assert.doesNotMatch(s.up.stdout + s.up.stderr, STACK_TRACE, "no JS stack trace");
        assert.strictEqual((await runNamed(terminated)).status?.phase, "Successful", "Argo ends a terminated run Successful: only the program's check stops the stage");
        assert.strictEqual(outputs().stage, 5, "the stage is not recorded");
    });

    let retryAt25 = "";
    it("a retry of 25 (canary:analysis.attempt) is a new run, judged on its own window: PROMOTE", async () => {
        const analysis = dev.config["canary:analysis"] as Record<string, unknown>;
        const s = await passes("5 → 25, attempt 1", { "canary:analysis": { ...analysis, attempt: 1 } });
        retryAt25 = s.run!.metadata.name;
        assert.notStrictEqual(retryAt25, terminated);
    });

    it("a changed analysis setting after a finished run makes a new run and a new verdict at the same stage", async () => {
        const analysis = dev.config["canary:analysis"] as Record<string, unknown>;
        const s = await passes("25, deadline 20m", { "canary:analysis": { ...analysis, deadline: "20m" } });
        assert.ok(s.changed.some((c) => /^(create|replace|create-replacement) delivery-run$/.test(c)), s.changed.join(", "));
        assert.notStrictEqual(s.run!.metadata.name, retryAt25);
        assert.strictEqual(outputs().stage, 25);
    });

    it("25 → 50 with one of two judge replicas killed mid-stage: the other answers, and the stage decides on its run's own window", async () => {
        let killed: { port: number; at: number } | undefined;
        const s = await passes("25 → 50, a judge replica killed", { "canary:weight": 50 }, async () => {
            await measuring(50);
            await sleep(5000);
            // The replica the controller's kept-alive connection goes to, lost like a pod (SIGKILL) for 12 s.
            const port = lab.balancer.last();
            assert.ok(port !== undefined, "no replica answered the run");
            killed = { port, at: Date.now() };
            await lab.killJudge(port, 12_000);
        });
        assert.ok(killed, "no replica was killed");
        const other = [...lab.judgeReplicas.keys()].find((p) => p !== killed!.port)!;
        const judged = s.run!.status!.metricResults!.find((m) => m.name === "judge")!;
        const decidedAt = Date.parse(judged.measurements!.at(-1)!.finishedAt!);
        const since = Date.parse((s.run!.spec as any).args.find((a: { name: string }) => a.name === "since").value);
        assert.ok(decidedAt > killed.at, "the stage decided before the kill: nothing was tested");
        assert.ok((lab.balancer.served.get(other) ?? 0) > 0, "the other replica never answered");
        // The window is the run's own `since`, which every replica reads from the ask: the PROMOTE counts the
        // canary's requests from before the kill too (the lab sends STAGE_RATE a second to the Gateway, half of
        // them the canary's at 50). A window that started over on the replica that answered after the kill would
        // hold at most the requests since the kill.
        const canaryRate = STAGE_RATE / 2;
        const sinceKill = (canaryRate * (decidedAt - killed.at)) / 1000;
        assert.ok((s.answer!.canaryRequests ?? 0) > sinceKill + canaryRate * 2.5, `${s.answer!.canaryRequests} canary requests, ${sinceKill.toFixed(0)} sent since the kill: the window started over (since ${new Date(since).toISOString()})`);
    });

    it("50 → 100 under fire: hostile asks at both replicas (no token, another stack's token, bad request lines and values, forged evidence) change no decision", async () => {
        const fire: Fire = { statuses: new Map(), forged: [] };
        {
            const s = await passes("50 → 100, under fire", { "canary:weight": 100 }, async () => {
                const run = await measuring(100);
                const arg = (name: string) => (run.spec as any).args.find((a: { name: string }) => a.name === name)?.value as string;
                const live = { run: run.metadata.name, since: arg("since"), carry: arg("carry") };
                await Promise.all([...lab.judgeReplicas.keys()].map((port) => hostileAsks(port, 1500, live, fire)));
            });
            console.log(`      hostile asks answered: ${[...fire.statuses].map(([kind, st]) => `${kind} ${[...st].map(([code, n]) => `${n}×${code}`).join(" ")}`).join("; ")}; forged: ${fire.forged.join(" ")}`);
            for (const [kind, statuses] of fire.statuses) {
                const want = EXPECTED[kind];
                assert.ok([...statuses.keys()].every((status) => want.includes(status)), `${kind}: answered ${JSON.stringify([...statuses])}, expected ${want}`);
            }
            // The forged asks were answered (the judge is stateless: an ask judges itself), and the live run's
            // PROMOTE carried the evidence the stack wrote, not the forged carry.
            assert.ok(fire.forged.length > 0 && fire.forged.every((d) => d === "ROLLBACK" || d === "HOLD" || d === "PROMOTE"), JSON.stringify(fire.forged));
            assert.strictEqual(s.answer?.decision, "PROMOTE");
            for (const [port, replica] of lab.judgeReplicas) {
                assert.strictEqual((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200, `replica ${port} alive`);
                const rss = Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${replica.pid}/status`, "utf8"))?.[1]) * 1024;
                console.log(`      replica ${port}: alive, ${(rss / 2 ** 20).toFixed(0)} MiB resident`);
                assert.ok(rss < 128 * 2 ** 20, `replica ${port}: ${(rss / 2 ** 20).toFixed(0)} MiB resident, over the judge's 128Mi limit`);
            }
        }
    });

    it("promotion: stable takes the canary's image at weight 0, the canary scales to 0, the stack exports the promoted version", async () => {
        const app = dev.config["canary:app"] as any;
        await passes("promotion", { "canary:weight": 0, "canary:app": { ...app, stable: { ...app.stable, image: app.canary.image } } });
        const stable = await get(`/apis/apps/v1/namespaces/${NS}/deployments/podinfo-stable`);
        assert.strictEqual(stable.spec.template.spec.containers[0].image, app.canary.image);
        assert.ok(deploymentReady(stable), JSON.stringify(stable.status));
        assert.strictEqual((await get(`/apis/apps/v1/namespaces/${NS}/deployments/podinfo-canary`)).spec.replicas, 0);
        assert.strictEqual(outputs().promotedVersion, "6.8.0");
    });

    it("a faulty canary: the run ends Failed, the up fails with the judge's reasons, and stage-up.sh takes the stack back to 0 and commits it", async () => {
        const app = dev.config["canary:app"] as any;
        await passes("new canary 6.9.0 at 0", { "canary:app": { ...app, canary: { image: "ghcr.io/stefanprodan/podinfo:6.9.0" } } });
        await dev.faults("canary", "errorRatio=0.2");
        try {
            dev.writeConfig({ "canary:weight": 5 });
            commit(lab.project, "dev: 0 -> 5");
            const before = new Set((await runs()).map((r) => r.metadata.name));
            const env = { ...lab.engine.env, STACK_NAME: STACK, PULUMI: path.join(lab.engine.bin, "pulumi"), MESSAGE: "dev: 0 -> 5", ROLLOUT: `node ${path.join(ROOT, "rollout", "bin.js")}` };
            const stageUp = timed("bash", [path.join(ROOT, ".github", "scripts", "stage-up.sh"), "dev"], lab.project, env);
            // The run as last seen: rollback.sh's up at 0 deletes it before stage-up.sh ends.
            const [traffic, watched] = await Promise.allSettled([dev.traffic(stageUp), dev.watchNewRun(before, stageUp)]);
            const up = await stageUp;
            if (traffic.status === "rejected") throw traffic.reason;
            if (watched.status === "rejected") throw watched.reason;
            const { run, answer, gateSeconds } = watched.value;
            record("0 → 5 faulty, stage-up.sh", { up, run, answer, gateSeconds });
            assert.strictEqual(up.status, 1, `${up.stdout.slice(-3000)}\n${up.stderr.slice(-2000)}`);
            assert.strictEqual(run?.status?.phase, "Failed", JSON.stringify(run?.status));
            assert.strictEqual(answer?.decision, "ROLLBACK");
            assert.match(up.stdout, new RegExp(`the stage's analysis ${run!.metadata.name} ended Failed`));
            assert.match(up.stdout, /last answer: ROLLBACK: /, "the judge's reasons");
            assert.doesNotMatch(up.stdout + up.stderr, STACK_TRACE, "no JS stack trace");
            assert.match(up.stderr, /rollback: dev is at weight 0, committed to main/);
            assert.deepStrictEqual(await dev.routeWeights(), [100, 0]);
            assert.strictEqual(outputs().stage, 0);
            assert.strictEqual(YAML.parse(fs.readFileSync(path.join(lab.project, "Pulumi.dev.yaml"), "utf8")).config["canary:weight"], 0);
            const log = git(origin, ["log", "-1", "--format=%s%n%b", "main"]);
            assert.match(log, /^dev: automatic rollback to weight 0\n.*ended Failed/s, log);
            // The run is gone (the rollback's up deleted it), its answers and window are as last seen; Prometheus kept the counts.
            await replayAgrees("0 → 5 faulty", run);
        } finally {
            await dev.faults("canary", "errorRatio=0");
        }
        // The stack file as the rollback left it is what the next stage starts from.
        dev.config = YAML.parse(fs.readFileSync(path.join(lab.project, "Pulumi.dev.yaml"), "utf8")).config;
        noChanges();
    });

    it("a second try at 5 after the rollback is judged on the new try's window only: PROMOTE with the canary fixed", async () => {
        assert.ok(rows.some((r) => r.step.startsWith("0 → 5 faulty") && r.decision === "ROLLBACK"), "the faulty try ran first");
        // The failed try recorded nothing, so this try has its run's name again, with a `since` of its own
        // (the stack writes the time this up ran: stacks/clock.ts, runSince). On the first try's window,
        // with its 20% errors, this would be a ROLLBACK again.
        await passes("0 → 5, second try", { "canary:weight": 5 });
    });

    it("a canary whose process crashes mid-stage, judged on Traefik's counts (canary:metrics.source traefik): the router answers 502 for it and the stage is rolled back, where its own metrics count no error", async () => {
        const app = dev.config["canary:app"] as any;
        await passes("new canary 6.9.1 at 0", { "canary:weight": 0, "canary:app": { ...app, canary: { image: "ghcr.io/stefanprodan/podinfo:6.9.1" } } });
        const before = new Set((await runs()).map((r) => r.metadata.name));
        let killed = 0;
        let killedAt = 0;
        const s = await dev.stage({ "canary:weight": 5, "canary:metrics": { ...(dev.config["canary:metrics"] as object), source: "traefik" } }, async () => {
            await eventually("the new run measuring", async () => (await runs()).find((r) => !before.has(r.metadata.name) && (r.status?.metricResults?.[0]?.count ?? 0) >= 1));
            await sleep(3000);
            killedAt = Date.now();
            killed = lab.pods.kill(NS, "canary");
        });
        record("0 → 5, canary crashed, router evidence", s);
        assert.strictEqual(killed, 1, "one canary process killed");
        const refused = s.served.get("status 502") ?? 0;
        console.log(`      the Gateway answered ${refused} requests 502 for the crashed canary; ${JSON.stringify([...s.served])}`);
        assert.ok(refused > 0, JSON.stringify([...s.served]));
        assert.notStrictEqual(s.up.status, 0, s.up.stdout.slice(-3000));
        assert.strictEqual(s.answer?.decision, "ROLLBACK", JSON.stringify(s.answer?.reasons));
        assert.match(s.answer!.reasons[0], /^errors: canary \d+\/\d+ 5xx/);
        // The app's own series count no 5xx for the canary over the stage: its process was dead, not failing.
        const window = Math.ceil((Date.now() - killedAt) / 1000) + 60;
        const own = await queryVector(lab.live.promUrl, `sum(increase(http_request_duration_seconds_count{namespace="${NS}",track="canary",status=~"5.."}[${window}s]))`);
        assert.ok(Number(own[0]?.value[1] ?? 0) === 0, JSON.stringify(own));
        assert.strictEqual(outputs().stage, 0, "the failed stage is not recorded");
        await passes("rollback after the crash", { "canary:weight": 0 });
    });
});

type AskKind = "bad request line" | "not HTTP" | "bad since" | "oversized target" | "no token" | "another stack's token" | "too many ratios" | "forged run" | "forged evidence";
/** What each kind of hostile ask must be answered: never a crash, never a 5xx, never a decision without the token. */
const EXPECTED: Record<AskKind, number[]> = {
    "bad request line": [400, 404],
    "not HTTP": [400],
    // 503: eight asks with the token already being judged (MAX_IN_FLIGHT), counted before the query is read.
    "bad since": [400, 503],
    "oversized target": [414, 431],
    "no token": [401],
    "another stack's token": [401],
    "too many ratios": [400, 503],
    "forged run": [200, 503],
    "forged evidence": [200, 503],
};
interface Fire {
    readonly statuses: Map<AskKind, Map<number, number>>;
    /** The decisions the forged asks got. */
    readonly forged: string[];
}

/** The decision in a judge's answer, or what the body was when it is not one. */
function decisionOf(body: string): string {
    try {
        return String(JSON.parse(body).decision);
    } catch {
        return `not an answer: ${body.slice(0, 200)}`;
    }
}

/** One raw HTTP exchange with the judge on 127.0.0.1: the status code (0 when the connection closed without one), within 10 s. */
function rawAsk(port: number, head: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve) => {
        const socket = net.connect({ host: "127.0.0.1", port });
        let text = "";
        const done = () => {
            socket.destroy();
            const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0);
            resolve({ status, body: text.slice(text.indexOf("\r\n\r\n") + 4) });
        };
        socket.setTimeout(10_000, done);
        socket.on("data", (d) => (text += d));
        socket.on("error", done);
        socket.on("close", done);
        socket.on("connect", () => socket.write(head));
    });
}

/**
 * `n` hostile asks at the judge replica on `port`, 8 at a time, of every kind in turn; the forged ones (which the
 * judge answers from Prometheus) one in fifty, so Prometheus' work stays bounded.
 */
async function hostileAsks(port: number, n: number, live: { run: string; since: string; carry: string }, fire: Fire): Promise<void> {
    const good = `namespace=${NS}&app=podinfo&stages=5,25,50,100&weight=100`;
    // HTTP/1.0: the answer's body is sent as it is, up to the close (no chunked encoding to undo).
    const get = (target: string, token?: string) => `GET ${target} HTTP/1.0\r\nHost: judge\r\n${token ? `Authorization: Bearer ${token}\r\n` : ""}\r\n`;
    const kinds: [AskKind, () => string][] = [
        ["bad request line", () => "GET //[ HTTP/1.1\r\nHost: judge\r\nConnection: close\r\n\r\n"],
        ["not HTTP", () => "\x00\x01 not a request at all\r\n\r\n"],
        ["bad since", () => get(`/judge?${good}&run=${live.run}&since=9000000000000s&carry=`, JUDGE_TEST_TOKEN)],
        ["oversized target", () => get(`/judge?${good}&pad=${"x".repeat(20_000)}`, JUDGE_TEST_TOKEN)],
        ["no token", () => get(`/judge?${good}&run=${live.run}&since=${live.since}&carry=${live.carry}`)],
        ["another stack's token", () => get(`/judge?${good}&run=${live.run}&since=${live.since}&carry=${live.carry}`, "another-stack-token-0123456789abcdefghijkl")],
        ["too many ratios", () => get(`/judge?${good}&since=5m${"&ratio=r,a_total,b_total,up".repeat(9)}`, JUDGE_TEST_TOKEN)],
    ];
    const forged: [AskKind, () => string][] = [
        ["forged run", () => get(`/judge?${good}&run=forged-${live.run}&since=${live.since}&carry=`, JUDGE_TEST_TOKEN)],
        ["forged evidence", () => get(`/judge?${good}&run=${live.run}&since=${live.since}&carry=errors:30,latency:30`, JUDGE_TEST_TOKEN)],
    ];
    let i = 0;
    await Promise.all(
        Array.from({ length: 8 }, async () => {
            while (i < n) {
                const k = i++;
                const [kind, head] = k % 50 === 0 ? forged[(k / 50) % 2] : kinds[k % kinds.length];
                const { status, body } = await rawAsk(port, head());
                const counts = fire.statuses.get(kind) ?? new Map<number, number>();
                counts.set(status, (counts.get(status) ?? 0) + 1);
                fire.statuses.set(kind, counts);
                if (status === 200) fire.forged.push(decisionOf(body));
            }
        }),
    );
}

function git(cwd: string, args: string[]): string {
    const r = spawnSync("git", args, { cwd, encoding: "utf8", env: { ...process.env, GIT_CONFIG_NOSYSTEM: "1", GIT_AUTHOR_NAME: "test", GIT_AUTHOR_EMAIL: "test@example.invalid", GIT_COMMITTER_NAME: "test", GIT_COMMITTER_EMAIL: "test@example.invalid" } });
    if (r.status !== 0) throw new Error(`git ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
}

function commit(project: string, message: string): void {
    git(project, ["add", "Pulumi.dev.yaml"]);
    git(project, ["commit", "-q", "-m", message]);
    git(project, ["push", "-q", "origin", "HEAD:main"]);
}

/** The project copy as a clone of a local bare `origin` holding its stack file: what rollback.sh commits and pushes to. */
function gitProject(project: string): string {
    const origin = path.join(tempDir("cluster-origin"), "origin.git");
    git(path.dirname(origin), ["init", "-q", "--bare", "-b", "main", origin]);
    git(project, ["init", "-q", "-b", "main"]);
    // Only the stack file is the test's: the rest are links into the repository.
    fs.writeFileSync(path.join(project, ".git", "info", "exclude"), "*\n!Pulumi.dev.yaml\n");
    git(project, ["add", "-f", "Pulumi.dev.yaml"]);
    git(project, ["commit", "-q", "-m", "dev stack"]);
    git(project, ["remote", "add", "origin", origin]);
    git(project, ["push", "-q", "origin", "HEAD:main"]);
    return origin;
}
