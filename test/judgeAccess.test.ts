/**
 * Who reaches the judge and what it trusts, as the program registers it: the bearer token in the
 * Secret canary-judge-token (generated, or an external judge's from config) and its use by the run,
 * the run's `since` (the window's start, kept for the same run), the two replicas behind a
 * PodDisruptionBudget, and the NetworkPolicies of the judge and the load test.
 */
import * as assert from "assert";
import { createHash } from "crypto";
import { analysisRunName, runSince } from "../components/delivery/analysis";
import { judgeDeploymentSpec } from "../components/delivery/judge";
import { egressToUrl } from "../components/platform/networkPolicy";
import { asStageRun, formatSince } from "../stacks/previous";
import { formatIssues } from "../stacks/validate";
import { byName, isSecretEnvelope, ofType, PROGRAM_NOW, Registered, runProgram, RunOptions } from "./harness";

const RUN = "kubernetes:argoproj.io/v1alpha1:AnalysisRun";
const EXTERNAL_TOKEN = "ext-judge-token-0123456789abcdefghijklmnopqrstu";
const EXTERNAL = { install: false, url: "http://judge.ops:8080", token: EXTERNAL_TOKEN };
const TOKEN_ARG = { name: "token", valueFrom: { secretKeyRef: { name: "canary-judge-token", key: "token" } } };

const ok = (opts: RunOptions) => runProgram(opts).then((r) => (assert.ifError(r.error), r));
const theRun = (resources: Registered[]) => ofType(resources, RUN)[0];
const argOf = (run: Registered, name: string) => run.inputs.spec.args.find((a: { name: string }) => a.name === name);

/** Whether a secret envelope is anywhere in a value: a preview would show that part as [secret]. */
function hasSecret(v: unknown): boolean {
    if (isSecretEnvelope(v)) return true;
    if (Array.isArray(v)) return v.some(hasSecret);
    if (v && typeof v === "object") return Object.values(v).some(hasSecret);
    return false;
}

/** Paths where `needle` appears outside a secret envelope. */
function plaintext(v: unknown, needle: string, path = ""): string[] {
    if (isSecretEnvelope(v)) return [];
    if (typeof v === "string") return v.includes(needle) ? [path] : [];
    if (Array.isArray(v)) return v.flatMap((x, i) => plaintext(x, needle, `${path}[${i}]`));
    if (v && typeof v === "object") return Object.entries(v).flatMap(([k, x]) => plaintext(x, needle, `${path}.${k}`));
    return [];
}

