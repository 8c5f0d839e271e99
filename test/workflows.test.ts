/**
 * The GitHub Actions workflows: they parse, call pulumi/actions only with inputs it documents,
 * preview (and comment) on pull requests with read-only credentials, `up` only on main, take
 * credentials from secrets, pass stack names as data, and every job has a timeout.
 */
import * as assert from "assert";
import { execFile, execFileSync, spawnSync } from "child_process";
import * as esbuild from "esbuild";
import * as fs from "fs";
import * as http from "http";
import type { AddressInfo } from "net";
import * as path from "path";
import * as YAML from "yaml";
import { runVerdict } from "../components/delivery/analysis";
import { JUDGE_ENTRY } from "../components/delivery/judge";
import { LOAD_ENTRY } from "../components/delivery/loadTest";
import { copyProjectFile, ROOT, STACKS } from "./harness";
import { tempDir } from "../demo/host";

/**
 * The inputs pulumi/actions v6 documents (README "Configuration" and "Extra options",
 * https://github.com/pulumi/actions#configuration). An input outside this list is silently ignored
 * by the action, so a typo would turn a guard off without failing.
 */
const PULUMI_ACTION_INPUTS = new Set([
    "command", "stack-name", "work-dir", "cloud-url", "comment-on-pr", "comment-on-summary", "github-token", "refresh",
    "secrets-provider", "color", "log-verbosity", "log-flow", "debug", "config-map", "diff", "comment-on-pr-number",
    "edit-pr-comment", "expect-no-changes", "message", "parallel", "policyPacks", "policyPackConfigs", "pulumi-version",
    "pulumi-version-file", "remove", "replace", "target", "target-dependents", "upsert", "exclude-protected",
    "suppress-outputs", "suppress-progress", "omit-stdout", "plan", "always-include-summary", "continue-on-error",
]);

const GITHUB = path.join(ROOT, ".github");

function yamlFiles(dir: string): string[] {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
        const p = path.join(dir, e.name);
        return e.isDirectory() ? yamlFiles(p) : /\.ya?ml$/.test(e.name) ? [p] : [];
    });
}

function parse(file: string): any {
    const doc = YAML.parseDocument(fs.readFileSync(file, "utf8"), { uniqueKeys: true });
    assert.deepStrictEqual(doc.errors.map((e) => e.message), [], `${file} does not parse`);
    return doc.toJS();
}

const workflow = (name: string) => parse(path.join(GITHUB, "workflows", name));
type Step = { uses?: string; run?: string; with?: Record<string, unknown>; env?: Record<string, unknown> };
const steps = (job: any): Step[] => job.steps ?? [];
const pulumiStep = (job: any): Step => {
    const found = steps(job).filter((s) => s.uses?.startsWith("pulumi/actions@"));
    assert.strictEqual(found.length, 1, "one pulumi/actions step per job");
    return found[0];
};
/** The job's `run` step that calls `script` (a file in .github/scripts). */
const scriptStep = (job: any, script: string): Step => {
    const found = steps(job).filter((s) => s.run?.includes(`.github/scripts/${script}`));
    assert.strictEqual(found.length, 1, `one step runs ${script}`);
    return found[0];
};

/**
 * A `run:` step as the runner runs it: each `${{ expr }}` replaced by its value, textually, in the
 * script and in the step's env (GitHub's own substitution), then `bash -eo pipefail` in `cwd`.
 * The values default to neutral ones; an expression without a value fails the test.
 */
function runStep(step: Step, values: Record<string, string>, cwd: string, env: NodeJS.ProcessEnv = process.env) {
    const known: Record<string, string> = {
        "vars.PULUMI_ORG": "acme",
        "github.event.head_commit.message": "a change",
        "vars[format('PROMETHEUS_URL_{0}', matrix.stack)]": "http://127.0.0.1:9",
        "runner.temp": path.join(cwd, "runner-temp"),
        ...values,
    };
    const render = (text: string) =>
        text.replace(/\$\{\{\s*(.*?)\s*\}\}/g, (_, expr: string) => {
            assert.ok(expr in known, `no value for \${{ ${expr} }}`);
            return known[expr];
        });
    const stepEnv = Object.fromEntries(Object.entries(step.env ?? {}).map(([k, v]) => [k, render(String(v))]));
    return spawnSync("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", render(step.run!)], { cwd, env: { ...env, ...stepEnv }, encoding: "utf8" });
}

