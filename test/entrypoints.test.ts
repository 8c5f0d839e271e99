/**
 * The other entry points a new user runs: the demo app (bad fault values over real HTTP and on its
 * command line), the benchmark's options, and the test run's own hygiene (temp dirs removed, a
 * missing server binary named at once).
 */
import * as assert from "assert";
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { benchOptions } from "../bench/decisions";
import { parseOptions } from "../lib/args";
import { loadStack } from "../rollout/stackFile";
import * as YAML from "yaml";
import { ROOT } from "./harness";
import { requireTool, runTool, tempDir } from "../demo/host";

const TS_NODE = path.join(ROOT, "node_modules", ".bin", "ts-node");
const tsNode = (file: string, args: string[], opts: { env?: NodeJS.ProcessEnv } = {}) =>
    spawnSync(TS_NODE, ["--transpile-only", path.join(ROOT, file), ...args], { cwd: ROOT, encoding: "utf8", timeout: 60_000, env: opts.env ?? process.env });

/** Starts the demo app on a free port; resolves with the process and its port once it listens. */
function startApp(args: string[]): Promise<{ proc: ChildProcess; port: number }> {
    return new Promise((resolve, reject) => {
        const proc = spawn(TS_NODE, ["--transpile-only", path.join(ROOT, "app", "main.ts"), "--port=0", ...args], { stdio: ["ignore", "pipe", "pipe"] });
        let err = "";
        proc.stderr!.on("data", (d) => (err += String(d)));
        proc.stdout!.on("data", (d) => {
            const m = /listening (\d+)/.exec(String(d));
            if (m) resolve({ proc, port: Number(m[1]) });
        });
        proc.on("exit", (code) => reject(new Error(`the demo app exited ${code}: ${err}`)));
    });
}

describe("options: --name value and --name=value, checked per entry point", () => {
    const specs = [{ name: "port", value: "N", help: "" }, { name: "json", help: "" }];
    it("both forms, booleans, and every refusal names the option", () => {
        assert.deepStrictEqual(parseOptions(["--port", "8080", "--json"], specs, "x"), { port: "8080", json: true });
        assert.deepStrictEqual(parseOptions(["--port=8080"], specs, "x"), { port: "8080" });
        assert.deepStrictEqual(parseOptions(["--port=a=b"], specs, "x"), { port: "a=b" });
        // A flag as a script computes it: =true sets it, =false leaves it unset.
        assert.deepStrictEqual(parseOptions(["--json=true"], specs, "x"), { json: true });
        assert.deepStrictEqual(parseOptions(["--json=false"], specs, "x"), {});
        for (const [argv, message] of [
            [["--prt", "1"], /x: unknown option --prt \(options here: --port, --json\)/],
            [["--port"], /--port needs a value \(N\)/],
            [["--port", "--json"], /--port needs a value/],
            [["--json=1"], /--json takes no value, or =true or =false \(got "1"\)/],
            [["--json=false", "--json"], /--json is given twice/],
            [["--port", "1", "--port", "2"], /--port is given twice/],
            [["8080"], /unexpected argument "8080"/],
            // util.parseArgs reads these as a short option and the end of options: neither is an option here.
            [["-p", "1"], /unexpected argument "-p"/],
            [["--", "--port"], /unexpected argument "--"/],
        ] as [string[], RegExp][]) {
            assert.throws(() => parseOptions(argv, specs, "x"), message, argv.join(" "));
        }
    });
});