describe("the judge's token: a Secret the stack writes, sent by the run as a bearer token", () => {
    it("the installed judge's token is generated (48 letters and digits) into canary-judge-token, a secret input; the run names the Secret and sends the header", async () => {
        const { resources } = await ok({ stack: "dev", config: { weight: 5 } });
        const password = byName(resources, "delivery-judge-token");
        assert.strictEqual(password.type, "random:index/randomPassword:RandomPassword");
        assert.deepStrictEqual(password.inputs, { length: 48, special: false });
        const secret = ofType(resources, "kubernetes:core/v1:Secret").find((r) => r.inputs.metadata.name === "canary-judge-token") as Registered;
        assert.strictEqual(secret.inputs.metadata.namespace, "podinfo");
        assert.deepStrictEqual(secret.inputs.stringData, { token: "generated-password-".padEnd(48, "x") });
        assert.ok(isSecretEnvelope(secret.wireInputs.stringData), "the token reaches the provider as a secret");
        const run = theRun(resources);
        assert.deepStrictEqual(argOf(run, "token"), TOKEN_ARG);
        assert.deepStrictEqual(run.inputs.spec.metrics[0].provider.web.headers, [{ key: "Authorization", value: "Bearer {{args.token}}" }]);
        assert.ok(run.dependencies.includes(secret.urn), "the run starts after the Secret: Argo reads it as it resolves the args");
        // By name, not by value: the run and the route stay readable in a preview.
        assert.ok(!hasSecret(run.wireInputs), "the AnalysisRun's inputs hold no secret");
        assert.ok(!hasSecret(byName(resources, "route-httproute").wireInputs), "the route's inputs hold no secret");
    });

    it("an external judge's token comes from canary:analysis.judge.token (secret config) into the same Secret, and nowhere else in plain text", async () => {
        const { resources, outputs } = await ok({ stack: "dev", config: { weight: 5, analysis: { judge: EXTERNAL } }, secretKeys: ["analysis"] });
        assert.deepStrictEqual(ofType(resources, "random:index/randomPassword:RandomPassword").filter((r) => r.name.startsWith("delivery")), [], "nothing generated");
        const secret = byName(resources, "delivery-judge-token");
        assert.deepStrictEqual([secret.inputs.metadata.name, secret.inputs.stringData], ["canary-judge-token", { token: EXTERNAL_TOKEN }]);
        assert.ok(isSecretEnvelope(secret.wireInputs.stringData));
        assert.deepStrictEqual(resources.flatMap((r) => plaintext(r.wireInputs, EXTERNAL_TOKEN).map((p) => `${r.name}${p}`)), []);
        assert.ok(!JSON.stringify(outputs).includes(EXTERNAL_TOKEN), "not in the stack outputs");
        const run = theRun(resources);
        assert.deepStrictEqual(argOf(run, "token"), TOKEN_ARG);
        assert.ok(!hasSecret(run.wireInputs), "the AnalysisRun's inputs hold no secret");
        // Even set without --secret, the token reaches the provider as a secret.
        const plain = await ok({ stack: "dev", config: { weight: 5, analysis: { judge: EXTERNAL } } });
        assert.ok(isSecretEnvelope(byName(plain.resources, "delivery-judge-token").wireInputs.stringData));
    });

    it("canary:analysis.judge.token: required for an external judge, refused for the installed one, at least 32 header-safe characters; never shown", async () => {
        const cases: [Record<string, unknown>, RegExp][] = [
            [{ install: false, url: "http://judge.ops:8080" }, /canary:analysis\.judge\.token = \(not set\): is required when canary:analysis\.judge\.install is false/],
            [{ token: EXTERNAL_TOKEN }, /canary:analysis\.judge\.token = \[secret\]: is used only when canary:analysis\.judge\.install is false/],
            [{ ...EXTERNAL, token: "short-token" }, /canary:analysis\.judge\.token = \[secret\]: must be at least 32 characters/],
            [{ ...EXTERNAL, token: `${EXTERNAL_TOKEN} x` }, /canary:analysis\.judge\.token = \[secret\]: must be a bearer token of letters, digits/],
            [{ ...EXTERNAL, token: `${EXTERNAL_TOKEN}\nInjected: 1` }, /canary:analysis\.judge\.token = \[secret\]: must be a bearer token/],
        ];
        for (const [judge, message] of cases) {
            const r = await runProgram({ stack: "dev", config: { analysis: { judge } }, secretKeys: ["analysis"], previous: null });
            assert.match(r.error?.message ?? "", message, JSON.stringify(judge));
            assert.ok(!(r.error?.message ?? "").includes(String(judge.token ?? "\0")), "the token is not in the message");
            assert.deepStrictEqual(r.resources, [], "refused before anything is registered");
        }
        // An error about a key above it shows the rest of its value, the token as [secret].
        const above = formatIssues("canary", { analysis: { judge: EXTERNAL } }, [{ path: ["analysis"], message: "m" }, { path: ["analysis", "judge", "url"], message: "u" }]);
        assert.strictEqual(
            above,
            'Invalid stack config:\n  canary:analysis = {"judge":{"install":false,"url":"http://judge.ops:8080","token":"[secret]"}}: m\n  canary:analysis.judge.url = "http://judge.ops:8080": u',
        );
    });
});

