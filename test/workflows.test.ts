/**
 * The GitHub Actions workflows: they parse, call pulumi/actions only with inputs it documents,
 * preview (and comment) on pull requests, `up` only on main, and take credentials from secrets.
 */
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { ROOT, STACKS } from "./harness";

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
                    assert.ok(s.with?.command && s.with?.["stack-name"], `${f}: command and stack-name`);
                }
            }
        }
        assert.strictEqual(calls, 2);
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
        assert.strictEqual(wf.permissions["pull-requests"], "write");
        const job = wf.jobs.preview;
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
        assert.deepStrictEqual(job.concurrency, { group: "pulumi-up-${{ matrix.stack }}", "cancel-in-progress": false });
        const w = pulumiStep(job).with!;
        assert.strictEqual(w.command, "up");
        assert.strictEqual(w.policyPacks, "policy");
        assert.ok(fs.existsSync(path.join(ROOT, w.policyPacks as string, "PulumiPolicy.yaml")));
        assert.ok(steps(wf.jobs.changes).some((s) => s.run?.includes(".github/scripts/changed-stacks.sh")));
        // Nothing else in the repository runs `pulumi up`.
        for (const f of files.filter((f) => !f.endsWith("deploy.yml"))) {
            for (const job of Object.values<any>(parse(f).jobs ?? {})) assert.ok(steps(job).every((s) => s.with?.command !== "up"), f);
        }
    });

    it("credentials come from repository secrets, never inline", () => {
        const credential = /TOKEN|SECRET|PASSWORD|PASSPHRASE|ACCESS_KEY|KUBECONFIG|^kubeconfig$|github-token/i;
        const fromSecret = /^\$\{\{ (secrets\.[A-Z_]+|secrets\[format\('[A-Z_]+\{0\}', matrix\.stack\)\]|inputs\.[a-z-]+) \}\}$/;
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
        [["components/albRouting.ts"], ["dev", "prod"]],
        [["package-lock.json"], ["dev", "prod"]],
        [["policy/policies.ts"], ["dev", "prod"]],
        [["Pulumi.yaml"], ["dev", "prod"]],
        [["README.md", "docs/runbooks/Watchdog.md", "test/program.test.ts", "app/server.ts", ".github/workflows/deploy.yml"], []],
        [["Pulumi.staging.yaml"], []],
    ];
    for (const [paths, stacks] of cases) {
        it(`${paths.join(", ")} → ${JSON.stringify(stacks)}`, () => assert.deepStrictEqual(changed(paths), stacks));
    }

    it("an unknown base commit (first push, force push) updates every stack", () => {
        const out = execFileSync("bash", [script, "0000000000000000000000000000000000000000", "HEAD"], { encoding: "utf8" });
        assert.deepStrictEqual(JSON.parse(out), ["dev", "prod"]);
    });
});