describe("the demo app: bad input is answered, never a crash", function () {
    this.timeout(60_000);
    let app: { proc: ChildProcess; port: number };
    before(async () => (app = await startApp(["--version=2.0.0", "--errorRatio=0"])));
    after(() => app.proc.kill("SIGTERM"));

    it("PUT /faults with a bad or unknown value: 400 with the reason, the faults unchanged, and it keeps serving", async () => {
        const url = `http://127.0.0.1:${app.port}`;
        for (const [query, message] of [
            ["errorRatio=2", /errorRatio=2: must be a number from 0 to 1/],
            ["errorRatio=abc", /errorRatio=abc: must be a number/],
            ["addedLatencyMs=-5", /addedLatencyMs=-5: must be a number from 0 to 60000/],
            ["errorRate=0.5", /unknown fault "errorRate": the faults are errorRatio, addedLatencyMs, checkoutFailRatio/],
            ["checkoutFailRatio=1.5", /checkoutFailRatio=1\.5: must be a number from 0 to 1/],
        ] as [string, RegExp][]) {
            const r = await fetch(`${url}/faults?${query}`, { method: "PUT" });
            assert.strictEqual(r.status, 400, query);
            const body = await r.json();
            assert.match(body.error, message);
            assert.deepStrictEqual(body.faults, { errorRatio: 0, addedLatencyMs: 0, checkoutFailRatio: 0.02 });
        }
        const ok = await fetch(`${url}/faults?errorRatio=1`, { method: "PUT" });
        assert.deepStrictEqual(await ok.json(), { errorRatio: 1, addedLatencyMs: 0, checkoutFailRatio: 0.02 });
        assert.strictEqual((await fetch(`${url}/`)).status, 500, "errorRatio=1 fails every request");
        // A failed checkout is a business outcome, answered 200: only the ratio metric sees it.
        await fetch(`${url}/faults?errorRatio=0&checkoutFailRatio=1`, { method: "PUT" });
        const declined = await fetch(`${url}/checkout`);
        assert.deepStrictEqual([declined.status, await declined.json()], [200, { ok: false, reason: "payment declined" }]);
        await fetch(`${url}/faults?checkoutFailRatio=0`, { method: "PUT" });
        assert.deepStrictEqual(await (await fetch(`${url}/checkout`)).json(), { ok: true });
        const metrics = await (await fetch(`${url}/metrics`)).text();
        assert.match(metrics, /^checkouts_total 2$/m);
        assert.match(metrics, /^checkouts_failed_total 1$/m);
        assert.strictEqual((await fetch(`${url}/healthz`)).status, 200);
    });

    it("--errorRatio=0.2 and --errorRatio 0.2 both apply; a bad value or a port in use exits 2 with the reason, no stack trace", async () => {
        const a = await startApp(["--errorRatio=1"]);
        try {
            assert.strictEqual((await fetch(`http://127.0.0.1:${a.port}/`)).status, 500);
        } finally {
            a.proc.kill("SIGTERM");
        }
        const b = await startApp(["--errorRatio", "1"]);
        try {
            assert.strictEqual((await fetch(`http://127.0.0.1:${b.port}/`)).status, 500);
        } finally {
            b.proc.kill("SIGTERM");
        }
        for (const [args, message] of [
            [["--errorRatio", "2"], /^app: --errorRatio=2: must be a number from 0 to 1\n$/],
            [["--errorRate=0.2"], /^app: unknown option --errorRate/],
            [["--port", "http"], /^--port "http": must be a whole number from 0 to 65535\n$/],
        ] as [string[], RegExp][]) {
            const r = tsNode("app/main.ts", args);
            assert.strictEqual(r.status, 2, `${args.join(" ")}: ${r.stderr}`);
            assert.match(r.stderr, message);
        }
        // A port in use (8080, the default, is also `rollout serve`'s): one line, exit 2, no stack trace.
        const busy = net.createServer();
        await new Promise<void>((r) => busy.listen(0, "127.0.0.1", r));
        try {
            const port = (busy.address() as net.AddressInfo).port;
            const taken = await new Promise<{ status: number | null; out: string; err: string }>((resolve) => {
                const proc = spawn(TS_NODE, ["--transpile-only", path.join(ROOT, "app", "main.ts"), "--port", String(port)], { stdio: ["ignore", "pipe", "pipe"] });
                let out = "";
                let err = "";
                proc.stdout!.on("data", (d) => (out += String(d)));
                proc.stderr!.on("data", (d) => (err += String(d)));
                proc.on("close", (status) => resolve({ status, out, err }));
            });
            assert.strictEqual(taken.status, 2, taken.err);
            assert.strictEqual(taken.out, "");
            assert.strictEqual(taken.err, `cannot listen on 127.0.0.1:${port}: the port is in use by another process (EADDRINUSE); choose another with --port N (0 picks a free one)\n`);
        } finally {
            busy.close();
        }
        const help = tsNode("app/main.ts", ["--help"]);
        assert.strictEqual(help.status, 0);
        assert.match(help.stdout, /--errorRatio R[\s\S]*--addedLatencyMs MS/);
    });
});