describe("the run's since: the window's start, written by the stack", () => {
    const at = (opts: Partial<RunOptions>) => ok({ stack: "dev", config: { weight: 25 }, ...opts });

    it("a new run starts its window when the program runs, to the second; the stageRun output records it", async () => {
        const { resources, outputs } = await at({ now: new Date("2026-12-06T21:00:00.789Z") });
        const run = theRun(resources);
        assert.deepStrictEqual(argOf(run, "since"), { name: "since", value: "2026-12-06T21:00:00Z" });
        assert.deepStrictEqual(outputs.stageRun, { name: run.inputs.metadata.name, since: "2026-12-06T21:00:00Z" });
        assert.strictEqual((await ok({ stack: "dev", config: { weight: 0 } })).outputs.stageRun, undefined, "no run at weight 0");
    });

    it("a repeated up of the same run, later, keeps its name and its since: nothing changes", async () => {
        const first = await at({});
        const name = theRun(first.resources).inputs.metadata.name;
        const later = new Date(PROGRAM_NOW.getTime() + 3_600_000);
        const again = await at({ now: later, previousRun: first.outputs.stageRun });
        assert.strictEqual(theRun(again.resources).inputs.metadata.name, name);
        assert.deepStrictEqual(theRun(again.resources).inputs, theRun(first.resources).inputs, "the run's inputs are the same");
        assert.deepStrictEqual(again.outputs.stageRun, first.outputs.stageRun);
        // Without the previous output the same run would be asked from a new start: its name is the same
        // (since is not hashed), its since is not.
        const fresh = await at({ now: later });
        assert.strictEqual(theRun(fresh.resources).inputs.metadata.name, name, "the name does not hash since");
        assert.strictEqual(argOf(theRun(fresh.resources), "since").value, formatSince(later));
    });

    it("a changed stage, or a run other than the one recorded, gets a new since", async () => {
        const first = await at({});
        const later = new Date("2026-12-07T08:30:00Z");
        const next = await ok({ stack: "dev", config: { weight: 50 }, previous: { stage: 25, canaryVersion: "6.8.0" }, previousRun: first.outputs.stageRun, now: later });
        assert.notStrictEqual(theRun(next.resources).inputs.metadata.name, first.outputs.stageRun.name);
        assert.strictEqual(argOf(theRun(next.resources), "since").value, "2026-12-07T08:30:00Z");
        const retried = await at({ config: { weight: 25, analysis: { attempt: 1 } }, previousRun: first.outputs.stageRun, now: later });
        assert.strictEqual(argOf(theRun(retried.resources), "since").value, "2026-12-07T08:30:00Z", "a retry is a new run");
    });

    it("runSince and the stageRun output read back: only a well-formed instant is reused", () => {
        const spec = { args: [{ name: "weight", value: "5" }] };
        const name = analysisRunName("podinfo", "6.8.0", 5, { entry: 1, attempt: 0, spec });
        const now = new Date("2026-12-06T22:15:09.5Z");
        assert.strictEqual(runSince(name, { name, since: "2026-12-06T21:00:00Z" }, now), "2026-12-06T21:00:00Z");
        assert.strictEqual(runSince(name, { name: "other", since: "2026-12-06T21:00:00Z" }, now), "2026-12-06T22:15:09Z");
        assert.strictEqual(runSince(name, undefined, now), "2026-12-06T22:15:09Z");
        assert.deepStrictEqual(asStageRun({ name, since: "2026-12-06T21:00:00Z" }), { name, since: "2026-12-06T21:00:00Z" });
        for (const bad of [undefined, "x", { name }, { name, since: "2026-02-30T10:00:00Z" }, { name, since: "2026-12-06T21:00:00.000Z" }, { name, since: "5m" }, { name: 1, since: "2026-12-06T21:00:00Z" }]) {
            assert.strictEqual(asStageRun(bad), undefined, JSON.stringify(bad));
        }
    });
});

describe("the installed judge: two replicas, a PodDisruptionBudget, the token file", () => {
    it("two replicas spread by hostname where they can, at least one through a disruption, the token mounted read-only and passed as --token-file", async () => {
        const { resources } = await ok({ stack: "dev", config: { weight: 5 } });
        const d = byName(resources, "delivery-judge-deployment");
        const spec = d.inputs.spec;
        assert.strictEqual(spec.replicas, 2);
        const pod = spec.template.spec;
        assert.deepStrictEqual(pod.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution, [
            { weight: 100, podAffinityTerm: { labelSelector: { matchLabels: spec.selector.matchLabels }, topologyKey: "kubernetes.io/hostname" } },
        ]);
        const [c] = pod.containers;
        assert.deepStrictEqual(c.command.slice(-2), ["--token-file", "/var/run/canary-judge/token"]);
        assert.deepStrictEqual(c.volumeMounts.find((m: { name: string }) => m.name === "token"), { name: "token", mountPath: "/var/run/canary-judge", readOnly: true });
        assert.deepStrictEqual(pod.volumes.find((v: { name: string }) => v.name === "token"), {
            name: "token",
            secret: { secretName: "canary-judge-token", items: [{ key: "token", path: "token" }], defaultMode: 0o440 },
        });
        assert.strictEqual(pod.securityContext.fsGroup, pod.securityContext.runAsUser, "the file's group is the node user's");
        assert.ok(d.dependencies.includes(byName(resources, "delivery-judge-token").urn) || d.dependencies.some((u) => u.endsWith("Secret::delivery-judge-token")), "the pods start after the Secret");
        const pdb = byName(resources, "delivery-judge-pdb");
        assert.strictEqual(pdb.type, "kubernetes:policy/v1:PodDisruptionBudget");
        assert.deepStrictEqual(pdb.inputs.spec, { minAvailable: 1, selector: spec.selector });
        for (const [k, v] of Object.entries<string>(spec.selector.matchLabels)) assert.strictEqual(spec.template.metadata.labels[k], v);
        // A new token rolls the pods, as a new bundle does; the annotation stays secret.
        const token = "generated-password-".padEnd(48, "x");
        assert.strictEqual(spec.template.metadata.annotations["canary.judge/token-sha256"], createHash("sha256").update(token).digest("hex"));
        assert.ok(hasSecret(d.wireInputs.spec), "the token's hash is secret as the token is");
        const a = judgeDeploymentSpec("node:22", "http://p:9090", { code: "c", token: "h1" }).template as any;
        const b = judgeDeploymentSpec("node:22", "http://p:9090", { code: "c", token: "h2" }).template as any;
        assert.notDeepStrictEqual(a.metadata.annotations, b.metadata.annotations);
    });
});

