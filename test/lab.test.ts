/**
 * The lab's pieces that need no control plane (demo/split.ts, demo/pods.ts, demo/live.ts
 * `serviceMonitorScrapeConfig`): the split's binomial bound, which program a pod's image runs, how the pod
 * runner hands a pod's address from a gone pod's process to the next (real processes on loopback, the pod
 * listing given), and the scrape job a ServiceMonitor becomes, checked by the real promtool (the
 * Prometheus the chart deploys) as Prometheus would load it. The lab itself runs in the cluster lane
 * (test/cluster/).
 */
import * as assert from "assert";
import { spawn } from "child_process";
import { once } from "events";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import * as YAML from "yaml";
import { serviceMonitorSpec } from "../components/delivery/workload";
import type { ApiResponse } from "../demo/controlplane";
import { eventually, listenerOf, runTool, sleep, tempDir } from "../demo/host";
import { freePort, serviceMonitorScrapeConfig } from "../demo/live";
import { imageParts, Launch, PodRunner, programFor, RESTART_BACKOFF_MS } from "../demo/pods";
import { countsSince, describeSplit, split } from "../demo/split";

describe("the lab's split: the canary's share of what the Gateway answered, against the weight", () => {
    it("holds a share within 4.5 binomial standard deviations of the weight, and refuses one outside", () => {
        const at = (canary: number, stable: number, weight: number) => split(new Map([["6.8.0", canary], ["6.7.1", stable]]), "6.8.0", weight);
        assert.ok(at(500, 9500, 5).withinBound, describeSplit(at(500, 9500, 5), 5));
        // sd = sqrt(10000 * 0.05 * 0.95) = 21.8: 4.5 sd + 1 is 99 requests either side.
        assert.ok(at(598, 9402, 5).withinBound);
        assert.ok(!at(601, 9399, 5).withinBound, describeSplit(at(601, 9399, 5), 5));
        assert.match(describeSplit(at(2500, 7500, 50), 50), /^canary 25\.0% of 10,000 \(weight 50%, bound ±2\.3%\): OUT OF BOUND$/);
    });

    it("is exact at 0 and 100, leaves the router's own answers out, and holds nothing with no answers", () => {
        assert.ok(split(new Map([["6.8.0", 1000]]), "6.8.0", 100).withinBound);
        assert.ok(!split(new Map([["6.8.0", 999], ["6.7.1", 1]]), "6.8.0", 100).withinBound);
        assert.ok(!split(new Map([["6.8.0", 1]]), "6.8.0", 0).withinBound);
        const with502 = split(new Map([["6.8.0", 50], ["6.7.1", 950], ["status 502", 40]]), "6.8.0", 5);
        assert.deepStrictEqual([with502.canary, with502.total, with502.withinBound], [50, 1000, true]);
        assert.deepStrictEqual([split(new Map(), "6.8.0", 5).withinBound, describeSplit(split(new Map(), "6.8.0", 5), 5)], [false, "no requests answered"]);
        assert.throws(() => split(new Map(), "6.8.0", 101), /weight 101 is not within 0\.\.100/);
    });

    it("counts only what was answered since a moment", () => {
        assert.deepStrictEqual([...countsSince(new Map([["a", 10], ["b", 3]]), new Map([["a", 4], ["b", 3]]))], [["a", 6]]);
    });
});

describe("the lab's pods: which program an image runs", () => {
    const catalog = { "ghcr.io/stefanprodan/podinfo": { entry: "app/main.ts", warmPath: "/", tags: { "6.9.0": ["--errorRatio", "0.2"] } } };
    it("by the image's repository, with its tag as the version and the tag's own options", () => {
        assert.deepStrictEqual(programFor(catalog, "ghcr.io/stefanprodan/podinfo:6.8.0"), { entry: "app/main.ts", args: [], version: "6.8.0", warmPath: "/" });
        assert.deepStrictEqual(programFor(catalog, "ghcr.io/stefanprodan/podinfo:6.9.0")?.args, ["--errorRatio", "0.2"]);
    });
    it("nothing for an image it does not know, or one without a tag (a registry's port is not a tag)", () => {
        assert.strictEqual(programFor(catalog, "registry.invalid/none:1"), undefined);
        assert.strictEqual(programFor(catalog, "ghcr.io/stefanprodan/podinfo"), undefined);
        assert.strictEqual(imageParts("localhost:5000/podinfo"), undefined);
        assert.deepStrictEqual(imageParts("localhost:5000/podinfo:6.8.0@sha256:abc"), { repository: "localhost:5000/podinfo", tag: "6.8.0" });
    });
});