describe("the demo app's scrape config (app/prometheus.yml, shown in docs/rollout.md)", () => {
    it("is valid for promtool and labels both tracks as the dev stack's analysis selects them", () => {
        const file = path.join(ROOT, "app", "prometheus.yml");
        const r = runTool("promtool", ["check", "config", file]);
        assert.strictEqual(r.status, 0, r.output);
        const app = loadStack(ROOT, "dev").config.app;
        const targets = YAML.parse(fs.readFileSync(file, "utf8")).scrape_configs[0].static_configs;
        assert.deepStrictEqual(
            targets.map((t: any) => [t.labels.namespace, t.labels.app, t.labels.track]),
            [[app.namespace, app.name, "stable"], [app.namespace, app.name, "canary"]],
        );
        assert.ok(fs.readFileSync(path.join(ROOT, "docs", "rollout.md"), "utf8").includes("prometheus --config.file=app/prometheus.yml"));
    });
});

describe("the benchmark's options", () => {
    it("valid values pass; anything else is refused with the option's name and range", () => {
        assert.deepStrictEqual(benchOptions(["--runs=20", "--seed", "7", "--json"]), { runs: 20, seed: 7, json: true, help: false });
        for (const [argv, message] of [
            [["--runs", "abc"], /--runs "abc": must be a whole number from 1 to 100000/],
            [["--runs", "0"], /--runs "0"/],
            [["--runs", "2.5"], /--runs "2.5"/],
            [["--seed", "-1"], /--seed "-1": must be a whole number from 0 to 4294967295/],
            [["--rusn", "5"], /unknown option --rusn/],
        ] as [string[], RegExp][]) {
            assert.throws(() => benchOptions(argv), message, argv.join(" "));
        }
    });

    it("through npm: --runs abc exits 2 with the reason; --help exits 0 and lists the options", () => {
        const bad = spawnSync("npm", ["run", "-s", "bench", "--", "--runs", "abc"], { cwd: ROOT, encoding: "utf8" });
        assert.strictEqual(bad.status, 2, bad.stderr);
        assert.match(bad.stderr, /--runs "abc": must be a whole number/);
        assert.strictEqual(bad.stdout, "", "no NaN table");
        const help = spawnSync("npm", ["run", "-s", "bench", "--", "--help"], { cwd: ROOT, encoding: "utf8" });
        assert.strictEqual(help.status, 0, help.stderr);
        assert.match(help.stdout, /--runs N[\s\S]*--seed S[\s\S]*--json/);
    });
});

describe("the test run's own hygiene", function () {
    this.timeout(120_000);
    it("a suite's temp dirs are gone when the run ends", () => {
        const tmp = tempDir("hygiene");
        const r = spawnSync(
            path.join(ROOT, "node_modules", ".bin", "mocha"),
            ["--no-config", "--require", "ts-node/register/transpile-only", "--require", "test/hooks.ts", "--timeout", "60000", "test/alertmanager.test.ts"],
            { cwd: ROOT, encoding: "utf8", env: { ...process.env, TMPDIR: tmp } },
        );
        assert.strictEqual(r.status, 0, `${r.stdout}${r.stderr}`);
        assert.match(r.stdout, /\d+ passing/);
        const left = fs.readdirSync(tmp).filter((f) => f.startsWith("canary-"));
        assert.deepStrictEqual(left, [], "temp dirs left behind");
    });

    it("a missing server binary fails at once saying what builds it", () => {
        const empty = tempDir("no-path");
        assert.throws(() => requireTool("prometheus", { ...process.env, PATH: empty }), /prometheus is not installed: scripts\/prometheus\.sh builds it/);
    });
});
