/**
 * The rule groups the program registers, checked by the real promtool: `check rules` on the rule
 * file, and `test rules` on the unit tests in test/promtool/ (every alert fires in one case and stays
 * quiet in another; recording rules are checked with promql_expr_test).
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { ALERT_NAMES, isAlert, RuleGroup } from "../components/observability/rules";
import { byName, ROOT, runProgram } from "./harness";
import { runTool, tempDir } from "../demo/host";

const SUITES = path.join(ROOT, "test", "promtool");

async function registeredGroups(weight: number): Promise<{ app: RuleGroup[]; stage: RuleGroup[] }> {
    const { error, resources } = await runProgram({ stack: "dev", config: { weight } });
    assert.ifError(error);
    return { app: byName(resources, "alerts-rules").inputs.spec.groups, stage: byName(resources, "alerts-stage").inputs.spec.groups };
}

describe("promtool: the registered rules", function () {
    this.timeout(120_000);
    let dir: string;

    before(async () => {
        dir = tempDir("promtool");
        const at25 = await registeredGroups(25);
        const at0 = await registeredGroups(0);
        fs.writeFileSync(path.join(dir, "rules.yaml"), YAML.stringify({ groups: at25.app }));
        fs.writeFileSync(path.join(dir, "stage-25.yaml"), YAML.stringify({ groups: at25.stage }));
        fs.writeFileSync(path.join(dir, "stage-0.yaml"), YAML.stringify({ groups: at0.stage }));
        assert.deepStrictEqual(at0.app, at25.app, "only the stage rule depends on the weight");
        for (const f of fs.readdirSync(SUITES)) fs.copyFileSync(path.join(SUITES, f), path.join(dir, f));
    });

    it("pass `promtool check rules`", () => {
        const r = runTool("promtool", ["check", "rules", "rules.yaml", "stage-25.yaml", "stage-0.yaml"], dir);
        assert.strictEqual(r.status, 0, r.output);
        assert.match(r.output, /SUCCESS: \d+ rules found/);
    });

    it("pass `promtool test rules`: every alert fires when it should and stays quiet when it should", () => {
        const suites = fs.readdirSync(SUITES).filter((f) => f.endsWith(".test.yaml"));
        const r = runTool("promtool", ["test", "rules", ...suites], dir);
        assert.strictEqual(r.status, 0, r.output);
        assert.doesNotMatch(r.output, /FAILED/);
    });

    it("the unit tests cover every alert both ways", () => {
        const fired = new Set<string>();
        const quiet = new Set<string>();
        for (const f of fs.readdirSync(SUITES).filter((x) => x.endsWith(".test.yaml"))) {
            const doc = YAML.parse(fs.readFileSync(path.join(SUITES, f), "utf8"));
            for (const t of doc.tests) {
                for (const a of t.alert_rule_test ?? []) (a.exp_alerts.length > 0 ? fired : quiet).add(a.alertname);
            }
        }
        // The Watchdog always fires: it has no quiet case by design.
        for (const name of ALERT_NAMES) {
            assert.ok(fired.has(name), `${name} has no firing case`);
            if (name !== "Watchdog") assert.ok(quiet.has(name), `${name} has no quiet case`);
        }
    });

    it("every alert the program defines is a row of docs/observability.md's alert table, with its severity and runbook_url", async () => {
        const { app } = await registeredGroups(25);
        const alerts = app.flatMap((g) => g.rules).filter(isAlert);
        assert.deepStrictEqual([...new Set(alerts.map((a) => a.alert))].sort(), [...ALERT_NAMES].sort());
        // The page's table, below its header `| alert | severity | fires when | runbook |`; two severities as `critical / warning`.
        const rows = [...fs.readFileSync(path.join(ROOT, "docs", "observability.md"), "utf8").matchAll(/^\| ([A-Z]\w+) \| ([a-z /]+) \|/gm)];
        const documented = new Map(rows.map(([, alert, severity]) => [alert, severity.split(" / ")]));
        assert.deepStrictEqual([...documented.keys()].sort(), [...ALERT_NAMES].sort(), "docs/observability.md's alerts");
        for (const a of alerts) {
            assert.ok(["critical", "warning", "info"].includes(a.labels.severity), `${a.alert} severity`);
            assert.ok(documented.get(a.alert)?.includes(a.labels.severity), `${a.alert}: severity ${a.labels.severity}, docs/observability.md says ${documented.get(a.alert)?.join(" / ")}`);
            assert.strictEqual(a.annotations.runbook_url, `https://github.com/example/canary/blob/main/docs/runbooks/${a.alert}.md`);
            assert.ok(fs.existsSync(path.join(ROOT, "docs", "runbooks", `${a.alert}.md`)), `docs/runbooks/${a.alert}.md is missing`);
        }
    });
});