describe("the lab's pods: a process per Running pod, on the pod's address", function () {
    this.timeout(60_000);
    /**
     * A container's process as the runner starts it (`--host --port --version`), listening after
     * `LISTEN_AFTER_MS` and, on SIGTERM, holding its address for 1.5 s before it exits: a server draining
     * its connections, as the demo app does.
     */
    const APP = `
        const http = require("http");
        const arg = (n) => process.argv[process.argv.indexOf("--" + n) + 1];
        const server = http.createServer((q, r) => r.end(arg("version")));
        server.on("error", (e) => { console.error("cannot listen: " + e.code); process.exit(2); });
        setTimeout(() => server.listen(Number(arg("port")), arg("host"), () => console.log("listening")), Number(process.env.LISTEN_AFTER_MS ?? 0));
        process.on("SIGTERM", () => setTimeout(() => process.exit(0), 1500));
    `;
    let entry: string;
    let port: number;
    let runner: PodRunner | undefined;
    const children: ReturnType<typeof spawn>[] = [];
    const logs: string[] = [];
    let pods: object[] = [];

    /** Starts `entry` as the lab does (Live.start): resolves on its ready line, rejects if it exits first. */
    const launch: Launch = (file, args, env) =>
        new Promise((resolve, reject) => {
            const child = spawn(process.execPath, [file, ...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
            children.push(child);
            let err = "";
            child.stderr!.on("data", (d) => (err += d));
            child.stdout!.on("data", (d) => /listening/.test(String(d)) && resolve(child));
            child.on("exit", (code) => reject(new Error(`exited ${code}: ${err.slice(0, 300)}`)));
        });
    const pod = (uid: string, version: string) => ({
        metadata: { uid, name: `app-${uid}`, namespace: "apps", labels: { track: "stable" } },
        spec: { containers: [{ image: `registry.invalid/app:${version}`, ports: [{ containerPort: port }] }] },
        status: { phase: "Running", podIP: "127.0.0.1" },
    });
    const start = () => {
        const cp = { request: async (): Promise<ApiResponse> => ({ status: 200, body: { items: pods }, text: "" }) };
        runner = new PodRunner(cp, { "registry.invalid/app": { entry, warmPath: "/" } }, launch, (line) => logs.push(line));
        runner.start();
        return runner;
    };
    const answer = async () => (await fetch(`http://127.0.0.1:${port}/`)).text();

    beforeEach(async () => {
        entry = path.join(tempDir("lab-pods"), "app.js");
        fs.writeFileSync(entry, APP);
        port = await freePort();
        logs.length = 0;
    });

    afterEach(async () => {
        await runner?.stop();
        runner = undefined;
        for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    });

    it("starts a replaced pod's process on the address its predecessor held once that process has exited, never beside it", async () => {
        pods = [pod("a", "1.0.0")];
        const r = start();
        await eventually("pod a's process warm", async () => r.running("apps").length === 1);
        assert.strictEqual(await answer(), "1.0.0");
        const first = r.running("apps")[0].process!;
        // kwok hands a deleted pod's IP to the next pod at once; the old process still drains for 1.5 s.
        pods = [pod("b", "2.0.0")];
        await eventually("pod b's process warm", async () => r.running("apps")[0]?.pod === "app-b", { timeoutMs: 20_000 });
        assert.notStrictEqual(first.exitCode ?? first.signalCode, null, "pod a's process still runs");
        assert.strictEqual(await answer(), "2.0.0");
        assert.deepStrictEqual(logs, [], "no start failed (an address in use, say)");
        assert.strictEqual(children.length, 2, "one process per pod, none started again");
    });

    it("a pod whose address another process holds: one line naming that process, and a new start only after the kubelet's back-off", async () => {
        const holder = net.createServer().listen(port, "127.0.0.1");
        await once(holder, "listening");
        try {
            pods = [pod("a", "1.0.0")];
            const r = start();
            await eventually("the failed start said", async () => logs.length > 0);
            assert.match(logs[0], new RegExp(`^pods: apps/app-a on 127\\.0\\.0\\.1:${port} \\(held by ${process.pid} .*mocha.*\\): exited 2: cannot listen: EADDRINUSE`), logs[0]);
            await sleep(3000);
            assert.strictEqual(logs.length, 1, `started again inside the back-off: ${logs.join("; ")}`);
            holder.close();
            await eventually("pod a's process warm after the back-off", async () => r.running("apps").length === 1, { timeoutMs: RESTART_BACKOFF_MS + 10_000 });
            assert.strictEqual(await answer(), "1.0.0");
        } finally {
            holder.close();
        }
    });

    it("stops the process of a pod gone while it was starting, once it listens: nothing is left on the address", async () => {
        process.env.LISTEN_AFTER_MS = "1000";
        try {
            pods = [pod("a", "1.0.0")];
            const r = start();
            await eventually("pod a's process spawned", async () => children.length === 1);
            pods = [];
            await sleep(1500);
            await eventually("nothing listening on the pod's address", async () => listenerOf("127.0.0.1", port) === undefined, { timeoutMs: 10_000 });
            assert.deepStrictEqual(r.running("apps"), []);
            assert.strictEqual(r.of("apps", "app-a"), undefined);
        } finally {
            delete process.env.LISTEN_AFTER_MS;
        }
    });
});

describe("the lab's Prometheus: a ServiceMonitor as prometheus-operator turns it into a scrape job", () => {
    it("discovers the Services' endpoints through the API server (role endpoints, the operator's default), keeps the selector's and the port's, relabels as the ServiceMonitor says, and promtool accepts it", () => {
        const dir = tempDir("lab-scrape");
        const job = serviceMonitorScrapeConfig("podinfo", "podinfo", serviceMonitorSpec({ name: "podinfo" }), { server: "https://127.0.0.1:6443", ca: path.join(dir, "ca.crt"), tokenFile: path.join(dir, "token") }, "1s");
        const relabel = job.relabel_configs as { action: string; source_labels?: string[]; regex?: string; target_label?: string }[];
        assert.deepStrictEqual(relabel.filter((r) => r.action === "keep").map((r) => [r.source_labels?.[0], r.regex]), [
            ["__meta_kubernetes_service_label_app_kubernetes_io_name", "(podinfo);true"],
            ["__meta_kubernetes_service_label_app_kubernetes_io_part_of", "(canary);true"],
            ["__meta_kubernetes_endpoint_port_name", "http"],
        ]);
        assert.deepStrictEqual((job.kubernetes_sd_configs as { role: string }[]).map((c) => c.role), ["endpoints"]);
        assert.ok(relabel.some((r) => r.target_label === "track" && r.source_labels?.[0] === "__meta_kubernetes_pod_label_track"), JSON.stringify(relabel));
        assert.ok(relabel.some((r) => r.target_label === "pod" && r.source_labels?.[1] === "__meta_kubernetes_endpoint_address_target_name"), JSON.stringify(relabel));
        fs.writeFileSync(path.join(dir, "ca.crt"), "");
        fs.writeFileSync(path.join(dir, "token"), "t");
        fs.writeFileSync(path.join(dir, "prometheus.yml"), YAML.stringify({ scrape_configs: [job] }));
        const r = runTool("promtool", ["check", "config", "--syntax-only", path.join(dir, "prometheus.yml")]);
        assert.strictEqual(r.status, 0, r.output);
    });
});
