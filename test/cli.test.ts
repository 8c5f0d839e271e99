/**
 * The `rollout` command as a person runs it: the real bin in a child process. A user's mistake or the
 * machine's state (a port in use, an address not on this host, a stack file missing, a directory or
 * unreadable, a directory not writable, a current directory removed) is one line and exit 2, never a
 * stack trace, and under --json exactly one JSON document on stdout; `--timeout` bounds `run` from
 * its first second. The bin runs the bundle when it is current (lib/bundleCache.js), and the bundle
 * gives what the TypeScript gives.
 */
import * as assert from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as path from "path";
import { buildCli } from "../rollout/bundle";
import { copyProjectFile, ROOT } from "./harness";
import { requireTool, tempDir } from "../demo/host";

// eslint-disable-next-line @typescript-eslint/no-require-imports
import { bundleCache, bundleEntry, cachedBundle } from "../lib/bundle";
import { JUDGE_ENTRY } from "../components/delivery/judge";

const BIN = path.join(ROOT, "rollout", "bin.js");

interface Ran {
    readonly status: number | null;
    readonly stdout: string;
    readonly stderr: string;
    readonly ms: number;
}

/**
 * Runs `command` (default: node and the bin) with `args` in `cwd`; resolves when it exits, or kills
 * it after `killAfterMs`. Asynchronous, so servers in this process keep answering meanwhile.
 */