describe("NetworkPolicies: who reaches the judge, and what the judge and the load test reach", () => {
    const DNS = { to: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } }, podSelector: { matchLabels: { "k8s-app": "kube-dns" } } }], ports: [{ port: 53, protocol: "UDP" }, { port: 53, protocol: "TCP" }] };
    const ns = (n: string) => ({ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": n } } });

    it("the judge admits only the Argo Rollouts controller's and Prometheus's pods on its port, and reaches only DNS and the installed Prometheus's pods", async () => {
        const { resources } = await ok({ stack: "dev", config: { weight: 5 } });
        const policy = byName(resources, "delivery-judge-netpol").inputs.spec;
        const pods = byName(resources, "delivery-judge-deployment").inputs.spec.template.metadata.labels;
        for (const [k, v] of Object.entries<string>(policy.podSelector.matchLabels)) assert.strictEqual(pods[k], v, "selects the judge's pods");
        assert.deepStrictEqual(policy.policyTypes, ["Ingress", "Egress"]);
        assert.deepStrictEqual(policy.ingress, [
            {
                from: [
                    { ...ns("argo-rollouts"), podSelector: { matchLabels: { "app.kubernetes.io/name": "argo-rollouts" } } },
                    { ...ns("monitoring"), podSelector: { matchLabels: { "app.kubernetes.io/name": "prometheus", "app.kubernetes.io/managed-by": "prometheus-operator" } } },
                ],
                ports: [{ port: 8080, protocol: "TCP" }],
            },
        ]);
        assert.deepStrictEqual(policy.egress, [DNS, { to: [{ ...ns("monitoring"), podSelector: { matchLabels: { "app.kubernetes.io/name": "prometheus", "app.kubernetes.io/managed-by": "prometheus-operator" } } }] }]);
    });

    it("a Prometheus the stack does not install: its namespace in the cluster; outside, its port on any address (a NetworkPolicy cannot name a host)", async () => {
        const egressFor = async (prometheusUrl: string) => {
            const { resources } = await ok({ stack: "dev", config: { weight: 5, monitoring: { install: false, prometheusUrl } } });
            return byName(resources, "delivery-judge-netpol").inputs.spec.egress;
        };
        assert.deepStrictEqual(await egressFor("http://thanos-query.observability.svc:9090"), [DNS, { to: [ns("observability")] }]);
        assert.deepStrictEqual(await egressFor("https://prometheus.example.com"), [DNS, { to: [{ ipBlock: { cidr: "0.0.0.0/0" } }, { ipBlock: { cidr: "::/0" } }], ports: [{ port: 443, protocol: "TCP" }] }]);
        assert.deepStrictEqual(await egressFor("http://10.1.2.3:9090"), [DNS, { to: [{ ipBlock: { cidr: "10.1.2.3/32" } }], ports: [{ port: 9090, protocol: "TCP" }] }]);
        assert.deepStrictEqual(egressToUrl("http://[fd00::1]:9090").to, [{ ipBlock: { cidr: "fd00::1/128" } }]);
        assert.deepStrictEqual(egressToUrl("http://prom.monitoring.svc.cluster.local:9090/").to, [ns("monitoring")]);
    });

    it("the load test's pods take no traffic and reach only DNS and the router's entry", async () => {
        const { resources } = await ok({ stack: "dev", config: { weight: 5 } });
        const job = byName(resources, "load-job");
        const policy = byName(resources, "load-netpol");
        for (const [k, v] of Object.entries<string>(policy.inputs.spec.podSelector.matchLabels)) assert.strictEqual(job.inputs.spec.template.metadata.labels[k], v, "selects the Job's pods");
        assert.deepStrictEqual(policy.inputs.spec.ingress, []);
        const target = job.inputs.spec.template.spec.containers[0].command[job.inputs.spec.template.spec.containers[0].command.indexOf("--target") + 1];
        const namespace = /^https?:\/\/[^.]+\.([^.]+)\.svc/.exec(target)?.[1] as string;
        assert.deepStrictEqual(policy.inputs.spec.egress, [DNS, { to: [ns(namespace)] }]);
        assert.ok(job.dependencies.includes(policy.urn), "the Job starts under its policy");
        // An entry outside the cluster (an ALB's name): its port only.
        const alb = await ok({ stack: "dev", config: { weight: 5, loadTest: { target: "https://podinfo.example.com" } } });
        assert.deepStrictEqual(byName(alb.resources, "load-netpol").inputs.spec.egress[1], { to: [{ ipBlock: { cidr: "0.0.0.0/0" } }, { ipBlock: { cidr: "::/0" } }], ports: [{ port: 443, protocol: "TCP" }] });
    });
});
