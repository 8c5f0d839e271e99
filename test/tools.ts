/**
 * What the suites share besides the host's tools (demo/host.ts): the numeric assertion, a Prometheus
 * that answers fixed counts, and the `pulumi.com/waitFor` JSONPath evaluated by the library the
 * Kubernetes provider uses.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as path from "path";
import { runTool, tempDir } from "../demo/host";
import type { TrackCounts } from "../domain/decide";
import type { PrometheusClient, Sample } from "../rollout/prometheus";

/** Asserts that `actual` is within `tolerance` of `expected`. */
export const close = (actual: number, expected: number, tolerance: number, what = "") => assert.ok(Math.abs(actual - expected) <= tolerance, `${what} ${actual} is not within ${tolerance} of ${expected}`);

/** A latency histogram of `n` requests, `slow` of them above 0.25 s. */
export const histogram = (n: number, slow: number) => [
    { le: 0.1, count: n - slow },
    { le: 0.25, count: n - slow },
    { le: 0.5, count: n },
    { le: Infinity, count: n },
];
/** One track's counts: `slow` defaults to 0.5% of the requests. */
export const track = (requests: number, errors: number, slow = Math.round(requests * 0.005), resets = 0): TrackCounts => ({ requests, errors, buckets: histogram(requests, slow), resets });

/** A Prometheus whose every evidence query answers these counts, whatever the window. */
export function fixedPrometheus(canary: TrackCounts, stable: TrackCounts): PrometheusClient {
    const series = (pick: (t: TrackCounts) => number): Sample[] => [
        { labels: { track: "canary" }, value: pick(canary) },
        { labels: { track: "stable" }, value: pick(stable) },
    ];
    return {
        async query(q) {
            if (q.includes("_bucket")) {
                return (["canary", "stable"] as const).flatMap((t) => (t === "canary" ? canary : stable).buckets.map((b) => ({ labels: { track: t, le: b.le === Infinity ? "+Inf" : String(b.le) }, value: b.count })));
            }
            if (q.includes("resets(")) return series((t) => t.resets);
            return q.includes('status=~"5.."') ? series((t) => t.errors) : series((t) => t.requests);
        },
    };
}

let waitForBinary: string | undefined;

/**
 * Evaluates a `pulumi.com/waitFor` JSONPath against objects with tools/waitfor: theory/jsonpath, the
 * library pulumi-kubernetes uses, built once per run from the module pinned in tools/waitfor/go.mod.
 */
export function waitForMatches(annotation: string, objects: readonly unknown[]): boolean[] {
    if (!waitForBinary) {
        const out = path.join(tempDir("waitfor"), "waitfor");
        const built = runTool("go", ["build", "-o", out, "."], path.join(__dirname, "..", "tools", "waitfor"));
        if (built.status !== 0) throw new Error(`go build tools/waitfor failed: ${built.output}`);
        waitForBinary = out;
    }
    const r = spawnSync(waitForBinary, [annotation], { input: objects.map((o) => JSON.stringify(o)).join("\n") + "\n", encoding: "utf8" });
    if (r.status !== 0) throw new Error(`waitfor ${annotation}: ${r.stderr}`);
    return r.stdout.trim().split("\n").map((l) => l === "true");
}

/** The CanaryHighErrorRate alert promtool must see at 10m for podinfo's canary failing `percent`% of its requests (threshold 5%). */
export function highErrorRateAlert(percent: number, runbooks: string) {
    return {
        eval_time: "10m",
        alertname: "CanaryHighErrorRate",
        exp_alerts: [
            {
                exp_labels: { severity: "critical", namespace: "podinfo", app: "podinfo", track: "canary" },
                exp_annotations: {
                    summary: "Canary error ratio is high",
                    description: `The canary of podinfo in podinfo fails ${percent}% of requests (threshold 5%).`,
                    runbook_url: `${runbooks}/CanaryHighErrorRate.md`,
                },
            },
        ],
    };
}
