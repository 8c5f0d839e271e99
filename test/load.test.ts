/**
 * Traffic during analysis: the load-test Job the program registers per stage, and the bundled load
 * generator it runs, sending real HTTP requests to the demo app.
 */
import * as assert from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import type { AddressInfo } from "net";
import * as path from "path";
import { createApp, DEFAULT_FAULTS } from "../app/server";
import { loadBundle } from "../components/delivery/loadTest";
import { requestOptions, loadSettings } from "../rollout/load";
import { DEFAULT_JUDGE_IMAGE } from "../stacks/schema";
import { byName, ofType, runProgram } from "./harness";
import { tempDir } from "../demo/host";

const JOB = "kubernetes:batch/v1:Job";

describe("load test: a bounded Job per stage above 0, through the router's entry", () => {
    it("dev at 25: the bundled load generator on the judge's image, at the configured rate, for the analysis deadline, after the route moved, never awaited", async () => {
        const { error, resources } = await runProgram({ stack: "dev", config: { weight: 25 } });
        assert.ifError(error);
        assert.strictEqual(byName(resources, "load-code").inputs.data["load.js"], loadBundle());
        const job = byName(resources, "load-job");
        const spec = job.inputs.spec;
        assert.strictEqual(job.inputs.metadata.name, "podinfo-load-6-8-0-w25", "a new Job for every stage");
        assert.deepStrictEqual(job.inputs.metadata.annotations, { "pulumi.com/skipAwait": "true" });
        assert.deepStrictEqual([spec.backoffLimit, spec.activeDeadlineSeconds, spec.template.spec.restartPolicy], [0, 30 * 60 + 120, "Never"]);
        const c = spec.template.spec.containers[0];
        assert.strictEqual(c.image, DEFAULT_JUDGE_IMAGE);
        assert.deepStrictEqual(c.command, [
            "node", "/load/load.js",
            "--target", "https://canary-envoy.envoy-gateway-system.svc:443",
            "--host", "podinfo.127.0.0.1.nip.io",
            "--rate", "10", "--duration", "30m", "--path", "/",
        ]);
        assert.ok(job.dependencies.includes(byName(resources, "route-httproute").urn), "the load starts once the stage's weights apply");
    });

    it("none at weight 0 and none in prod (off by default); the settings and the entry follow config and the router", async () => {
        const idle = await runProgram({ stack: "dev", config: { weight: 0 } });
        assert.deepStrictEqual(ofType(idle.resources, JOB), []);
        const prod = await runProgram({ stack: "prod", config: { weight: 25 } });
        assert.ok(!prod.resources.some((r) => r.name.startsWith("load-")));
        const tuned = await runProgram({ stack: "dev", config: { weight: 5, loadTest: { rate: 50, duration: "10m", path: "/api/info", headers: { "x-canary": "always" } }, tls: { enabled: false } } });
        assert.ifError(tuned.error);
        const tunedJob = byName(tuned.resources, "load-job").inputs.spec;
        assert.deepStrictEqual(tunedJob.template.spec.containers[0].command.slice(2), [
            "--target", "http://canary-envoy.envoy-gateway-system.svc:80",
            "--host", "podinfo.127.0.0.1.nip.io",
            "--rate", "50", "--duration", "10m", "--path", "/api/info",
            "--headers", '{"x-canary":"always"}',
        ]);
        assert.strictEqual(tunedJob.activeDeadlineSeconds, 600 + 120);
        const nginx = await runProgram({ stack: "dev", config: { weight: 5, router: "nginx" } });
        assert.strictEqual(byName(nginx.resources, "load-job").inputs.spec.template.spec.containers[0].command[3], "https://ingress-nginx-controller.ingress-nginx.svc:443");
        const istio = await runProgram({ stack: "dev", config: { weight: 5, router: "istio" } });
        assert.match(istio.error?.message ?? "", /canary:loadTest\.target = \(not set\): is required when canary:loadTest\.enabled is true with router istio: the router's entry as the cluster reaches it/);
        const bad = await runProgram({ stack: "dev", config: { loadTest: { rate: 0 } } });
        assert.match(bad.error?.message ?? "", /canary:loadTest\.rate = 0: must be above 0 requests per second/);
    });

    it("the request: to the entry's address, with the app's host as Host and TLS server name", () => {
        const https = requestOptions(loadSettings({ target: "https://canary-envoy.envoy-gateway-system.svc:443", host: "podinfo.example.com", headers: '{"x-canary":"always"}' }));
        assert.deepStrictEqual(https, {
            protocol: "https:",
            hostname: "canary-envoy.envoy-gateway-system.svc",
            port: 443,
            path: "/",
            method: "GET",
            headers: { "x-canary": "always", host: "podinfo.example.com", "user-agent": "canary-load" },
            servername: "podinfo.example.com",
            rejectUnauthorized: false,
        });
        assert.deepStrictEqual(requestOptions(loadSettings({ target: "http://10.0.0.1", host: "a.example" })).port, 80);
        for (const [o, message] of [
            [{ host: "a" }, /--target URL is required/],
            [{ target: "ftp://x", host: "a" }, /the scheme must be http or https/],
            [{ target: "http://x", host: "a", headers: "[1]" }, /is not a JSON object of strings/],
            [{ target: "http://x", host: "a", path: "api" }, /must start with \//],
            [{ target: "http://x", host: "a", rate: "0" }, /--rate "0": must be a number from 0.1 to 10000/],
            // At most the longest stage (MAX_DEADLINE_SECONDS): a Job's duration is the stage's deadline.
            [{ target: "http://x", host: "a", duration: "99999999999h" }, /--duration 99999999999h is too long: at most 168h/],
        ] as const) {
            assert.throws(() => loadSettings(o as Record<string, string>), message as RegExp);
        }
    });

    it("the bundled generator sends its rate to a real server for its duration, then exits 0 with its counts", async function () {
        this.timeout(30_000);
        let served = 0;
        const app = createApp({ ...DEFAULT_FAULTS, version: "1.0.0" });
        app.on("request", (req) => {
            if (req.headers.host === "podinfo.example.com") served++;
        });
        await new Promise<void>((r) => app.listen(0, "127.0.0.1", r));
        const dir = tempDir("load-bundle");
        fs.writeFileSync(path.join(dir, "load.js"), loadBundle());
        const out: string[] = [];
        try {
            const port = (app.address() as AddressInfo).port;
            const args = ["--target", `http://127.0.0.1:${port}`, "--host", "podinfo.example.com", "--rate", "50", "--duration", "2s"];
            const code = await new Promise<number | null>((resolve) => {
                const p = spawn(process.execPath, [path.join(dir, "load.js"), ...args], { stdio: ["ignore", "pipe", "pipe"] });
                p.stdout.on("data", (d) => out.push(String(d)));
                p.stderr.on("data", (d) => out.push(String(d)));
                p.on("exit", resolve);
            });
            assert.strictEqual(code, 0, out.join(""));
            const done = JSON.parse(out.join("").trim().split("\n").pop() as string).done;
            assert.deepStrictEqual(done, { "1xx": 0, "2xx": 100, "3xx": 0, "4xx": 0, "5xx": 0, failed: 0 }, "50 requests a second for 2 s");
            assert.strictEqual(served, 100, "every request reached the server with the app's Host header");
            const bad = await new Promise<number | null>((resolve) => spawn(process.execPath, [path.join(dir, "load.js"), "--rate", "5"], { stdio: "ignore" }).on("exit", resolve));
            assert.strictEqual(bad, 2);
        } finally {
            app.close();
        }
    });
});