describe("GitHub workflows", () => {
    const files = yamlFiles(GITHUB);

    it("every workflow and action file parses as YAML", () => {
        assert.ok(files.length >= 4, `found ${files.join(", ")}`);
        for (const f of files) assert.ok(parse(f), f);
    });

    it("pulumi/actions is pinned to v6 and called only with inputs it documents", () => {
        let calls = 0;
        for (const f of files) {
            for (const job of Object.values<any>(parse(f).jobs ?? {})) {
                for (const s of steps(job).filter((s) => s.uses?.startsWith("pulumi/actions@"))) {
                    calls++;
                    assert.strictEqual(s.uses, "pulumi/actions@v6", f);
                    const unknown = Object.keys(s.with ?? {}).filter((k) => !PULUMI_ACTION_INPUTS.has(k));
                    assert.deepStrictEqual(unknown, [], `${f}: inputs pulumi/actions does not document`);
                    // Without a command the action only installs the CLI (for the scripts); with one, it needs its stack.
                    if (s.with !== undefined) assert.ok(s.with.command && s.with["stack-name"], `${f}: command and stack-name`);
                }
            }
        }
        assert.strictEqual(calls, 3, "preview; the CLI for deploy's and watch's scripts");
    });

    it("tests run on every push and pull request, with the CI script", () => {
        const wf = workflow("test.yml");
        assert.deepStrictEqual(Object.keys(wf.on).sort(), ["pull_request", "push"]);
        assert.strictEqual(wf.on.push, null, "push on every branch");
        assert.ok(steps(wf.jobs.test).some((s) => s.run === "bash .ci/run"));
    });

    it("Node.js: tests run on 22 and 24, every setup-node uses 22 or newer, as package.json's engines says", () => {
        assert.deepStrictEqual(workflow("test.yml").jobs.test.strategy.matrix.node, [22, 24]);
        let setups = 0;
        for (const f of files) {
            const doc = parse(f);
            const all = [...Object.values<any>(doc.jobs ?? {}).flatMap((job) => steps(job).map((s) => ({ s, job }))), ...(doc.runs?.steps ?? []).map((s: Step) => ({ s, job: {} }))];
            for (const { s, job } of all.filter(({ s }) => s.uses?.startsWith("actions/setup-node@"))) {
                setups++;
                const v = s.with?.["node-version"];
                const versions = v === "${{ matrix.node }}" ? job.strategy.matrix.node : [v];
                for (const n of versions) assert.ok(Number(n) >= 22, `${f}: node-version ${n}`);
            }
        }
        assert.ok(setups >= 2, "the test workflow and the setup-stack action set up Node");
        assert.strictEqual(JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).engines.node, ">=22");
    });

    it("pull requests preview every stack with the policy pack and one PR comment edited in place", () => {
        const wf = workflow("preview.yml");
        assert.deepStrictEqual(Object.keys(wf.on), ["pull_request"]);
        const job = wf.jobs.preview;
        assert.strictEqual(job.permissions["pull-requests"], "write");
        assert.deepStrictEqual(job.strategy.matrix.stack, [...STACKS]);
        const w = pulumiStep(job).with!;
        assert.strictEqual(w.command, "preview");
        assert.strictEqual(w["stack-name"], "${{ vars.PULUMI_ORG }}/canary/${{ matrix.stack }}");
        assert.strictEqual(w["comment-on-pr"], true);
        assert.strictEqual(w["edit-pr-comment"], true);
        assert.strictEqual(w["github-token"], "${{ secrets.GITHUB_TOKEN }}");
        assert.strictEqual(w.policyPacks, "policy");
    });

    it("up runs only on main, only for changed stacks, one at a time per stack, with the policy pack", () => {
        const wf = workflow("deploy.yml");
        assert.deepStrictEqual(wf.on, { push: { branches: ["main"] } });
        const job = wf.jobs.up;
        assert.match(job.if, /github\.ref == 'refs\/heads\/main'/);
        assert.deepStrictEqual(job.needs, "changes");
        assert.strictEqual(job.strategy.matrix.stack, "${{ fromJSON(needs.changes.outputs.stacks) }}");
        assert.strictEqual(job.strategy["max-parallel"], 1);
        assert.deepStrictEqual(job.concurrency, { group: "pulumi-up-${{ matrix.stack }}", "cancel-in-progress": false, queue: "max" });
        assert.strictEqual(pulumiStep(job).with, undefined, "the action only installs the CLI");
        const up = scriptStep(job, "stage-up.sh");
        assert.strictEqual(up.run, 'bash .github/scripts/stage-up.sh "$STACK"');
        assert.strictEqual(up.env?.STACK, "${{ matrix.stack }}");
        assert.strictEqual(up.env?.STACK_NAME, "${{ vars.PULUMI_ORG }}/canary/${{ matrix.stack }}");
        assert.deepStrictEqual(job.permissions, { contents: "write", "pull-requests": "write" }, "an automatic rollback commits the stack file; the chart's link goes on the pull request");
        assert.ok(steps(wf.jobs.changes).some((s) => s.run?.includes(".github/scripts/changed-stacks.sh --deployed ")));
        assert.strictEqual(steps(wf.jobs.changes)[0].with?.["fetch-depth"], 0, "the history and the deployed/<stack> tags");
        // Every `pulumi up` is in the two scripts, each with the policy pack.
        const scripts = path.join(GITHUB, "scripts");
        const ups = fs.readdirSync(scripts).filter((f) => /"\$pulumi" up /.test(fs.readFileSync(path.join(scripts, f), "utf8")));
        assert.deepStrictEqual(ups.sort(), ["rollback.sh", "stage-up.sh"]);
        for (const f of ups) assert.match(fs.readFileSync(path.join(scripts, f), "utf8"), /"\$pulumi" up --yes --stack "\$STACK_NAME" --policy-pack policy\/analyzer /, f);
        assert.ok(fs.existsSync(path.join(ROOT, "policy", "PulumiPolicy.yaml")));
        for (const f of files) {
            for (const job of Object.values<any>(parse(f).jobs ?? {})) assert.ok(steps(job).every((s) => s.with?.command !== "up"), f);
        }
    });

    it("deploy: each stage's chart made by stage-up.sh, uploaded as an artifact whatever the up did, named in the run's summary, with no permission added", () => {
        const wf = workflow("deploy.yml");
        const job = wf.jobs.up;
        const all = steps(job) as (Step & { id?: string; if?: string; name?: string })[];
        const up = scriptStep(job, "stage-up.sh");
        assert.strictEqual(up.env?.CHART_DIR, "${{ runner.temp }}/stage-chart");
        assert.strictEqual(up.env?.PROMETHEUS_URL, workflow("watch.yml").jobs.watch.steps.find((s: Step) => s.run?.includes("watch.sh")).env.PROMETHEUS_URL, "the stack's Prometheus, as the watch reads it");
        const uploads = all.filter((s) => s.uses?.startsWith("actions/upload-artifact@"));
        assert.strictEqual(uploads.length, 1);
        const upload = uploads[0];
        // The major the other first-party actions here are pinned to (checkout, setup-node).
        assert.strictEqual(upload.uses, "actions/upload-artifact@v4");
        assert.ok(all.indexOf(upload) > all.indexOf(up), "after the up");
        assert.strictEqual(upload.if, "always()", "a failed stage's chart too");
        assert.deepStrictEqual(upload.with, { name: "stage-chart-${{ matrix.stack }}", path: up.env?.CHART_DIR, "if-no-files-found": "ignore", overwrite: true });
        const summary = all.find((s) => s.run?.includes("$GITHUB_STEP_SUMMARY"));
        assert.ok(summary && all.indexOf(summary) > all.indexOf(upload), "a summary step after the upload");
        assert.strictEqual(summary.if, `always() && steps.${upload.id}.outputs.artifact-url != ''`);
        assert.strictEqual(summary.env?.ARTIFACT_URL, `\${{ steps.${upload.id}.outputs.artifact-url }}`);
        // The summary line as the runner writes it: the artifact by name, linked.
        const dir = tempDir("summary");
        const file = path.join(dir, "summary.md");
        const r = runStep(summary, { "matrix.stack": "dev", [`steps.${upload.id}.outputs.artifact-url`]: "https://github.com/acme/canary/actions/runs/1/artifacts/2" }, dir, { ...process.env, GITHUB_STEP_SUMMARY: file });
        assert.strictEqual(r.status, 0, r.stderr);
        assert.strictEqual(fs.readFileSync(file, "utf8"), "The chart of the stage (SVG), its recording and the replay: [stage-chart-dev](https://github.com/acme/canary/actions/runs/1/artifacts/2)\n");
        // Uploading an artifact needs no permission of the token; commenting on the pull request needs pull-requests.
        assert.deepStrictEqual(job.permissions, { contents: "write", "pull-requests": "write" });
        assert.deepStrictEqual(wf.permissions, { contents: "read" });
    });

    it("deploy: the chart's link goes on the pull request whose merge made the stage; none, or a failed comment, is no failure", () => {
        const all = steps(workflow("deploy.yml").jobs.up) as (Step & { id?: string; if?: string; name?: string })[];
        const upload = all.find((s) => s.uses?.startsWith("actions/upload-artifact@"))!;
        const comment = all.find((s) => s.run?.includes("gh pr comment"));
        assert.ok(comment && all.indexOf(comment) > all.indexOf(upload), "a comment step after the upload");
        assert.strictEqual(comment.if, `always() && steps.${upload.id}.outputs.artifact-url != ''`);
        // Every value reaches the script as data (env), none interpolated into it.
        assert.doesNotMatch(comment.run!, /\$\{\{/);
        const values = { "matrix.stack": "dev", [`steps.${upload.id}.outputs.artifact-url`]: "https://github.com/acme/canary/actions/runs/1/artifacts/2", "github.token": "t", "github.repository": "acme/canary", "github.sha": "abc123" };
        // A fake gh: the commit's pull requests from PULLS, each call logged; `pr comment` fails when FAIL is set.
        const dir = tempDir("pr-comment");
        const bin = path.join(dir, "bin");
        fs.mkdirSync(bin);
        const log = path.join(dir, "gh.log");
        fs.writeFileSync(path.join(bin, "gh"), `#!/usr/bin/env bash\nprintf '%s\\n' "$*" >> ${JSON.stringify(log)}\nif [ "$1" = api ]; then printf '%s' "$PULLS"; exit 0; fi\n[ -z "$FAIL" ]\n`, { mode: 0o755 });
        const run = (extra: Record<string, string>) => {
            fs.rmSync(log, { force: true });
            const r = runStep(comment, values, dir, { ...process.env, PATH: `${bin}:${process.env.PATH}`, ...extra });
            return { ...r, calls: fs.existsSync(log) ? fs.readFileSync(log, "utf8") : "" };
        };
        const merged = run({ PULLS: "42" });
        assert.strictEqual(merged.status, 0, merged.stderr);
        assert.match(merged.calls, /^api repos\/acme\/canary\/commits\/abc123\/pulls --jq \.\[0\]\.number \/\/ empty\n/);
        assert.match(merged.calls, /\npr comment 42 --repo acme\/canary --body The chart of dev's stage \(SVG\), its recording and the replay: \[stage-chart-dev\]\(https:\/\/github\.com\/acme\/canary\/actions\/runs\/1\/artifacts\/2\)\n$/);
        const direct = run({ PULLS: "" });
        assert.strictEqual(direct.status, 0, direct.stderr);
        assert.match(direct.stdout, /no pull request for abc123/);
        assert.doesNotMatch(direct.calls, /pr comment/);
        const failed = run({ PULLS: "42", FAIL: "1" });
        assert.strictEqual(failed.status, 0, failed.stderr);
        assert.match(failed.stdout, /::warning::could not comment the chart on pull request 42/);
    });

    it("watch: every 10 minutes, on main, in deploy's concurrency group for the stack (every waiting job keeps its place), rolling back only through rollback.sh", () => {
        const wf = workflow("watch.yml");
        assert.deepStrictEqual(wf.on.schedule, [{ cron: "*/10 * * * *" }]);
        const job = wf.jobs.watch;
        assert.strictEqual(job.if, "github.ref == 'refs/heads/main'");
        assert.deepStrictEqual(job.strategy.matrix.stack, [...STACKS]);
        // One group: no watch's rollback races a deploy's up. `queue: max`: GitHub otherwise cancels a
        // group's pending job for a newer one, so a watch could replace a queued deploy.
        assert.deepStrictEqual(job.concurrency, workflow("deploy.yml").jobs.up.concurrency);
        assert.deepStrictEqual(job.permissions, { contents: "write" });
        const step = scriptStep(job, "watch.sh");
        assert.strictEqual(step.env?.PROMETHEUS_URL, "${{ vars[format('PROMETHEUS_URL_{0}', matrix.stack)] }}");
        assert.match(fs.readFileSync(path.join(GITHUB, "scripts", "watch.sh"), "utf8"), /bash "\$here\/rollback\.sh"/);
        for (const f of fs.readdirSync(path.join(GITHUB, "scripts"))) execFileSync("bash", ["-n", path.join(GITHUB, "scripts", f)]);
    });

    it("every job of every workflow has a timeout; watch.sh calls an update stuck once it runs longer than deploy's", () => {
        const jobs = fs.readdirSync(path.join(GITHUB, "workflows")).flatMap((f) => Object.entries<any>(workflow(f).jobs).map(([id, job]) => ({ where: `${f} ${id}`, job })));
        assert.ok(jobs.length >= 5, jobs.map((j) => j.where).join(", "));
        const missing = jobs.filter(({ job }) => !(Number.isInteger(job["timeout-minutes"]) && job["timeout-minutes"] > 0)).map((j) => j.where);
        assert.deepStrictEqual(missing, [], "jobs without timeout-minutes");
        const stuck = /STUCK_AFTER_MINUTES:-(\d+)/.exec(fs.readFileSync(path.join(GITHUB, "scripts", "watch.sh"), "utf8"));
        assert.strictEqual(Number(stuck?.[1]), workflow("deploy.yml").jobs.up["timeout-minutes"]);
    });

    it("no workflow or action puts an expression into a `run:` script (values go through env:)", () => {
        const found: string[] = [];
        for (const f of files) {
            const doc = parse(f);
            const all = [...Object.values<any>(doc.jobs ?? {}).flatMap(steps), ...(doc.runs?.steps ?? [])];
            for (const s of all) if (s.run?.includes("${{")) found.push(`${path.relative(ROOT, f)}: ${s.run}`);
        }
        assert.deepStrictEqual(found, []);
    });

    it("a stack name that is shell code reaches deploy's and watch's scripts as one argument and runs nothing", () => {
        const dir = tempDir("stack-name");
        const scripts = path.join(dir, ".github", "scripts");
        fs.mkdirSync(scripts, { recursive: true });
        const hostile = `x$(echo ran >&2)"'\`echo ran >&2\``;
        for (const [file, job, script] of [["deploy.yml", "up", "stage-up.sh"], ["watch.yml", "watch", "watch.sh"]] as const) {
            // The script as a stub that records its argument.
            fs.writeFileSync(path.join(scripts, script), 'printf %s "$1" > "$0.arg"\n');
            const r = runStep(scriptStep(workflow(file).jobs[job], script), { "matrix.stack": hostile }, dir);
            assert.strictEqual(r.status, 0, r.stderr);
            assert.doesNotMatch(r.stderr, /ran/, `${file}: the stack name ran`);
            assert.strictEqual(fs.readFileSync(path.join(scripts, `${script}.arg`), "utf8"), hostile, file);
        }
    });

    it("PR previews run in the `preview` environment with its read-only credentials only, never a deploy credential", () => {
        /** The secrets a document's jobs name: `secrets.X`, and `secrets[format('X{0}', matrix.stack)]` for each stack. */
        const secretsOf = (doc: any): string[] => {
            const text = JSON.stringify(doc.jobs);
            const direct = [...text.matchAll(/secrets\.([A-Za-z0-9_]+)/g)].map((m) => m[1]);
            const perStack = [...text.matchAll(/secrets\[format\('([A-Za-z0-9_]+)\{0\}', matrix\.stack\)\]/g)].flatMap((m) => STACKS.map((s) => `${m[1]}${s}`.toUpperCase()));
            const other = [...text.matchAll(/secrets\[/g)].length - perStack.length / STACKS.length;
            assert.strictEqual(other, 0, "a secret named some other way");
            return [...new Set([...direct, ...perStack])];
        };
        const preview = workflow("preview.yml");
        assert.deepStrictEqual(preview.permissions, {}, "nothing at the workflow level");
        const jobs = Object.values<any>(preview.jobs);
        for (const job of jobs) {
            assert.strictEqual(job.environment, "preview");
            assert.deepStrictEqual(job.permissions, { contents: "read", "pull-requests": "write", "id-token": "write" });
        }
        const previewSecrets = secretsOf(preview);
        const deploySecrets = [...secretsOf(workflow("deploy.yml")), ...secretsOf(workflow("watch.yml"))].filter((n) => n !== "GITHUB_TOKEN");
        assert.deepStrictEqual(previewSecrets.filter((n) => n !== "GITHUB_TOKEN" && !n.startsWith("PREVIEW_")), [], "preview secrets are the preview environment's");
        assert.deepStrictEqual(previewSecrets.filter((n) => deploySecrets.includes(n)), [], "a deploy secret in a preview");
        assert.ok(deploySecrets.includes("KUBECONFIG_PROD") && deploySecrets.includes("PULUMI_ACCESS_TOKEN"), deploySecrets.join(", "));
        assert.ok(previewSecrets.includes("PREVIEW_KUBECONFIG_PROD") && previewSecrets.includes("PREVIEW_PULUMI_ACCESS_TOKEN"), previewSecrets.join(", "));
        // The cloud role is assumed with GitHub's OIDC token: no cloud key at all.
        const aws = jobs.flatMap(steps).filter((s) => s.uses?.startsWith("aws-actions/configure-aws-credentials@"));
        assert.strictEqual(aws.length, 1);
        assert.deepStrictEqual(Object.keys(aws[0].with ?? {}).sort(), ["aws-region", "role-to-assume"]);
        assert.strictEqual(aws[0].with?.["role-to-assume"], "${{ vars.PREVIEW_AWS_ROLE_ARN }}");
        // Only previews use that environment, and they use no other.
        for (const f of ["deploy.yml", "watch.yml", "test.yml"]) {
            for (const job of Object.values<any>(workflow(f).jobs)) assert.notStrictEqual(job.environment, "preview", f);
        }
    });

    it("credentials come from repository secrets, never inline", () => {
        const credential = /TOKEN|SECRET|PASSWORD|PASSPHRASE|ACCESS_KEY|KUBECONFIG|^kubeconfig$|github-token/i;
        // Or the run's own token (`github.token`), which the job's `permissions` scope and which expires with the run.
        const fromSecret = /^\$\{\{ (secrets\.[A-Z_]+|secrets\[format\('[A-Z_]+\{0\}', matrix\.stack\)\]|inputs\.[a-z-]+|github\.token) \}\}$/;
        const checked: string[] = [];
        const visit = (where: string, map: Record<string, unknown> | undefined) => {
            for (const [k, v] of Object.entries(map ?? {})) {
                if (!credential.test(k)) continue;
                checked.push(`${where} ${k}`);
                assert.match(String(v), fromSecret, `${where}: ${k} is not taken from a secret`);
            }
        };
        for (const f of files) {
            const doc = parse(f);
            const jobs = Object.values<any>(doc.jobs ?? {});
            for (const job of jobs) {
                visit(f, job.env);
                for (const s of steps(job)) (visit(f, s.env), visit(f, s.with));
            }
            for (const s of doc.runs?.steps ?? []) visit(f, s.env);
        }
        assert.ok(checked.length >= 8, checked.join("\n"));
        // And no literal that looks like an AWS key or a Pulumi token anywhere.
        for (const f of files) assert.doesNotMatch(fs.readFileSync(f, "utf8"), /AKIA[0-9A-Z]{16}|pul-[0-9a-f]{40}/, f);
    });
});

describe("changed-stacks.sh: which stacks a push to main updates", () => {
    const script = path.join(GITHUB, "scripts", "changed-stacks.sh");
    const changed = (paths: string[]) => JSON.parse(execFileSync("bash", [script], { input: paths.join("\n") + "\n", encoding: "utf8" }));

    const cases: [string[], string[]][] = [
        [["Pulumi.prod.yaml"], ["prod"]],
        [["Pulumi.dev.yaml", "README.md"], ["dev"]],
        [["Pulumi.prod.yaml", "Pulumi.dev.yaml"], ["dev", "prod"]],
        [["components/routing/albRouting.ts"], ["dev", "prod"]],
        [["package-lock.json"], ["dev", "prod"]],
        [["policy/policies.ts"], ["dev", "prod"]],
        // The judge's statistics: the judge the cluster runs is bundled from them at every `pulumi up`.
        [["domain/stats.ts"], ["dev", "prod"]],
        [["Pulumi.yaml"], ["dev", "prod"]],
        [["README.md", "docs/runbooks/Watchdog.md", "test/program.test.ts", "app/server.ts", ".github/workflows/deploy.yml"], []],
        [["Pulumi.staging.yaml"], []],
    ];
    for (const [paths, stacks] of cases) {
        it(`${paths.join(", ")} → ${JSON.stringify(stacks)}`, () => assert.deepStrictEqual(changed(paths), stacks));
    }

    it("every project file the program, its policy pack and the bundles it deploys import updates every stack", () => {
        // What each entry point runs, as esbuild resolves it (type-only imports are dropped); packages are the lockfile's.
        const entries = ["index.ts", "policy/index.ts", JUDGE_ENTRY, LOAD_ENTRY];
        const build = (entry: string) => esbuild.buildSync({ absWorkingDir: ROOT, entryPoints: [entry], bundle: true, platform: "node", packages: "external", write: false, metafile: true, logLevel: "silent" });
        const files = [...new Set(entries.flatMap((entry) => Object.keys(build(entry).metafile.inputs)))];
        assert.ok(files.includes("domain/stats.ts") && files.some((f) => f.startsWith("lib/")), files.join(", "));
        assert.deepStrictEqual(files.filter((f) => JSON.stringify(changed([f])) !== JSON.stringify(["dev", "prod"])), []);
    });

    it("a wave's stacks in wave order, each after the stack its canary:promotion.stack names (block or flow mapping, default dev), not by name; a cycle by name", () => {
        const dir = tempDir("changed-stacks");
        fs.mkdirSync(path.join(dir, ".github", "scripts"), { recursive: true });
        fs.copyFileSync(script, path.join(dir, ".github", "scripts", "changed-stacks.sh"));
        const stackFile = (name: string, config: string) => fs.writeFileSync(path.join(dir, `Pulumi.${name}.yaml`), `config:\n  canary:environment: prod\n${config}`);
        stackFile("dev", "  canary:environment: dev\n");
        stackFile("prod_us", "  canary:promotion:\n    required: true\n");
        stackFile("prod_eu", '  canary:promotion:\n    required: true\n    stack: "acme/canary/prod_us" # the wave before\n  canary:weight: 0\n');
        stackFile("prod_ap", "  canary:promotion: { required: true, stack: acme/canary/prod_eu }\n");
        stackFile("lab", "  canary:promotion:\n    stack: acme/canary/lab\n");
        const run = (input: string) => JSON.parse(execFileSync("bash", [path.join(dir, ".github", "scripts", "changed-stacks.sh")], { input, encoding: "utf8" }));
        assert.deepStrictEqual(run("Pulumi.yaml\n"), ["dev", "lab", "prod_us", "prod_eu", "prod_ap"]);
        assert.deepStrictEqual(run("Pulumi.prod_ap.yaml\nPulumi.prod_us.yaml\n"), ["prod_us", "prod_ap"]);
        // A cycle (the program refuses it; the order must still end): the rest by name.
        stackFile("prod_us", "  canary:promotion:\n    stack: acme/canary/prod_ap\n");
        assert.deepStrictEqual(run("Pulumi.yaml\n"), ["dev", "lab", "prod_ap", "prod_eu", "prod_us"]);
    });

    it("a stack file whose name is no stack name (shell code, a quote) is refused, naming the file, and nothing in it runs", () => {
        for (const name of ["Pulumi.x$(echo ran >&2).yaml", 'Pulumi.a"b.yaml']) {
            const dir = tempDir("changed-stacks");
            fs.mkdirSync(path.join(dir, ".github", "scripts"), { recursive: true });
            fs.copyFileSync(script, path.join(dir, ".github", "scripts", "changed-stacks.sh"));
            for (const f of ["Pulumi.dev.yaml", name]) fs.writeFileSync(path.join(dir, f), "config:\n  canary:environment: dev\n");
            const r = spawnSync("bash", [path.join(dir, ".github", "scripts", "changed-stacks.sh")], { input: "Pulumi.yaml\n", encoding: "utf8" });
            assert.strictEqual(r.status, 2, `${name}: ${r.stdout}`);
            assert.strictEqual(r.stdout, "");
            assert.match(r.stderr, /^changed-stacks: Pulumi\..+\.yaml: a stack name may hold only letters, digits, "_", "\." and "-"; rename the file$/m);
            assert.ok(r.stderr.includes(name.replace(/[$()>&"]/g, "\\$&").replace(/ /g, "\\ ")), r.stderr);
            assert.doesNotMatch(r.stderr, /^ran$/m);
        }
    });

    it("an unknown base commit (first push, force push) updates every stack", () => {
        const out = execFileSync("bash", [script, "0000000000000000000000000000000000000000", "HEAD"], { encoding: "utf8" });
        assert.deepStrictEqual(JSON.parse(out), ["dev", "prod"]);
    });
});

/**
 * The automatic rollback path, run for real: the scripts with a fake `pulumi` on PATH (it records its
 * calls and answers as the real program would, with `runVerdict`'s own message), the real `rollout`
 * bin, and a scratch git repository pushing to a bare `origin`.
 */
describe("automatic rollback: stage-up.sh, rollback.sh and watch.sh", function () {
    this.timeout(60_000);
    const SCRIPTS = path.join(GITHUB, "scripts");
    const FAILED = runVerdict("podinfo-5-6.8.0-0", {
        phase: "Failed",
        message: "Metric \"judge\" assessed Failed due to failed (1) > failureLimit (0)",
        metricResults: [{ name: "judge", phase: "Failed", count: 3, failed: 1, inconclusive: 2 }],
    }) as string;
    const INCONCLUSIVE = runVerdict("podinfo-5-6.8.0-0", { phase: "Inconclusive", message: "too few requests" }) as string;

    interface Sandbox {
        readonly work: string;
        readonly origin: string;
        readonly env: NodeJS.ProcessEnv;
        /** Each `pulumi` call's arguments, in order. */
        calls(): string[];
        /** What origin's main says: the stack file's weight line and the last commit's message. */
        originMain(): { weight: string; message: string; commits: number };
    }

    /** A repository at `weight` with a fake pulumi whose n-th call prints `answers[n].out` and exits `answers[n].code`. */
    function sandbox(weight: number, answers: { out: string; code: number }[]): Sandbox {
        const dir = tempDir("rollback");
        const [work, origin, bin] = ["work", "origin.git", "bin"].map((d) => path.join(dir, d));
        fs.mkdirSync(bin);
        answers.forEach((a, i) => (fs.writeFileSync(path.join(bin, `out-${i + 1}`), a.out), fs.writeFileSync(path.join(bin, `code-${i + 1}`), String(a.code))));
        fs.writeFileSync(
            path.join(bin, "pulumi"),
            `#!/usr/bin/env bash\nprintf '%s\\n' "$*" >> "${bin}/calls"\nn=$(wc -l < "${bin}/calls")\ncat "${bin}/out-$n" 2>/dev/null\nexit "$(cat "${bin}/code-$n" 2>/dev/null || echo 0)"\n`,
            { mode: 0o755 },
        );
        const git = (cwd: string, ...args: string[]) => execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", ...args], { cwd, encoding: "utf8" });
        git(dir, "init", "--quiet", "--bare", "-b", "main", origin);
        git(dir, "init", "--quiet", "-b", "main", work);
        const stackFile = fs.readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8").replace(/canary:weight: 0/, `canary:weight: ${weight}`);
        fs.writeFileSync(path.join(work, "Pulumi.dev.yaml"), stackFile);
        copyProjectFile(work);
        git(work, "add", ".");
        git(work, "commit", "--quiet", "-m", "dev at weight " + weight);
        git(work, "remote", "add", "origin", origin);
        git(work, "push", "--quiet", "origin", "main");
        return {
            work,
            origin,
            env: {
                ...process.env,
                PATH: `${bin}:${process.env.PATH}`,
                STACK_NAME: "acme/canary/dev",
                MESSAGE: "dev: canary 5%",
                ROLLOUT: `node ${path.join(ROOT, "rollout", "bin.js")}`,
            },
            calls: () => (fs.existsSync(path.join(bin, "calls")) ? fs.readFileSync(path.join(bin, "calls"), "utf8").trim().split("\n") : []),
            originMain: () => ({
                weight: (/canary:weight: .*/.exec(git(origin, "show", "main:Pulumi.dev.yaml")) ?? [""])[0],
                message: git(origin, "log", "-1", "--format=%B", "main").trim(),
                commits: Number(git(origin, "rev-list", "--count", "main").trim()),
            }),
        };
    }

    /** Runs a script without blocking the event loop (watch.sh talks to a Prometheus served by this process). */
    function script(name: string, args: string[], s: Sandbox): Promise<{ code: number; stderr: string }> {
        return new Promise((resolve) => {
            const p = execFile("bash", [path.join(SCRIPTS, name), ...args], { cwd: s.work, env: s.env, encoding: "utf8" }, (error, _stdout, stderr) =>
                resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stderr }),
            );
            p.stdin?.end();
        });
    }

    /** `pulumi stack history --json --page-size 1` of a stack whose last update finished. */
    const IDLE = { out: '[{"kind":"update","result":"succeeded","startTime":"2026-01-01T10:00:00.000Z"}]\n', code: 0 };

    const programError = (verdict: string) => `Updating (acme/canary/dev)\nerror: Running program '/repo' failed with an unhandled exception:\nError: ${verdict}\n`;

    it("a stage whose analysis failed: back to weight 0 (a second up), committed to main with the judge's reasons", async () => {
        const s = sandbox(5, [
            { out: programError(FAILED), code: 255 },
            { out: "Update succeeded\n", code: 0 },
        ]);
        const r = await script("stage-up.sh", ["dev"], s);
        assert.strictEqual(r.code, 1, "the failed stage stays red");
        const calls = s.calls();
        assert.strictEqual(calls.length, 2, calls.join("\n"));
        assert.match(calls[0], /^up --yes --stack acme\/canary\/dev --policy-pack policy\/analyzer --diff --message dev: canary 5%$/);
        assert.match(calls[1], /^up --yes --stack acme\/canary\/dev --policy-pack policy\/analyzer --message automatic rollback of dev: the stage's analysis podinfo-5-6\.8\.0-0 ended Failed/);
        const main = s.originMain();
        assert.strictEqual(main.weight, "canary:weight: 0");
        assert.strictEqual(main.commits, 2);
        assert.match(main.message, /^dev: automatic rollback to weight 0\n\nthe stage's analysis podinfo-5-6\.8\.0-0 ended Failed: Metric "judge" assessed Failed due to failed \(1\) > failureLimit \(0\); judge Failed: 1 failed, 2 inconclusive, 0 errors of 3 measurements\.$/);
    });

    for (const [what, out] of [
        ["an Inconclusive analysis (HOLD)", programError(INCONCLUSIVE)],
        ["a failure that is not the analysis", "error: failed to connect to the cluster\n"],
    ] as const) {
        it(`${what}: nothing rolled back, nothing committed`, async () => {
            const s = sandbox(5, [{ out, code: 255 }]);
            const r = await script("stage-up.sh", ["dev"], s);
            assert.strictEqual(r.code, 1);
            assert.strictEqual(s.calls().length, 1);
            assert.match(r.stderr, /nothing rolled back/);
            assert.deepStrictEqual(s.originMain(), { weight: "canary:weight: 5", message: "dev at weight 5", commits: 1 });
        });
    }

    it("a successful update: exit 0, one up, no commit; a rollback whose own up fails commits nothing", async () => {
        const ok = sandbox(5, [{ out: "Update succeeded\n", code: 0 }]);
        assert.strictEqual((await script("stage-up.sh", ["dev"], ok)).code, 0);
        assert.strictEqual(ok.calls().length, 1);
        assert.strictEqual(ok.originMain().commits, 1);
        const stuck = sandbox(5, [
            { out: programError(FAILED), code: 255 },
            { out: "error: the cluster is unreachable\n", code: 255 },
        ]);
        const r = await script("stage-up.sh", ["dev"], stuck);
        assert.strictEqual(r.code, 1);
        assert.match(r.stderr, /the rollback update of dev failed.*a person must look/);
        assert.strictEqual(stuck.originMain().commits, 1);
    });

    /** A clone of the sandbox's origin where `edit` of its stack file is committed, pushed the first time `work` pushes (a pre-push hook): a commit landing between the rollback's fetch and its push. */
    function landsBeforeTheFirstPush(s: Sandbox, edit: (file: string) => string, message: string): void {
        const other = path.join(path.dirname(s.work), "other");
        const git = (...args: string[]) => execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", ...args], { cwd: other, encoding: "utf8" });
        execFileSync("git", ["clone", "--quiet", s.origin, other]);
        const file = path.join(other, "Pulumi.dev.yaml");
        fs.writeFileSync(file, edit(fs.readFileSync(file, "utf8")));
        git("commit", "--quiet", "-am", message);
        const hook = path.join(s.work, ".git", "hooks", "pre-push");
        fs.writeFileSync(hook, `#!/usr/bin/env bash\n[ -e "$0.done" ] && exit 0\ntouch "$0.done"\nenv -u GIT_DIR -u GIT_WORK_TREE -u GIT_INDEX_FILE git -C "${other}" push --quiet origin main\n`, { mode: 0o755 });
    }

    it("rollback.sh: a stage PR merged meanwhile (a conflicting edit of the stack file) is kept, and the rollback re-applied on top of it", async () => {
        const s = sandbox(5, [{ out: "Update succeeded\n", code: 0 }]);
        landsBeforeTheFirstPush(s, (f) => f.replace("canary:weight: 5", "canary:weight: 25"), "dev: canary 25%");
        const r = await script("rollback.sh", ["dev", "the judge answered ROLLBACK"], s);
        assert.strictEqual(r.code, 0, r.stderr);
        assert.match(r.stderr, /rollback: dev is at weight 0, committed to main/);
        const main = s.originMain();
        assert.deepStrictEqual([main.weight, main.commits], ["canary:weight: 0", 3]);
        assert.strictEqual(main.message, "dev: automatic rollback to weight 0\n\nthe judge answered ROLLBACK");
        assert.strictEqual(execFileSync("git", ["log", "--format=%s", "-2", "main"], { cwd: s.origin, encoding: "utf8" }), "dev: automatic rollback to weight 0\ndev: canary 25%\n");
        assert.strictEqual(s.calls().length, 1, "one update: the rollback is applied once");
    });

    it("rollback.sh: a branch that meanwhile says weight 0 already needs no commit", async () => {
        const s = sandbox(5, [{ out: "Update succeeded\n", code: 0 }]);
        landsBeforeTheFirstPush(s, (f) => f.replace("canary:weight: 5", "canary:weight: 0"), "dev: back to 0 by hand");
        const r = await script("rollback.sh", ["dev", "the judge answered ROLLBACK"], s);
        assert.strictEqual(r.code, 0, r.stderr);
        assert.match(r.stderr, /rollback: dev is at weight 0, and main already says so/);
        assert.deepStrictEqual([s.originMain().commits, s.originMain().message], [2, "dev: back to 0 by hand"]);
    });

    /** A Prometheus on 127.0.0.1 answering every query with the canary's 20% errors against stable's 0.5%, whatever the instant. */
    async function faultyPrometheus(): Promise<http.Server> {
        const counts = { canary: { requests: 400, errors: 80 }, stable: { requests: 20_000, errors: 100 } };
        const prometheus = http.createServer((req, res) => {
            const q = new URL(req.url ?? "/", "http://p").searchParams.get("query") ?? "";
            const vector = (value: (t: "canary" | "stable") => number, labels: Record<string, string> = {}) =>
                (["canary", "stable"] as const).map((t) => ({ metric: { track: t, ...labels }, value: [0, String(value(t))] }));
            const result = q.includes("_bucket")
                ? [...vector((t) => counts[t].requests, { le: "0.25" }), ...vector((t) => counts[t].requests, { le: "+Inf" })]
                : q.includes("resets(")
                  ? vector(() => 0)
                  : vector((t) => (q.includes('status=~"5.."') ? counts[t].errors : counts[t].requests));
            res.writeHead(200, { "content-type": "application/json" });
            res.end(JSON.stringify({ status: "success", data: { resultType: "vector", result } }));
        });
        await new Promise<void>((r) => prometheus.listen(0, "127.0.0.1", r));
        return prometheus;
    }

    /**
     * A fake kubectl in the sandbox's bin that records its arguments and prints the run's arguments as
     * stage-chart.sh's jsonpath asks them (`name=value` lines) until the sandbox's `goneAt`-th pulumi
     * call (a rollback's up, which deletes the run); then nothing, as for a run that is gone.
     */
    function fakeKubectl(s: Sandbox, args: Record<string, string>, goneAt = Infinity): () => string[] {
        const bin = path.join(path.dirname(s.work), "bin");
        const lines = Object.entries(args).map(([k, v]) => `${k}=${v}`).join("\n");
        const gone = Number.isFinite(goneAt) ? `[ "$(wc -l < "${bin}/calls")" -ge ${goneAt} ] && exit 0\n` : "";
        fs.writeFileSync(path.join(bin, "kubectl"), `#!/usr/bin/env bash\nprintf '%s\\n' "$*" >> "${bin}/kubectl-calls"\n${gone}printf '%s\\n' '${lines}'\n`, { mode: 0o755 });
        return () => fs.readFileSync(path.join(bin, "kubectl-calls"), "utf8").trim().split("\n");
    }

    it("stage-chart.sh (CHART_DIR): a failed stage's chart is replayed from its run before the rollback deletes the run, a passed stage's from its stageRun; the real rollout parses and replays", async () => {
        const prometheus = await faultyPrometheus();
        try {
            const since = new Date(Math.floor(Date.now() / 1000) * 1000 - 150_000).toISOString().replace(".000Z", "Z");
            const chartEnv = (s: Sandbox, dir: string) => ({ ...s.env, CHART_DIR: path.join(dir, "chart"), GITHUB_STEP_SUMMARY: path.join(dir, "summary.md"), PROMETHEUS_URL: `http://127.0.0.1:${(prometheus.address() as AddressInfo).port}` });

            const failed = sandbox(5, [
                { out: programError(FAILED), code: 255 },
                { out: "Update succeeded\n", code: 0 },
            ]);
            const kubectl = fakeKubectl(failed, { run: "podinfo-5-6.8.0-0", weight: "5", carry: "", since, token: "" }, 2);
            const dir = path.dirname(failed.work);
            const r = await script("stage-up.sh", ["dev"], { ...failed, env: chartEnv(failed, dir) });
            assert.strictEqual(r.code, 1, r.stderr);
            assert.deepStrictEqual(kubectl(), [`get analysisruns.argoproj.io --all-namespaces --field-selector metadata.name=podinfo-5-6.8.0-0 -o jsonpath={range .items[0].spec.args[*]}{.name}={.value}{"\\n"}{end}`]);
            assert.match(r.stderr, /stage-chart: dev at weight 5, run podinfo-5-6\.8\.0-0: ROLLBACK at look \d+/, "the chart before the rollback, which deletes the run");
            assert.match(r.stderr, /rollback: dev is at weight 0, committed to main/);
            const svg = fs.readFileSync(path.join(dir, "chart", "dev-w5.svg"), "utf8");
            assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
            assert.match(svg, /podinfo\/podinfo at weight 5, from /);
            const recording = JSON.parse(fs.readFileSync(path.join(dir, "chart", "dev-w5.json"), "utf8"));
            assert.strictEqual(recording.from, new Date(since).toISOString());
            assert.match(fs.readFileSync(path.join(dir, "summary.md"), "utf8"), /^### dev at weight 5: run podinfo-5-6\.8\.0-0, replayed\n\nROLLBACK at look \d+ .*a regression in errors/);

            // A stage that passed: its run is the stageRun output; the evidence it carried in goes to the replay.
            const passed = sandbox(25, [
                { out: "Update succeeded\n", code: 0 },
                { out: '{\n  "name": "podinfo-6-8-0-w25-e1-0a1b2c",\n  "since": "x"\n}\n', code: 0 },
            ]);
            fakeKubectl(passed, { run: "podinfo-6-8-0-w25-e1-0a1b2c", weight: "25", carry: "errors:-2.5000,errors~1.5:-1.1000,latency:-3.0000", since, token: "" });
            const pdir = path.dirname(passed.work);
            const p = await script("stage-up.sh", ["dev"], { ...passed, env: chartEnv(passed, pdir) });
            assert.strictEqual(p.code, 0, p.stderr);
            assert.match(p.stderr, /stage-chart: dev at weight 25/, p.stderr);
            assert.deepStrictEqual(passed.calls().slice(1), ["stack output stageRun --json --stack acme/canary/dev"]);
            assert.match(fs.readFileSync(path.join(pdir, "chart", "dev-w25.txt"), "utf8"), /^replay of podinfo\/podinfo at weight 25/);
            assert.ok(fs.existsSync(path.join(pdir, "chart", "dev-w25.svg")));

            // A chart that cannot be made (no Prometheus) is a warning; the stage's result is the update's.
            const unreachable = sandbox(25, [
                { out: "Update succeeded\n", code: 0 },
                { out: '{"name": "podinfo-6-8-0-w25-e1-0a1b2c"}\n', code: 0 },
            ]);
            fakeKubectl(unreachable, { weight: "25", since });
            const u = await script("stage-up.sh", ["dev"], { ...unreachable, env: { ...chartEnv(unreachable, path.dirname(unreachable.work)), PROMETHEUS_URL: "http://127.0.0.1:9" } });
            assert.strictEqual(u.code, 0, u.stderr);
            assert.match(u.stderr, /stage-chart: rollout replay failed \(exit 2\): [^]*Prometheus could not answer/);
            assert.match(u.stderr, /::warning::stage-up: no chart of dev's stage \(run podinfo-6-8-0-w25-e1-0a1b2c\)/);
        } finally {
            prometheus.close();
        }
    });

    it("watch.sh: ROLLBACK from the judge rolls back and commits; HOLD and weight 0 change nothing", async () => {
        const prometheus = await faultyPrometheus();
        try {
            const s = sandbox(5, [IDLE, { out: "Update succeeded\n", code: 0 }]);
            const env = { ...s.env, PROMETHEUS_URL: `http://127.0.0.1:${(prometheus.address() as AddressInfo).port}` };
            const r = await script("watch.sh", ["dev"], { ...s, env });
            assert.strictEqual(r.code, 0, r.stderr);
            assert.deepStrictEqual(s.calls(), ["stack history --stack acme/canary/dev --json --page-size 1 --page 1", s.calls()[1]]);
            assert.match(s.calls()[1], /^up --yes --stack acme\/canary\/dev /);
            const main = s.originMain();
            assert.strictEqual(main.weight, "canary:weight: 0");
            assert.match(main.message, /^dev: automatic rollback to weight 0\n\nthe judge answered ROLLBACK at weight 5: errors: canary 80\/400 5xx \(20\.00%/);

            const hold = sandbox(5, [IDLE]);
            const held = await script("watch.sh", ["dev"], { ...hold, env: { ...hold.env, PROMETHEUS_URL: "http://127.0.0.1:9" } });
            assert.strictEqual(held.code, 0, held.stderr);
            assert.match(held.stderr, /at weight 5: HOLD: nothing to do/);
            assert.deepStrictEqual([hold.calls().length, hold.originMain().commits], [1, 1]);

            // An update of the stack is running (a person's: no CI update runs in the watch's group): judged later.
            const history = (minutesAgo: number) => ({ out: JSON.stringify([{ kind: "update", result: "in-progress", startTime: new Date(Date.now() - minutesAgo * 60_000).toISOString() }]) + "\n", code: 0 });
            const busy = sandbox(5, [history(20)]);
            const skipped = await script("watch.sh", ["dev"], { ...busy, env: { ...busy.env, PROMETHEUS_URL: env.PROMETHEUS_URL } });
            assert.strictEqual(skipped.code, 0, skipped.stderr);
            assert.match(skipped.stderr, /watch: an update of acme\/canary\/dev is in progress \(since \S+\): not judged now/);
            assert.deepStrictEqual([busy.calls().length, busy.originMain()], [1, { weight: "canary:weight: 5", message: "dev at weight 5", commits: 1 }]);

            // One in progress for longer than deploy's timeout: its CLI died and left the stack locked. Loud, not exit 0.
            const stuck = sandbox(5, [history(151)]);
            const failed = await script("watch.sh", ["dev"], { ...stuck, env: { ...stuck.env, PROMETHEUS_URL: env.PROMETHEUS_URL } });
            assert.strictEqual(failed.code, 1, failed.stderr);
            assert.match(failed.stderr, /^watch: dev is stuck: an update of acme\/canary\/dev has been in progress since \S+ \(151 minutes, the bound is 150\): not judged, and no rollback can run; check its update log, then `pulumi cancel --stack acme\/canary\/dev`$/m);
            assert.deepStrictEqual([stuck.calls().length, stuck.originMain().commits], [1, 1]);
            const notANumber = await script("watch.sh", ["dev"], { ...stuck, env: { ...stuck.env, PROMETHEUS_URL: env.PROMETHEUS_URL, STUCK_AFTER_MINUTES: "2h" } });
            assert.strictEqual(notANumber.code, 2);
            assert.match(notANumber.stderr, /STUCK_AFTER_MINUTES must be a whole number of minutes, not '2h'/);

            const idle = sandbox(0, [IDLE]);
            const none = await script("watch.sh", ["dev"], { ...idle, env: { ...idle.env, PROMETHEUS_URL: "http://127.0.0.1:9" } });
            assert.strictEqual(none.code, 0);
            assert.match(none.stderr, /at weight 0: nothing to judge/);
        } finally {
            prometheus.close();
        }
    });
});

/**
 * Which stacks a deploy updates when pushes come faster than deploys: deploy.yml's own `changes`
 * step and stage-up.sh, run for real in a repository with dev and prod pushing to a bare origin,
 * with a fake `pulumi`.
 */
describe("deploy: the stacks that differ from what was last deployed to them", function () {
    this.timeout(60_000);

    it("three quick pushes, the second one's deploy cancelled: the third deploys the second's stack too; a failed up leaves its stack for the next", () => {
        const dir = tempDir("deployed");
        const [work, origin, bin] = ["work", "origin.git", "bin"].map((d) => path.join(dir, d));
        fs.mkdirSync(bin);
        // The fake pulumi exits with the code in bin/code (0 unless a test says otherwise).
        fs.writeFileSync(path.join(bin, "pulumi"), `#!/usr/bin/env bash\nexit "$(cat "${bin}/code" 2>/dev/null || echo 0)"\n`, { mode: 0o755 });
        const git = (...args: string[]) => execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", ...args], { cwd: work, encoding: "utf8" }).trim();
        execFileSync("git", ["init", "--quiet", "--bare", "-b", "main", origin]);
        execFileSync("git", ["init", "--quiet", "-b", "main", work]);
        git("remote", "add", "origin", origin);
        fs.cpSync(path.join(GITHUB, "scripts"), path.join(work, ".github", "scripts"), { recursive: true });
        const stackFile = (stack: string, weight: number) => fs.writeFileSync(path.join(work, `Pulumi.${stack}.yaml`), `config:\n  canary:environment: ${stack}\n  canary:weight: ${weight}\n`);
        const push = (edit: () => void, message: string) => {
            edit();
            git("add", ".");
            git("commit", "--quiet", "-m", message);
            git("push", "--quiet", "origin", "main");
            return git("rev-parse", "HEAD");
        };
        const env = { ...process.env, PATH: `${bin}:${process.env.PATH}` };
        /** deploy.yml's `changes` step for the push `before` → `sha`: the stacks its `up` jobs update. */
        const changes = (before: string, sha: string): string[] => {
            // What actions/checkout fetches with fetch-depth 0: every branch and tag, tags forced.
            git("fetch", "--quiet", "origin", "+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*");
            const out = path.join(dir, "output");
            fs.writeFileSync(out, "");
            const step = workflow("deploy.yml").jobs.changes.steps.find((s: { id?: string }) => s.id === "changed");
            const r = runStep(step, { "github.event.before": before }, work, { ...env, GITHUB_SHA: sha, GITHUB_OUTPUT: out });
            assert.strictEqual(r.status, 0, r.stderr);
            return JSON.parse(/^stacks=(.*)$/m.exec(fs.readFileSync(out, "utf8"))![1]);
        };
        /** deploy.yml's `up` job for `stack` at the checked-out commit. */
        const up = (stack: string, code = 0) => {
            fs.writeFileSync(path.join(bin, "code"), String(code));
            const step = workflow("deploy.yml").jobs.up.steps.find((s: Step) => s.run?.includes("stage-up.sh"));
            return runStep(step, { "matrix.stack": stack }, work, env);
        };
        const deployed = (stack: string) => execFileSync("git", ["rev-parse", "--verify", "--quiet", `refs/tags/deployed/${stack}`], { cwd: origin, encoding: "utf8" }).trim();

        const c0 = push(() => (stackFile("dev", 0), stackFile("prod", 0)), "both stacks");
        assert.deepStrictEqual(changes("0".repeat(40), c0), ["dev", "prod"], "never deployed: every stack");
        for (const stack of ["dev", "prod"]) assert.strictEqual(up(stack).status, 0);
        assert.deepStrictEqual([deployed("dev"), deployed("prod")], [c0, c0], "a successful up moves deployed/<stack>");

        const c1 = push(() => stackFile("dev", 5), "dev: canary 5%");
        assert.deepStrictEqual(changes(c0, c1), ["dev"]);
        assert.strictEqual(up("dev").status, 0);
        // The second push's deploy is cancelled before its up: nothing runs for it.
        const c2 = push(() => stackFile("prod", 5), "prod: canary 5%");
        const c3 = push(() => stackFile("dev", 25), "dev: canary 25%");
        assert.deepStrictEqual(changes(c2, c3), ["dev", "prod"], "the second push's prod is deployed by the third");
        // dev's up fails: its tag stays, so the next push deploys dev again, even if it changes only docs.
        assert.strictEqual(up("dev", 255).status, 1);
        assert.strictEqual(up("prod").status, 0);
        assert.deepStrictEqual([deployed("dev"), deployed("prod")], [c1, c3]);
        const c4 = push(() => fs.writeFileSync(path.join(work, "README.md"), "docs\n"), "docs");
        assert.deepStrictEqual(changes(c3, c4), ["dev"]);
    });
});