function run(args: readonly string[], o: { cwd?: string; command?: readonly string[]; killAfterMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<Ran> {
    const [file, ...pre] = o.command ?? [process.execPath, BIN];
    const started = Date.now();
    return new Promise((resolve, reject) => {
        const child = spawn(file, [...pre, ...args], { cwd: o.cwd ?? ROOT, env: o.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d) => (stdout += String(d)));
        child.stderr.on("data", (d) => (stderr += String(d)));
        const timer = setTimeout(() => child.kill("SIGKILL"), o.killAfterMs ?? 30_000);
        child.on("error", reject);
        child.on("close", (status) => {
            clearTimeout(timer);
            resolve({ status, stdout, stderr, ms: Date.now() - started });
        });
    });
}

/** Exit 2 with exactly one line on stderr matching `message` and nothing on stdout: no stack trace. */
function oneLine(r: Ran, message: RegExp): void {
    assert.strictEqual(r.status, 2, `${r.stdout}${r.stderr}`);
    assert.strictEqual(r.stdout, "");
    assert.doesNotMatch(r.stderr, /^\s+at /m, "a stack frame");
    assert.match(r.stderr, /^[^\n]+\n$/, `one line: ${r.stderr}`);
    assert.match(r.stderr, message);
}

/** Exit 2 with exactly one JSON document on stdout, `{error, exit: 2}`, its error matching `message`. */
function oneJson(r: Ran, message: RegExp): void {
    assert.strictEqual(r.status, 2, `${r.stdout}${r.stderr}`);
    assert.doesNotMatch(`${r.stdout}${r.stderr}`, /^\s+at /m, "a stack frame");
    assert.match(r.stdout, /^[^\n]+\n$/, `one document on one line: ${r.stdout}`);
    const doc = JSON.parse(r.stdout);
    assert.deepStrictEqual(Object.keys(doc), ["error", "exit"]);
    assert.strictEqual(doc.exit, 2);
    assert.match(doc.error, message);
}

/** Both ways: text (one line on stderr) and with --json (one document on stdout). */
async function refused(args: readonly string[], message: RegExp, o: Parameters<typeof run>[1] = {}): Promise<void> {
    oneLine(await run(args, o), message);
    oneJson(await run([...args, "--json"], o), message);
}

/** A project directory holding the dev stack file at `weight`. */
function project(weight = 0): string {
    const dir = tempDir("cli");
    fs.writeFileSync(path.join(dir, "Pulumi.dev.yaml"), fs.readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8").replace(/canary:weight: 0\b/, `canary:weight: ${weight}`));
    copyProjectFile(dir);
    return dir;
}

/** A TCP port this process holds on 127.0.0.1, and how to let it go. */
async function occupiedPort(): Promise<{ port: number; close: () => void }> {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    return { port: (server.address() as net.AddressInfo).port, close: () => server.close() };
}

/**
 * A permission the process is denied. Root reads and writes whatever the mode says, so as root the
 * command runs without the capabilities that let it (setpriv from util-linux drops them from the
 * bounding set): then a mode-000 file is EACCES for root too.
 */
function unprivileged(): readonly string[] {
    if (process.getuid?.() !== 0) return [process.execPath, BIN];
    requireTool("setpriv");
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search", process.execPath, BIN];
}

describe("the rollout bin: the bundle while it is current", function () {
    this.timeout(120_000);

    it("runs the bundle built from the sources as they are, with the same output as the TypeScript through ts-node", async () => {
        buildCli();
        assert.ok(bundleCache.currentBundle(ROOT, "rollout").file, bundleCache.currentBundle(ROOT, "rollout").stale);
        const env = { ...process.env, ROLLOUT_START: "1" };
        const bundled = await run(["status", "--stack", "dev", "--json"], { env });
        assert.strictEqual(bundled.status, 0, bundled.stderr);
        assert.strictEqual(bundled.stderr, `rollout start: bundle ${path.join("dist", "rollout.js")}\n`);
        const tsNode = await run(["status", "--stack", "dev", "--json"], { command: [path.join(ROOT, "node_modules", ".bin", "ts-node"), "--transpile-only", path.join(ROOT, "rollout", "main.ts")] });
        assert.strictEqual(tsNode.status, 0, tsNode.stderr);
        assert.deepStrictEqual(JSON.parse(bundled.stdout), JSON.parse(tsNode.stdout));
        // `run --apply` loads the Automation API from node_modules, on first use only.
        assert.match(fs.readFileSync(path.join(ROOT, "dist", "rollout.js"), "utf8"), /require\("@pulumi\/pulumi\/automation"\)/);
    });

    it("a bundle is current only while every file it was built from is as it was", () => {
        const root = tempDir("bundle");
        fs.mkdirSync(path.join(root, "src"));
        fs.mkdirSync(path.join(root, "node_modules", "pkg"), { recursive: true });
        fs.writeFileSync(path.join(root, "src", "a.ts"), "a");
        fs.writeFileSync(path.join(root, "node_modules", "pkg", "package.json"), '{"version":"1.0.0"}');
        fs.writeFileSync(path.join(root, "node_modules", "pkg", "index.js"), "x");
        assert.match(bundleCache.currentBundle(root, "rollout").stale ?? "", /rollout\.inputs\.json is missing/);
        bundleCache.writeBundle(root, "rollout", "code", ["src/a.ts", "node_modules/pkg/index.js"]);
        assert.deepStrictEqual(bundleCache.currentBundle(root, "rollout"), { file: path.join(root, "dist", "rollout.js") });
        // A package stands for its package.json: a new version is a stale bundle.
        fs.writeFileSync(path.join(root, "node_modules", "pkg", "package.json"), '{"version":"1.0.1"}');
        assert.deepStrictEqual(bundleCache.currentBundle(root, "rollout"), { stale: "node_modules/pkg/package.json changed since the bundle was built" });
        bundleCache.writeBundle(root, "rollout", "code", ["src/a.ts", "node_modules/pkg/index.js"]);
        fs.writeFileSync(path.join(root, "src", "a.ts"), "b");
        assert.deepStrictEqual(bundleCache.currentBundle(root, "rollout"), { stale: "src/a.ts changed since the bundle was built" });
        fs.rmSync(path.join(root, "src", "a.ts"));
        assert.deepStrictEqual(bundleCache.currentBundle(root, "rollout"), { stale: "src/a.ts, one of its inputs, is gone" });
    });

    it("the program's bundles (cachedBundle): the kept one is what bundling gives, and a stale record is rebuilt", () => {
        const built = bundleEntry(JUDGE_ENTRY).code;
        assert.strictEqual(cachedBundle(JUDGE_ENTRY, "judgeMain"), built);
        assert.ok(bundleCache.currentBundle(ROOT, "judgeMain").file, "kept in dist/");
        // A record that no longer matches (as after an edit of the judge's sources) is not used.
        const record = path.join(ROOT, "dist", "judgeMain.inputs.json");
        const hashes = JSON.parse(fs.readFileSync(record, "utf8"));
        fs.writeFileSync(record, JSON.stringify({ ...hashes, "rollout/serve.ts": "0".repeat(64) }));
        fs.writeFileSync(path.join(ROOT, "dist", "judgeMain.js"), "stale");
        assert.match(bundleCache.currentBundle(ROOT, "judgeMain").stale ?? "", /rollout\/serve\.ts changed since the bundle was built/);
        assert.strictEqual(cachedBundle(JUDGE_ENTRY, "judgeMain"), built);
        assert.ok(bundleCache.currentBundle(ROOT, "judgeMain").file, "rebuilt and recorded");
    });
});

describe("rollout: the machine's state is one line and exit 2, one JSON document with --json", function () {
    this.timeout(120_000);

    it("serve --listen on a port in use (EADDRINUSE)", async () => {
        const busy = await occupiedPort();
        try {
            await refused(["serve", "--prometheus", "http://127.0.0.1:9", "--listen", `127.0.0.1:${busy.port}`], new RegExp(`^(rollout: )?cannot listen on 127\\.0\\.0\\.1:${busy.port}: the port is in use by another process \\(EADDRINUSE\\); choose another with --listen HOST:PORT`));
            // The judge's own entry point, what the cluster runs, says the same.
            oneLine(
                await run(["--prometheus", "http://127.0.0.1:9", "--listen", `127.0.0.1:${busy.port}`], { command: [path.join(ROOT, "node_modules", ".bin", "ts-node"), "--transpile-only", path.join(ROOT, "rollout", "judgeMain.ts")] }),
                /^judge: cannot listen on .*\(EADDRINUSE\)/,
            );
        } finally {
            busy.close();
        }
    });

    it("serve --listen on an address that is not this host's (EADDRNOTAVAIL; binding it sends nothing)", async () => {
        // 192.0.2.1 is TEST-NET-1 (RFC 5737): on no host. Only bound to, which fails locally. Off loopback the judge needs a token first.
        const token = path.join(tempDir("cli-token"), "token");
        fs.writeFileSync(token, "t".repeat(32));
        await refused(["serve", "--prometheus", "http://127.0.0.1:9", "--listen", "192.0.2.1:8080", "--token-file", token], /cannot listen on 192\.0\.2\.1:8080: the address is not one of this host's \(EADDRNOTAVAIL\)/);
    });

    it("a stack file that is a directory (EISDIR), missing (ENOENT), a link to nowhere, or in a removed directory", async () => {
        const dir = project();
        fs.mkdirSync(path.join(dir, "Pulumi.box.yaml"));
        await refused(["status", "--stack", "box"], /cannot read .*Pulumi\.box\.yaml: it is a directory, not a file \(EISDIR\)/, { cwd: dir });
        await refused(["next", "--stack", "box"], /\(EISDIR\)/, { cwd: dir });
        await refused(["status", "--stack", "gone"], /no stack file Pulumi\.gone\.yaml in .* \(stacks here: box, dev\)/, { cwd: dir });
        fs.symlinkSync("nowhere.yaml", path.join(dir, "Pulumi.link.yaml"));
        await refused(["status", "--stack", "link"], /Pulumi\.link\.yaml is a symbolic link to nowhere\.yaml, which does not exist/, { cwd: dir });
        // The shell's current directory removed under it: the command cannot even say where it is.
        const sub = path.join(dir, "sub");
        fs.mkdirSync(sub);
        for (const json of [[], ["--json"]]) {
            const r = await run(["-c", `cd "${sub}" && rmdir "${sub}" && exec "$0" "$@"`, process.execPath, BIN, "status", "--stack", "dev", ...json], { command: ["sh"] });
            (json.length ? oneJson : oneLine)(r, /cannot read the current directory: no such file or directory \(ENOENT\)/);
            fs.mkdirSync(sub);
        }
    });

    it("a stack file that is empty, a list, an alias bomb or endless (a link to /dev/zero): one line, exit 2, and quickly", async () => {
        const dir = project();
        const shape = /the stack file must be a mapping with a config: mapping/;
        fs.writeFileSync(path.join(dir, "Pulumi.empty.yaml"), "");
        await refused(["status", "--stack", "empty"], new RegExp(`Pulumi\\.empty\\.yaml is empty: ${shape.source}`), { cwd: dir });
        fs.writeFileSync(path.join(dir, "Pulumi.list.yaml"), "config:\n  - canary:weight: 5\n");
        await refused(["status", "--stack", "list"], new RegExp(`Pulumi\\.list\\.yaml: config is a list: ${shape.source}`), { cwd: dir });
        const levels = Array.from({ length: 9 }, (_, i) => `  l${i + 1}: &l${i + 1} [${Array(9).fill(`*l${i}`).join(", ")}]`);
        fs.writeFileSync(path.join(dir, "Pulumi.bomb.yaml"), `config:\n  l0: &l0 "lol"\n${levels.join("\n")}\n`);
        await refused(["status", "--stack", "bomb"], /Pulumi\.bomb\.yaml: Excessive alias count indicates a resource exhaustion attack/, { cwd: dir, killAfterMs: 10_000 });
        fs.symlinkSync("/dev/zero", path.join(dir, "Pulumi.zero.yaml"));
        await refused(["status", "--stack", "zero"], /Pulumi\.zero\.yaml is larger than 1048576 bytes/, { cwd: dir, killAfterMs: 10_000 });
    });

    it("a stack file it may not read, a directory it may not write (EACCES, root included)", async () => {
        const dir = project(5);
        const file = path.join(dir, "Pulumi.dev.yaml");
        const command = unprivileged();
        fs.chmodSync(file, 0o000);
        try {
            await refused(["status", "--stack", "dev"], /cannot read .*Pulumi\.dev\.yaml: permission denied \(EACCES\)/, { cwd: dir, command });
        } finally {
            fs.chmodSync(file, 0o644);
        }
        const before = fs.readFileSync(file, "utf8");
        fs.chmodSync(dir, 0o555);
        try {
            await refused(["next", "--stack", "dev"], /cannot write .*Pulumi\.dev\.yaml: permission denied \(EACCES\); the stack file is unchanged/, { cwd: dir, command });
        } finally {
            fs.chmodSync(dir, 0o755);
        }
        assert.strictEqual(fs.readFileSync(file, "utf8"), before);
        assert.deepStrictEqual(fs.readdirSync(dir).sort(), ["Pulumi.dev.yaml", "Pulumi.yaml"], "no temp file left");
    });

    it("help for an unknown command: one line, exit 2", async () => {
        await refused(["help", "bogus"], /unknown command "bogus": the commands are status, next/);
    });
});

describe("rollout --json=true and --json=false, as scripts write a flag", function () {
    this.timeout(60_000);

    it("--json=true is --json (results and errors); --json=false is text", async () => {
        const yes = await run(["status", "--stack", "dev", "--json=true"]);
        assert.deepStrictEqual([yes.status, yes.stderr, JSON.parse(yes.stdout).stack], [0, "", "dev"]);
        oneJson(await run(["status", "--stack", "gone", "--json=true"]), /no stack file Pulumi\.gone\.yaml/);
        const no = await run(["status", "--stack", "dev", "--json=false"]);
        assert.strictEqual(no.status, 0, no.stderr);
        assert.match(no.stdout, /^stack dev \(environment dev, router gateway\)\n/);
        oneLine(await run(["status", "--stack", "gone", "--json=false"]), /^rollout: no stack file Pulumi\.gone\.yaml/);
        oneJson(await run(["status", "--stack", "dev", "--json=yes"]), /--json takes no value, or =true or =false/);
    });
});

describe("rollout run --timeout bounds the whole command from its first second", function () {
    this.timeout(60_000);

    it("a Prometheus that never answers: HOLD (exit 3) at --timeout 3s, not after the query timeout or two scrape intervals", async () => {
        const sockets = new Set<net.Socket>();
        const silent = http.createServer(() => undefined);
        silent.on("connection", (s) => sockets.add(s));
        await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
        const url = `http://127.0.0.1:${(silent.address() as net.AddressInfo).port}`;
        try {
            const r = await run(["run", "--stack", "dev", "--prometheus", url, "--since", "15m", "--timeout", "3s", "--json"], { cwd: project(5), killAfterMs: 20_000 });
            assert.strictEqual(r.status, 3, r.stderr);
            assert.ok(r.ms < 8000, `ended after ${r.ms} ms`);
            const doc = JSON.parse(r.stdout);
            assert.deepStrictEqual([doc.decision, doc.reasons, doc.edits], ["HOLD", ["no answer from Prometheus before --timeout 3s ran out"], []]);
        } finally {
            for (const s of sockets) s.destroy();
            silent.close();
        }
    });

    it("a closed local port: HOLD within the timeout; a timeout before the first look could judge anything is refused at once", async () => {
        const closed = await occupiedPort();
        closed.close();
        const dir = project(5);
        const r = await run(["run", "--stack", "dev", "--prometheus", `http://127.0.0.1:${closed.port}`, "--since", "15m", "--timeout", "3s"], { cwd: dir, killAfterMs: 20_000 });
        assert.strictEqual(r.status, 3, r.stderr);
        assert.ok(r.ms < 8000, `ended after ${r.ms} ms`);
        assert.match(r.stdout, /HOLD: Prometheus at .* is unreachable: ECONNREFUSED[\s\S]*no decision before the timeout: the stack file is unchanged/);
        // Without --since the stage starts now: its first window of two scrapes (30 s) ends after 3 s.
        const early = await run(["run", "--stack", "dev", "--prometheus", `http://127.0.0.1:${closed.port}`, "--timeout", "3s"], { cwd: dir, killAfterMs: 20_000 });
        oneLine(early, /run: --timeout 3s ends before the first look can judge anything: .* only (30|31)s from now\. Give --timeout more than (30|31)s, or --since/);
        assert.ok(early.ms < 8000, `ended after ${early.ms} ms`);
    });
});
