/**
 * The policy pack's policies, called as the analyzer calls them: each with a passing and a violating
 * resource, then all of them over every resource the program registers for dev and prod.
 */
import type { ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import {
    albListenersHttps,
    albRuleWeights,
    alertsLabelled,
    canaryPolicies,
    deploymentHardening,
    helmChartsPinned,
    httpRouteWeights,
    noPlaintextConfigSecrets,
    plaintextConfigValues,
    prodImagesPinned,
    stackOfUrn,
    TYPES,
} from "../policy/policies";
import { Registered, ROOT, runProgram, STACKS } from "./harness";
import { tempDir } from "../demo/host";

interface Subject {
    readonly type: string;
    readonly props: Record<string, any>;
    readonly urn?: string;
}

/** The messages a policy reports for one resource, with the policy config the pack would pass. */
async function violations(policy: ResourceValidationPolicy, r: Subject, config: Record<string, unknown> = {}): Promise<string[]> {
    const reported: string[] = [];
    const urn = r.urn ?? `urn:pulumi:dev::canary::${r.type}::subject`;
    const args = { type: r.type, props: r.props, urn, name: "subject", opts: {}, stackTags: new Map(), getConfig: () => config } as unknown as ResourceValidationArgs;
    const validations = [policy.validateResource ?? []].flat();
    for (const validate of validations) await validate(args, (m: string) => reported.push(m));
    return reported;
}

const forward = (weights: number[]) => ({ actions: [{ type: "forward", forward: { targetGroups: weights.map((weight, i) => ({ arn: `tg-${i}`, weight })) } }] });

const goodContainer = {
    name: "app",
    image: "ghcr.io/stefanprodan/podinfo:6.7.1",
    readinessProbe: { httpGet: { path: "/readyz", port: 9898 } },
    livenessProbe: { httpGet: { path: "/healthz", port: 9898 } },
    resources: { limits: { cpu: "500m", memory: "256Mi" } },
    securityContext: { allowPrivilegeEscalation: false, runAsNonRoot: true, capabilities: { drop: ["ALL"] }, seccompProfile: { type: "RuntimeDefault" } },
};
const deployment = (container: Record<string, unknown>) => ({ type: TYPES.deployment, props: { spec: { template: { spec: { containers: [container] } } } } });

const alertRule = (rule: Record<string, unknown>) => ({ type: TYPES.prometheusRule, props: { spec: { groups: [{ name: "g", rules: [rule] }] } } });

describe("policy pack: each policy passes a good resource and flags a bad one", () => {
    it("ALB weights: valid integers summing to 100", async () => {
        assert.deepStrictEqual(await violations(albRuleWeights, { type: TYPES.listenerRule, props: forward([95, 5]) }), []);
        assert.deepStrictEqual(await violations(albRuleWeights, { type: TYPES.listenerRule, props: forward([100, 0]) }), []);
        assert.match((await violations(albRuleWeights, { type: TYPES.listenerRule, props: forward([90, 5]) })).join(), /sum to 100; got 90 \+ 5 = 95/);
        assert.match((await violations(albRuleWeights, { type: TYPES.listenerRule, props: forward([97.5, 2.5]) })).join(), /integers in 0\.\.999/);
        // A plain forward to one target group has no weights to check.
        assert.deepStrictEqual(await violations(albRuleWeights, { type: TYPES.listenerRule, props: { actions: [{ type: "forward", targetGroupArn: "tg" }] } }), []);
    });

    it("HTTPRoute weights: whole numbers summing to 100 wherever a rule splits traffic", async () => {
        const route = (...rules: { weight?: number }[][]) => ({
            type: TYPES.httpRoute,
            props: { spec: { rules: rules.map((refs) => ({ backendRefs: refs.map((r, i) => ({ name: `svc-${i}`, port: 80, ...r })) })) } },
        });
        assert.deepStrictEqual(await violations(httpRouteWeights, route([{}], [{ weight: 75 }, { weight: 25 }])), []);
        assert.deepStrictEqual(await violations(httpRouteWeights, route([{ weight: 100 }, { weight: 0 }])), []);
        assert.match((await violations(httpRouteWeights, route([{}], [{ weight: 90 }, { weight: 5 }]))).join(), /rule 1: backend weights must sum to 100; got 90 \+ 5 = 95/);
        // Unweighted backends default to 1 each: an even split, not percentages.
        assert.match((await violations(httpRouteWeights, route([{}, {}]))).join(), /got 1 \+ 1 = 2/);
        assert.match((await violations(httpRouteWeights, route([{ weight: 97.5 }, { weight: 2.5 }]))).join(), /whole numbers/);
    });

    it("Deployments: probes, limits and the restricted security context", async () => {
        assert.deepStrictEqual(await violations(deploymentHardening, deployment(goodContainer)), []);
        const { readinessProbe: _r, ...noProbe } = goodContainer;
        assert.match((await violations(deploymentHardening, deployment(noProbe))).join(), /container app: no readinessProbe/);
        assert.match((await violations(deploymentHardening, deployment({ ...goodContainer, resources: { limits: { cpu: "1" } } }))).join(), /no cpu and memory limits/);
        const privileged = { ...goodContainer, securityContext: { ...goodContainer.securityContext, allowPrivilegeEscalation: true, capabilities: { add: ["NET_ADMIN"] } } };
        assert.match((await violations(deploymentHardening, deployment(privileged))).join(), /allowPrivilegeEscalation is not false, capabilities do not drop ALL/);
        assert.match((await violations(deploymentHardening, deployment({ ...goodContainer, ports: [{ containerPort: 80, hostPort: 80 }] }))).join(), /container app: a hostPort/);
    });

    it("Deployments: no host namespaces, and only the volume kinds the restricted level admits", async () => {
        const pod = (spec: Record<string, unknown>) => ({ type: TYPES.deployment, props: { spec: { template: { spec: { containers: [goodContainer], ...spec } } } } });
        const admitted = ["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"].map((kind) => ({ name: kind.toLowerCase(), [kind]: {} }));
        assert.deepStrictEqual(await violations(deploymentHardening, pod({ volumes: admitted })), []);
        assert.deepStrictEqual(await violations(deploymentHardening, pod({ volumes: [{ name: "docker", hostPath: { path: "/var/run/docker.sock" } }, { name: "nfs", nfs: { server: "x", path: "/" } }] })), [
            "pod: volume docker is hostPath, not one of configMap, csi, downwardAPI, emptyDir, ephemeral, persistentVolumeClaim, projected, secret, volume nfs is nfs, not one of configMap, csi, downwardAPI, emptyDir, ephemeral, persistentVolumeClaim, projected, secret",
        ]);
        assert.deepStrictEqual(await violations(deploymentHardening, pod({ hostNetwork: true, hostPID: true, hostIPC: false })), ["pod: hostNetwork, hostPID"]);
    });

    it("prod images: every workload's containers (Deployments, Jobs) pinned by a sha256 digest; a version tag is not enough (prod stacks only)", async () => {
        const prodUrn = `urn:pulumi:prod::canary::${TYPES.deployment}::app`;
        const pinned = "ghcr.io/x/app:1.2.3@sha256:" + "a".repeat(64);
        assert.deepStrictEqual(await violations(prodImagesPinned, { ...deployment({ ...goodContainer, image: pinned }), urn: prodUrn }), []);
        assert.deepStrictEqual(await violations(prodImagesPinned, { ...deployment({ ...goodContainer, image: "ghcr.io/x/app@sha256:" + "a".repeat(64) }), urn: prodUrn }), []);
        for (const image of ["ghcr.io/x/app", "ghcr.io/x/app:latest", "ghcr.io/x/app:1.2.3", "ghcr.io/x/app:1.2.3@sha256:abc"]) {
            assert.deepStrictEqual(await violations(prodImagesPinned, { ...deployment({ ...goodContainer, image }), urn: prodUrn }), [`container app: image ${image} is not pinned by digest; in prod use <repository>[:tag]@sha256:<64 hex digits>`]);
        }
        // The load test runs as a Job: its containers are checked too.
        const job = (image: string) => ({ type: "kubernetes:batch/v1:Job", props: { spec: { template: { spec: { containers: [{ name: "load", image }] } } } }, urn: `urn:pulumi:prod::canary::kubernetes:batch/v1:Job::load` });
        assert.strictEqual((await violations(prodImagesPinned, job("docker.io/library/node:22.23.3-alpine"))).length, 1);
        assert.deepStrictEqual(await violations(prodImagesPinned, job(`docker.io/library/node:22.23.3-alpine@sha256:${"0".repeat(64)}`)), []);
        // dev may run :latest; the policy config decides which stacks are prod.
        assert.deepStrictEqual(await violations(prodImagesPinned, deployment({ ...goodContainer, image: "ghcr.io/x/app:latest" })), []);
        const stagingUrn = `urn:pulumi:staging::canary::${TYPES.deployment}::app`;
        assert.strictEqual((await violations(prodImagesPinned, { ...deployment({ ...goodContainer, image: "app:latest" }), urn: stagingUrn }, { prodStacks: ["staging"] })).length, 1);
        assert.strictEqual(stackOfUrn(prodUrn), "prod");
    });

    it("ALB listeners: HTTPS with TLS 1.2+, HTTP only as a redirect", async () => {
        const https = (sslPolicy?: string) => ({ type: TYPES.listener, props: { protocol: "HTTPS", sslPolicy } });
        assert.deepStrictEqual(await violations(albListenersHttps, https("ELBSecurityPolicy-TLS13-1-2-2021-06")), []);
        assert.match((await violations(albListenersHttps, https("ELBSecurityPolicy-2016-08"))).join(), /ELBSecurityPolicy-2016-08 is not TLS 1\.2\+/);
        assert.match((await violations(albListenersHttps, https())).join(), /unset/);
        const redirect = { type: "redirect", redirect: { port: "443", protocol: "HTTPS", statusCode: "HTTP_301" } };
        assert.deepStrictEqual(await violations(albListenersHttps, { type: TYPES.listener, props: { protocol: "HTTP", defaultActions: [redirect] } }), []);
        const servesHttp = { type: TYPES.listener, props: { protocol: "HTTP", defaultActions: [{ type: "forward", targetGroupArn: "tg" }] } };
        assert.match((await violations(albListenersHttps, servesHttp)).join(), /HTTP listener must only redirect to HTTPS/);
    });

    it("Secrets: not built from plain-text stack config, and the report never echoes the value", async () => {
        const file = "config:\n  canary:webhook: https://hooks.example.com/plain-text-token\n  canary:weight: 5\n  canary:password:\n    secure: AAABAKm0c2VjcmV0\n";
        assert.deepStrictEqual(plaintextConfigValues(file), ["https://hooks.example.com/plain-text-token"]);
        const policy = noPlaintextConfigSecrets(plaintextConfigValues(file));
        const secret = (stringData: Record<string, string>) => ({ type: TYPES.secret, props: { stringData } });
        assert.deepStrictEqual(await violations(policy, secret({ webhook: "value-from-a-secure-key" })), []);
        const leaked = await violations(policy, secret({ webhook: "https://hooks.example.com/plain-text-token" }));
        assert.deepStrictEqual(leaked, ["Secret key webhook holds a plain-text stack config value; set it with `pulumi config set --secret`"]);
        const base64 = { type: TYPES.secret, props: { data: { webhook: Buffer.from("https://hooks.example.com/plain-text-token").toString("base64") } } };
        assert.strictEqual((await violations(policy, base64)).length, 1);
    });

    it("alerts: severity label and runbook_url annotation", async () => {
        const good = { alert: "X", expr: "up == 0", labels: { severity: "critical" }, annotations: { runbook_url: "https://r/X.md" } };
        assert.deepStrictEqual(await violations(alertsLabelled, alertRule(good)), []);
        assert.deepStrictEqual(await violations(alertsLabelled, alertRule({ record: "a:b:c", expr: "up" })), []);
        assert.deepStrictEqual(await violations(alertsLabelled, alertRule({ ...good, labels: {}, annotations: {} })), [
            "alert X (group g) has no severity label",
            "alert X (group g) has no runbook_url annotation",
        ]);
    });

    it("Helm: every release and chart pins an exact chart version", async () => {
        assert.deepStrictEqual(await violations(helmChartsPinned, { type: TYPES.helmRelease, props: { chart: "loki", version: "6.29.0" } }), []);
        assert.deepStrictEqual(await violations(helmChartsPinned, { type: TYPES.helmCharts[1], props: { chart: "cert-manager", version: "v1.17.2" } }), []);
        for (const version of [undefined, "", "^6.29.0", "6.x", "latest"]) {
            assert.strictEqual((await violations(helmChartsPinned, { type: TYPES.helmRelease, props: { chart: "loki", version } })).length, 1, `version ${version}`);
        }
    });

    it("the pack reads every stack file's plain-text config from the project directory", () => {
        const dir = tempDir("policy-project");
        fs.writeFileSync(path.join(dir, "Pulumi.dev.yaml"), "config:\n  canary:token: plain-text-in-dev\n");
        fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: canary\nruntime: nodejs\n");
        fs.writeFileSync(path.join(dir, "other.yaml"), "config:\n  canary:token: not-a-stack-file\n");
        const leak = { type: TYPES.secret, props: { stringData: { token: "plain-text-in-dev" } } };
        const policy = canaryPolicies(dir).find((p) => p.name === "no-secret-from-plaintext-config")!;
        return violations(policy, leak).then((v) => assert.strictEqual(v.length, 1));
    });
});

const WEBHOOK = "https://hooks.slack.com/services/T/B/secretsecret";

describe("policy pack over the program: no mandatory violation in dev or prod", () => {
    const results = new Map<string, Registered[]>();
    before(async () => {
        for (const stack of STACKS) {
            const run = await runProgram({ stack, config: { weight: 25, slackWebhookUrl: WEBHOOK }, secretKeys: ["slackWebhookUrl"] });
            assert.ifError(run.error);
            results.set(stack, run.resources);
        }
    });

    for (const stack of STACKS) {
        it(`${stack}: every registered resource passes every policy`, async () => {
            const resources = results.get(stack)!;
            const policies = canaryPolicies(ROOT);
            const found: string[] = [];
            for (const r of resources) {
                for (const p of policies) for (const m of await violations(p, { type: r.type, props: r.inputs, urn: r.urn })) found.push(`${p.name} ${r.type} ${r.name}: ${m}`);
            }
            assert.deepStrictEqual(found, []);
            // The run covers what the policies are about, so "no violation" is not "nothing checked".
            const types = new Set(resources.map((r) => r.type));
            const expected = [TYPES.deployment, TYPES.secret, TYPES.prometheusRule, TYPES.helmRelease, ...(stack === "prod" ? [TYPES.listenerRule, TYPES.listener] : [TYPES.httpRoute])];
            assert.deepStrictEqual(expected.filter((t) => !types.has(t)), []);
        });
    }

    it("prod's receivers Secret is flagged when its webhook sits in the stack file as plain text", async () => {
        const dir = tempDir("policy-plaintext");
        fs.writeFileSync(path.join(dir, "Pulumi.prod.yaml"), `config:\n  canary:slackWebhookUrl: ${WEBHOOK}\n`);
        const policy = canaryPolicies(dir).find((p) => p.name === "no-secret-from-plaintext-config")!;
        const found: string[] = [];
        for (const r of results.get("prod")!) for (const m of await violations(policy, { type: r.type, props: r.inputs, urn: r.urn })) found.push(`${r.name}: ${m}`);
        assert.deepStrictEqual(found, ["monitoring-receivers: Secret key slack-webhook-url holds a plain-text stack config value; set it with `pulumi config set --secret`"]);
    });

    it("a dev run with tags passes as dev and, declared prod, is flagged at every container: the app's tracks, the judge, the load test", async () => {
        const run = await runProgram({ stack: "dev", config: { weight: 5, app: { canary: { image: "ghcr.io/stefanprodan/podinfo:latest", version: "6.8.0" } } } });
        assert.ifError(run.error);
        const flag = async (config: Record<string, unknown>) => {
            const found: string[] = [];
            for (const r of run.resources) for (const m of await violations(prodImagesPinned, { type: r.type, props: r.inputs, urn: r.urn }, config)) found.push(`${r.type} ${r.name}: ${m}`);
            return found;
        };
        assert.deepStrictEqual(await flag({}), []);
        const flagged = await flag({ prodStacks: ["dev"] });
        assert.deepStrictEqual(flagged.map((f) => f.replace(/: container .*/, "")).sort(), [
            "kubernetes:apps/v1:Deployment delivery-judge-deployment",
            "kubernetes:apps/v1:Deployment podinfo-canary",
            "kubernetes:apps/v1:Deployment podinfo-stable",
            "kubernetes:batch/v1:Job load-job",
        ], flagged.join("\n"));
        assert.ok(flagged.some((f) => f.includes("image ghcr.io/stefanprodan/podinfo:latest is not pinned by digest")));
    });
});
