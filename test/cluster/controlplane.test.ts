/**
 * The local control plane itself (test/cluster/controlplane.ts): Pod Security admission, Deployments
 * and Jobs carried by the real controller-manager and scheduler onto the kwok node, and the real Argo
 * Rollouts controller running an AnalysisRun whose `web` metric asks a judge on 127.0.0.1.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as http from "http";
import * as net from "net";
import * as path from "path";
import { ControlPlane, NODE_NAME, startControlPlane } from "../../demo/controlplane";
import { eventually } from "../../demo/host";


/** A judge on 127.0.0.1 answering every request with `answer`, counting the requests. */
async function judge(answer: unknown): Promise<{ url: string; requests: () => number; close: () => Promise<void> }> {
    let requests = 0;
    const server = http.createServer((_req, res) => {
        requests++;
        res.writeHead(200, { "Content-Type": "application/json" });
        res.end(JSON.stringify(answer));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const { port } = server.address() as net.AddressInfo;
    return {
        url: `http://127.0.0.1:${port}/decision`,
        requests: () => requests,
        close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
    };
}

describe("the local control plane: etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok", function () {
    let cp: ControlPlane;
    const t0 = Date.now();

    before(async function () {
        this.timeout(90 * 60_000); // a cold cache builds the control plane first (scripts/controlplane.sh)
        cp = await startControlPlane();
        console.log(`      control plane up in ${Date.now() - t0} ms at ${cp.server} (state ${cp.dir})`);
    });

    after(async function () {
        await cp?.stop();
        await cp?.stop(); // twice is fine
    });

    afterEach(function () {
        if (this.currentTest?.state === "failed" && cp) {
            for (const name of ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "rollouts-controller"]) {
                console.log(`--- ${name}.log (last lines)\n${cp.log(name, 15)}`);
            }
        }
    });

    async function namespace(name: string, labels: Record<string, string> = {}): Promise<void> {
        const r = await cp.request("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name, labels } });
        assert.strictEqual(r.status, 201, r.text);
        // The ServiceAccount admission plugin refuses pods until the controller-manager made `default`.
        await eventually(`ServiceAccount ${name}/default`, async () =>
            (await cp.request("GET", `/api/v1/namespaces/${name}/serviceaccounts/default`)).status === 200 ? true : undefined,
        );
    }

    it("serves the API on 127.0.0.1 with the admin token, and kwok's fake node is Ready", async () => {
        assert.match(cp.server, /^https:\/\/127\.0\.0\.1:\d+$/);
        const version = await cp.request("GET", "/version");
        assert.strictEqual(version.status, 200, version.text);
        assert.strictEqual(version.body.gitVersion, "v1.34.0");
        const node = await cp.request("GET", `/api/v1/nodes/${NODE_NAME}`);
        assert.strictEqual(node.body.status.conditions.find((c: { type: string }) => c.type === "Ready").status, "True");
        // The kubeconfig file works for kubectl (built from the same k8s.io/kubernetes module).
        const kubectl = spawnSync(path.join(cp.bin, "kubectl"), ["--kubeconfig", cp.kubeconfig, "get", "nodes", "-o", "name"], { encoding: "utf8", timeout: 30_000 });
        assert.strictEqual(kubectl.status, 0, kubectl.stderr);
        assert.strictEqual(kubectl.stdout.trim(), `node/${NODE_NAME}`);
    });

    it("refuses a privileged Pod in a namespace enforcing the restricted Pod Security level", async () => {
        await namespace("restricted", { "pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "latest" });
        const pod = {
            apiVersion: "v1",
            kind: "Pod",
            metadata: { name: "privileged" },
            spec: { containers: [{ name: "c", image: "registry.invalid/none:1", securityContext: { privileged: true } }] },
        };
        const r = await cp.request("POST", "/api/v1/namespaces/restricted/pods", pod);
        assert.strictEqual(r.status, 403, r.text);
        assert.match(r.body.message, /violates PodSecurity "restricted:latest": privileged/);
        // The same Pod is admitted where nothing is enforced: the refusal is Pod Security's, not the server's.
        await namespace("open");
        const ok = await cp.request("POST", "/api/v1/namespaces/open/pods", pod);
        assert.strictEqual(ok.status, 201, ok.text);
    });

    it("a Deployment's pods become Ready on the kwok node and the Deployment reports its available replicas", async () => {
        await namespace("apps");
        const labels = { app: "web" };
        const deployment = {
            apiVersion: "apps/v1",
            kind: "Deployment",
            metadata: { name: "web" },
            spec: {
                replicas: 3,
                selector: { matchLabels: labels },
                template: {
                    metadata: { labels },
                    spec: { containers: [{ name: "web", image: "registry.invalid/web:1", ports: [{ containerPort: 8080 }], readinessProbe: { httpGet: { path: "/", port: 8080 } } }] },
                },
            },
        };
        const r = await cp.request("POST", "/apis/apps/v1/namespaces/apps/deployments", deployment);
        assert.strictEqual(r.status, 201, r.text);
        const status = await eventually("Deployment apps/web: 3 available replicas", async () => {
            const d = await cp.request("GET", "/apis/apps/v1/namespaces/apps/deployments/web");
            return d.body?.status?.availableReplicas === 3 ? d.body.status : undefined;
        });
        assert.strictEqual(status.readyReplicas, 3);
        assert.ok(status.conditions.some((c: { type: string; status: string }) => c.type === "Available" && c.status === "True"));
        const pods = await cp.request("GET", "/api/v1/namespaces/apps/pods?labelSelector=app%3Dweb");
        assert.strictEqual(pods.body.items.length, 3);
        for (const pod of pods.body.items) {
            assert.strictEqual(pod.spec.nodeName, NODE_NAME);
            assert.strictEqual(pod.status.phase, "Running");
            assert.strictEqual(pod.status.conditions.find((c: { type: string }) => c.type === "Ready").status, "True");
        }
    });

    it("a Job's pod runs on the kwok node and the Job completes", async () => {
        await namespace("jobs");
        const job = {
            apiVersion: "batch/v1",
            kind: "Job",
            metadata: { name: "once" },
            spec: {
                backoffLimit: 0,
                template: { spec: { restartPolicy: "Never", containers: [{ name: "once", image: "registry.invalid/once:1" }] } },
            },
        };
        const r = await cp.request("POST", "/apis/batch/v1/namespaces/jobs/jobs", job);
        assert.strictEqual(r.status, 201, r.text);
        const status = await eventually("Job jobs/once Complete", async () => {
            const j = await cp.request("GET", "/apis/batch/v1/namespaces/jobs/jobs/once");
            return j.body?.status?.conditions?.some((c: { type: string; status: string }) => c.type === "Complete" && c.status === "True") ? j.body.status : undefined;
        });
        assert.strictEqual(status.succeeded, 1);
        const pods = await cp.request("GET", "/api/v1/namespaces/jobs/pods?labelSelector=job-name%3Donce");
        assert.strictEqual(pods.body.items.length, 1);
        assert.strictEqual(pods.body.items[0].status.phase, "Succeeded");
        assert.strictEqual(pods.body.items[0].spec.nodeName, NODE_NAME);
    });

    describe("the real Argo Rollouts controller, out of cluster, asking a judge on 127.0.0.1", function () {
        before(async function () {
            this.timeout(180_000);
            await cp.startRolloutsController();
            await namespace("analysis");
        });

        async function runAnalysis(name: string, decision: string): Promise<{ run: any; requests: number }> {
            const j = await judge({ decision, reasons: [`the judge says ${decision}`] });
            try {
                const run = {
                    apiVersion: "argoproj.io/v1alpha1",
                    kind: "AnalysisRun",
                    metadata: { name },
                    spec: {
                        metrics: [
                            {
                                name: "judge",
                                successCondition: 'result.decision == "PROMOTE"',
                                provider: { web: { url: j.url, jsonPath: "{$}", timeoutSeconds: 5 } },
                            },
                        ],
                    },
                };
                const r = await cp.request("POST", "/apis/argoproj.io/v1alpha1/namespaces/analysis/analysisruns", run);
                assert.strictEqual(r.status, 201, r.text);
                const done = await eventually(`AnalysisRun analysis/${name} finished`, async () => {
                    const g = await cp.request("GET", `/apis/argoproj.io/v1alpha1/namespaces/analysis/analysisruns/${name}`);
                    return ["Successful", "Failed", "Error", "Inconclusive"].includes(g.body?.status?.phase) ? g.body : undefined;
                });
                return { run: done, requests: j.requests() };
            } finally {
                await j.close();
            }
        }

        it("an AnalysisRun whose judge answers PROMOTE ends Successful", async () => {
            const { run, requests } = await runAnalysis("promote", "PROMOTE");
            assert.strictEqual(run.status.phase, "Successful", JSON.stringify(run.status));
            assert.ok(requests >= 1, `${requests} requests`);
            const m = run.status.metricResults[0];
            assert.strictEqual(m.name, "judge");
            assert.strictEqual(m.measurements[0].phase, "Successful");
            assert.match(m.measurements[0].value, /"decision":"PROMOTE"/);
        });

        it("an AnalysisRun whose judge answers ROLLBACK ends Failed", async () => {
            const { run, requests } = await runAnalysis("rollback", "ROLLBACK");
            assert.strictEqual(run.status.phase, "Failed", JSON.stringify(run.status));
            assert.ok(requests >= 1, `${requests} requests`);
            assert.strictEqual(run.status.metricResults[0].measurements[0].phase, "Failed");
        });
    });
});
