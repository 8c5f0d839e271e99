/**
 * Bad stack config fails before any resource is registered, with one message that names the key,
 * the value and what is allowed. Each case runs the real program under mocks.
 */
import * as assert from "assert";
import { buildStackConfig } from "../stacks/config";
import { ofType, runProgram, RunOptions, suiteConfig, testDigest } from "./harness";

/** The stack file's config with one key removed (a path below `canary:`). */
function without(stack: "dev" | "prod", ...path: string[]): Record<string, unknown> {
    const config = structuredClone(suiteConfig(stack));
    const parent = path.slice(0, -1).reduce<any>((o, k) => o[k], config);
    delete parent[path[path.length - 1]];
    return config;
}

interface BadCase {
    readonly what: string;
    readonly run: RunOptions;
    /** Lines the error must contain: key, value and what is allowed. */
    readonly messages: RegExp[];
}

const cases: BadCase[] = [
    { what: "weight not a number", run: { stack: "dev", config: { weight: "abc" } }, messages: [/canary:weight = "abc": must be a number: 0 or one of canary:stages/] },
    { what: "weight above 100", run: { stack: "dev", config: { weight: 150 } }, messages: [/canary:weight = 150: must be 0 to 100/] },
    { what: "weight below 0", run: { stack: "prod", config: { weight: -5 } }, messages: [/canary:weight = -5: must be 0 to 100/] },
    { what: "weight not a stage", run: { stack: "dev", config: { weight: 7 } }, messages: [/canary:weight = 7: must be 0 or one of canary:stages \[5, 25, 50, 100\]/] },
    {
        what: "stages not strictly increasing",
        run: { stack: "dev", config: { stages: [5, 50, 25, 100] } },
        messages: [/canary:stages = \[5,50,25,100\]: must be strictly increasing whole percents ending in 100/],
    },
    { what: "stages not ending in 100", run: { stack: "prod", config: { stages: [10, 50] } }, messages: [/canary:stages = \[10,50\]: must be strictly increasing whole percents ending in 100/] },
    { what: "stage out of range", run: { stack: "dev", config: { stages: [0, 100] } }, messages: [/canary:stages\[0\] = 0: must be 1 to 100/] },
    { what: "canary header name in upper case", run: { stack: "dev", config: { header: { name: "X-Canary" } } }, messages: [/canary:header\.name = "X-Canary": must be a lower-case HTTP header name/] },
    { what: "canary header on the host header", run: { stack: "dev", config: { header: { name: "host" } } }, messages: [/canary:header\.name = "host": must not be host/] },
    { what: "canary header value a guessable word", run: { stack: "dev", config: { header: { enabled: true, value: "always" } } }, messages: [/canary:header\.value = \[secret\]: must be at least 32 characters/] },
    { what: "canary header value in upper case", run: { stack: "dev", config: { header: { enabled: true, value: "A".repeat(40) } } }, messages: [/canary:header\.value = \[secret\]: must be lower-case letters and digits only/] },
    { what: "canary header value with the header off", run: { stack: "dev", config: { header: { value: "a".repeat(40) } } }, messages: [/canary:header\.value = \[secret\]: is used only when canary:header\.enabled is true/] },
    {
        what: "canary image missing while weight > 0",
        run: { stack: "dev", baseConfig: without("dev", "app", "canary", "image"), config: { weight: 5 } },
        messages: [/canary:app\.canary\.image = \(not set\): is required while canary:weight is 5/],
    },
    {
        what: "untagged image in prod",
        run: { stack: "prod", config: { app: { stable: { image: "ghcr.io/stefanprodan/podinfo", version: "6.7.1" } } } },
        messages: [/canary:app\.stable\.image = "ghcr\.io\/stefanprodan\/podinfo": must be pinned by digest in environment prod \(canary:pinnedImages is true\): <repository>\[:tag\]@sha256:<64 hex digits>/],
    },
    {
        what: ":latest image in prod",
        run: { stack: "prod", config: { app: { canary: { image: "ghcr.io/stefanprodan/podinfo:latest" } } } },
        messages: [/canary:app\.canary\.image = "ghcr\.io\/stefanprodan\/podinfo:latest": must be pinned by digest in environment prod/],
    },
    {
        what: "a version tag (not a digest) in prod, for the app, the judge and the load test",
        run: {
            stack: "prod",
            config: { app: { stable: { image: "ghcr.io/stefanprodan/podinfo:6.7.1" } }, analysis: { judge: { image: "docker.io/library/node:22.23.3-alpine" } }, loadTest: { enabled: true, target: "https://alb.example" } },
        },
        messages: [
            /canary:app\.stable\.image = "ghcr\.io\/stefanprodan\/podinfo:6\.7\.1": must be pinned by digest in environment prod/,
            /canary:analysis\.judge\.image = "docker\.io\/library\/node:22\.23\.3-alpine": must be pinned by digest in environment prod \(canary:pinnedImages is true\)/,
        ],
    },
    // No environment has a default app: a key the stack leaves out is refused by its name, never filled in with a sample's.
    {
        what: "a canary image with no stable image",
        run: { stack: "dev", baseConfig: without("dev", "app", "stable", "image") },
        messages: [/^ {2}canary:app\.stable\.image = \(not set\): is required \(an image reference such as ghcr\.io\/org\/app:1\.2\.3\)$/m],
    },
    { what: "no app name", run: { stack: "prod", baseConfig: without("prod", "app", "name") }, messages: [/^ {2}canary:app\.name = \(not set\): is required \(a DNS label: /m] },
    { what: "no app port", run: { stack: "dev", baseConfig: without("dev", "app", "port") }, messages: [/^ {2}canary:app\.port = \(not set\): is required \(a number\)$/m] },
    { what: "no app host in dev", run: { stack: "dev", baseConfig: without("dev", "app", "host") }, messages: [/^ {2}canary:app\.host = \(not set\): is required \(a DNS host name such as app\.example\.com\)$/m] },
    { what: "unknown router", run: { stack: "dev", config: { router: "traefik" } }, messages: [/canary:router = "traefik": must be one of alb, gateway, nginx, istio/] },
    {
        what: "alb without vpc, subnets or certificate",
        run: { stack: "prod", baseConfig: without("prod", "alb") },
        messages: [
            /canary:alb\.vpcId = \(not set\): is required when canary:router is alb/,
            /canary:alb\.subnetIds = \(not set\): is required when canary:router is alb/,
            /canary:alb\.certificateArn = \(not set\): is required when canary:router is alb/,
        ],
    },
    { what: "alb with one subnet", run: { stack: "prod", config: { alb: { subnetIds: ["subnet-0abc"] } } }, messages: [/canary:alb\.subnetIds = \["subnet-0abc"\]: must list at least two subnets/] },
    { what: "alb with a TLS 1.0 policy", run: { stack: "prod", config: { alb: { sslPolicy: "ELBSecurityPolicy-2016-08" } } }, messages: [/canary:alb\.sslPolicy = "ELBSecurityPolicy-2016-08": must be a TLS 1\.2\+ policy/] },
    {
        what: "controller install without cluster name",
        run: { stack: "prod", config: { alb: { controller: { install: true } } } },
        messages: [/canary:alb\.controller\.clusterName = \(not set\): is required when canary:alb\.controller\.install is true/],
    },
    { what: "negative replicas", run: { stack: "dev", config: { app: { stable: { replicas: -1 } } } }, messages: [/canary:app\.stable\.replicas = -1: must be 0 or more/] },
    { what: "fractional replicas", run: { stack: "prod", config: { app: { canary: { replicas: 1.5 } } } }, messages: [/canary:app\.canary\.replicas = 1\.5: must be a whole number/] },
    { what: "a misspelt key", run: { stack: "dev", config: { wieght: 5 } }, messages: [/canary:wieght = 5: is not a known key/] },
    { what: "a misspelt nested key", run: { stack: "dev", config: { app: { stabel: {} } } }, messages: [/canary:app\.stabel = \{\}: is not a known key/] },
    { what: "a stack that names no environment", run: { stack: "dev", config: { environment: "staging" } }, messages: [/canary:environment = "staging": must be one of dev, prod/] },
    { what: "a bad host", run: { stack: "prod", config: { app: { host: "Not A Host" } } }, messages: [/canary:app\.host = "Not A Host": must be a DNS host name/] },
    {
        what: "a ratio metric named like a built-in test, with a bad direction and one counter twice",
        run: { stack: "dev", config: { analysis: { ratios: [{ name: "errors", events: "a_total", total: "a_total", bad: "sideways" }] } } },
        messages: [
            /canary:analysis\.ratios\[0\]\.name = "errors": must not be one of the judge's own tests \(errors, latency, tail\)/,
            /canary:analysis\.ratios\[0\]\.bad = "sideways": must be up \(a higher share is worse\) or down \(a lower share is worse\)/,
        ],
    },
    {
        what: "a ratio metric's counter that is not a metric name",
        run: { stack: "dev", config: { analysis: { ratios: [{ name: "conv", events: "orders-total", total: "visits_total", bad: "down" }] } } },
        messages: [/canary:analysis\.ratios\[0\]\.events = "orders-total": must be a Prometheus metric name/],
    },
    {
        what: "two ratio metrics with one name",
        run: { stack: "dev", config: { analysis: { ratios: [{ name: "conv", events: "orders_total", total: "visits_total", bad: "down" }, { name: "conv", events: "a_total", total: "b_total", bad: "up" }] } } },
        messages: [/canary:analysis\.ratios = .*: each ratio needs its own name/],
    },
    {
        what: "a ratio metric whose events and total are one counter",
        run: { stack: "dev", config: { analysis: { ratios: [{ name: "conv", events: "a_total", total: "a_total", bad: "down" }] } } },
        messages: [/canary:analysis\.ratios\[0\]\.total = .*: events and total must be two different counters/],
    },
];

describe("bad stack config fails before any resource is registered", () => {
    for (const c of cases) {
        it(c.what, async () => {
            const { error, resources } = await runProgram({ ...c.run, previous: null });
            assert.ok(error, "the program should have failed");
            assert.strictEqual(error.name, "ConfigError");
            for (const m of c.messages) assert.match(error.message, m);
            assert.deepStrictEqual(
                resources.map((r) => r.type),
                [],
                "nothing may be registered, not even the read of the stack's own outputs",
            );
        });
    }

    it("app.namespace unset: the app's name", async () => {
        const { error, resources } = await runProgram({ stack: "dev", baseConfig: without("dev", "app", "namespace"), config: { app: { name: "checkout" } } });
        assert.ifError(error);
        const appNamespace = ofType(resources, "kubernetes:core/v1:Namespace").find((r) => r.inputs.metadata.labels?.["pod-security.kubernetes.io/enforce"] === "restricted");
        assert.strictEqual(appNamespace?.inputs.metadata.name, "checkout");
        const deployments = ofType(resources, "kubernetes:apps/v1:Deployment").filter((r) => r.inputs.metadata.labels?.["app.kubernetes.io/name"] === "checkout");
        assert.ok(deployments.length > 0, "the app's Deployments");
        assert.deepStrictEqual([...new Set(deployments.map((d) => d.inputs.metadata.namespace))], ["checkout"]);
    });

    it("reports every bad key of a config at once", async () => {
        const { error } = await runProgram({ stack: "dev", config: { router: "traefik", app: { stable: { replicas: -1 } } }, previous: null });
        assert.match(error?.message ?? "", /canary:router = "traefik"[\s\S]*canary:app\.stable\.replicas = -1|canary:app\.stable\.replicas = -1[\s\S]*canary:router = "traefik"/);
    });
});

describe("stage skips fail before any resource is created", () => {
    const skips: [string, RunOptions, RegExp][] = [
        [
            "5 to 50",
            { stack: "prod", config: { weight: 50 }, previous: { stage: 5, canaryVersion: "6.8.0" } },
            /canary:weight = 50 skips a stage: the stack last applied weight 5 for canary version 6\.8\.0, so canary version 6\.8\.0 may move to 0, 5, 25/,
        ],
        [
            "first up straight to 25",
            { stack: "dev", config: { weight: 25 }, previous: null },
            /canary:weight = 25 skips a stage: the stack has not applied a stage yet, so canary version 6\.8\.0 may move to 0, 5/,
        ],
        [
            "a new canary version at the old one's stage",
            { stack: "prod", config: { weight: 50, app: { canary: { image: `ghcr.io/stefanprodan/podinfo:6.9.0@${testDigest("9")}` } } }, previous: { stage: 50, canaryVersion: "6.8.0" } },
            /canary:weight = 50 skips a stage: the stack last applied weight 50 for canary version 6\.8\.0, so canary version 6\.9\.0 may move to 0, 5/,
        ],
    ];
    for (const [what, run, message] of skips) {
        it(what, async () => {
            const { error, resources } = await runProgram(run);
            assert.match(error?.message ?? "(no error)", message);
            assert.match(error?.message ?? "", /Set canary:allowStageSkip to true/);
            // The only registration is the read of the stack's own last outputs.
            assert.deepStrictEqual(resources.map((r) => r.type), ["pulumi:pulumi:StackReference"]);
        });
    }

    it("reads the previous stage from the stack's own outputs", async () => {
        const { resources } = await runProgram({ stack: "prod", organization: "acme", config: { weight: 25 }, previous: { stage: 5, canaryVersion: "6.8.0" } });
        const ref = resources.find((r) => r.type === "pulumi:pulumi:StackReference");
        assert.strictEqual(ref?.inputs.name, "acme/canary/prod");
    });

    it("allows a skip with canary:allowStageSkip", async () => {
        const { error, outputs } = await runProgram({ stack: "prod", config: { weight: 100, allowStageSkip: true }, previous: { stage: 5, canaryVersion: "6.8.0" } });
        assert.ifError(error);
        assert.strictEqual(outputs.stage, 100);
    });
});

/** The message of the config's refusal; fails when it is accepted. */
function refusal(stack: string, raw: Record<string, unknown>): string {
    try {
        buildStackConfig("canary", stack, raw);
    } catch (e) {
        return (e as Error).message;
    }
    return assert.fail(`stack ${stack} with ${JSON.stringify(raw)} should have been refused`);
}

/** What zod says when a schema leaves the message to it: never what a user reads. */
const RAW_VALIDATOR_TEXT = /Invalid input|Invalid URL|Invalid option|Too small|Too big|Unrecognized key|expected \w+, received|expected \w+ to have/;

describe("every config error at once, in the config's words", () => {
    it("weight 7 with replicas -1 reports both: a cross-key rule beside a key's own", () => {
        const m = refusal("dev", { weight: 7, app: { stable: { replicas: -1 } } });
        assert.match(m, /canary:weight = 7: must be 0 or one of canary:stages \[5, 25, 50, 100\]/);
        assert.match(m, /canary:app\.stable\.replicas = -1: must be 0 or more/);
    });

    it("a key the app leaves out does not hide another key's cross-key rule", () => {
        const app = structuredClone(suiteConfig("dev").app) as Record<string, unknown>;
        delete app.name;
        const m = refusal("dev", { weight: 7, app });
        assert.match(m, /canary:app\.name = \(not set\): is required/);
        assert.match(m, /canary:weight = 7: must be 0 or one of canary:stages/);
    });

    it("a cross-key rule is not reported again on a key already refused", () => {
        const m = refusal("dev", { weight: "abc", stages: [5, 50, 25, 100] });
        assert.match(m, /canary:weight = "abc": must be a number/);
        assert.match(m, /canary:stages = \[5,50,25,100\]: must be strictly increasing/);
        assert.strictEqual(m.match(/canary:weight =/g)?.length, 1, m);
    });

    it("a stack that names no environment, without canary:environment, still reports every other bad key", () => {
        const m = refusal("staging", { weight: 7, app: { stable: { replicas: -1 } }, router: "traefik" });
        assert.match(m, /canary:environment = \(not set\): must be one of dev, prod \(stack "staging" is not an environment name, so set it\)/);
        assert.match(m, /canary:weight = 7: must be 0 or one of canary:stages/);
        assert.match(m, /canary:app\.stable\.replicas = -1: must be 0 or more/);
        assert.match(m, /canary:router = "traefik": must be one of alb, gateway, nginx, istio/);
    });

    it("without an environment, only what every environment refuses: not prod's pinned images, not dev's", () => {
        const m = refusal("staging", { app: { stable: { image: "ghcr.io/stefanprodan/podinfo:latest" } } });
        assert.doesNotMatch(m, /pinned/);
        assert.match(m, /canary:environment = \(not set\)/);
    });

    it("duration keys take Go's syntax (1h30m, 1.5h), as Argo reads the interval; the keys Prometheus and Loki read, Prometheus's (30d, 1d12h)", () => {
        const c = buildStackConfig("canary", "dev", { ...suiteConfig("dev"), analysis: { interval: "1.5s", deadline: "1h30m" }, loadTest: { duration: "1.5h" }, tracing: { retention: "2h45m30s" }, monitoring: { retention: "4w2d" } });
        assert.deepStrictEqual([c.analysis.interval, c.analysis.deadline, c.loadTest.duration, c.tracing.retention, c.monitoring.retention], ["1.5s", "1h30m", "1.5h", "2h45m30s", "4w2d"]);
        const m = refusal("dev", { analysis: { interval: "1d", deadline: "0s" }, monitoring: { retention: "1.5d" }, logging: { lokiRetention: "30m1h" } });
        assert.match(m, /canary:analysis\.interval = "1d": must be a Go duration above 0 \(time\.ParseDuration\) such as 15s, 1h30m or 1\.5h: .*not d, w or y/);
        assert.match(m, /canary:analysis\.deadline = "0s": must be a Go duration above 0/);
        assert.match(m, /canary:monitoring\.retention = "1\.5d": must be a Prometheus duration above 0 such as 30d or 1d12h: whole numbers/);
        assert.match(m, /canary:logging\.lokiRetention = "30m1h": must be a Prometheus duration above 0 .*largest first/);
    });

    const wrong: [string, Record<string, unknown>, RegExp][] = [
        ["a duration given as a number", { analysis: { interval: 15 } }, /canary:analysis\.interval = 15: must be a Go duration .*such as 15s/],
        ["a flag given as a word", { tls: { enabled: "yes" } }, /canary:tls\.enabled = "yes": must be true or false/],
        ["a list given as a number", { stages: 5 }, /canary:stages = 5: must be a list/],
        ["an empty list", { stages: [] }, /canary:stages = \[\]: must list at least 1/],
        ["a number given as a word", { app: { port: "http" } }, /canary:app\.port = "http": must be a number/],
        ["a fraction where a whole number belongs", { alerts: { slo: { periodDays: 1.5 } } }, /canary:alerts\.slo\.periodDays = 1\.5: must be a whole number/],
        ["a number out of range without a message of its own", { alerts: { slo: { periodDays: 400 } } }, /canary:alerts\.slo\.periodDays = 400: must be at most 365/],
        ["an empty string", { alb: { controller: { clusterName: "" } } }, /canary:alb\.controller\.clusterName = "": must be at least 1 character/],
        ["an object given as a string", { app: "podinfo" }, /canary:app = "podinfo": must be an object/],
        ["a URL that is not one", { tls: { acmeServer: "not a url" } }, /canary:tls\.acmeServer = "not a url": must be a URL/],
    ];
    for (const [what, raw, message] of wrong) {
        it(`${what}: key = value: what is allowed, no validator text`, () => {
            const m = refusal("dev", raw);
            assert.match(m, message);
            assert.doesNotMatch(m, RAW_VALIDATOR_TEXT);
        });
    }
});

/**
 * Values that validated and then broke what they were written into (issue 30, item 11): each refused
 * here, naming the key and the value.
 */
describe("config that would validate and then break: refused with the key and the value", () => {
    const es = (elasticsearch: Record<string, unknown>) => ({ logging: { enabled: true, output: "elasticsearch", elasticsearch } });
    const ratio = (name: string) => ({ analysis: { ratios: [{ name, events: "checkouts_failed_total", total: "checkouts_total", bad: "up" }] } });
    const refused: [string, Record<string, unknown>, RegExp][] = [
        // The judge refuses these at its start (prometheusUrl): CrashLoopBackOff after a clean `pulumi up`.
        ["a Prometheus URL with a query", { monitoring: { prometheusUrl: "http://prometheus:9090/?x=1" } }, /canary:monitoring\.prometheusUrl = "http:\/\/prometheus:9090\/\?x=1": must be an http\(s\) base URL .*no query \(\?\), fragment \(#\)/],
        ["a Prometheus URL with a fragment", { monitoring: { prometheusUrl: "http://prometheus:9090#top" } }, /canary:monitoring\.prometheusUrl = "http:\/\/prometheus:9090#top": must be an http\(s\) base URL/],
        ["a Prometheus URL with an empty query", { monitoring: { prometheusUrl: "http://prometheus:9090/?" } }, /canary:monitoring\.prometheusUrl = "http:\/\/prometheus:9090\/\?": must be an http\(s\) base URL/],
        ["a Prometheus URL with credentials (Node's fetch refuses them)", { monitoring: { prometheusUrl: "http://u:p@prometheus:9090" } }, /canary:monitoring\.prometheusUrl = "http:\/\/u:p@prometheus:9090": must be an http\(s\) base URL .*user name or password/],
        ["a judge URL with ?y=1#z", { analysis: { judge: { install: false, url: "http://judge:8080/x?y=1#z" } } }, /canary:analysis\.judge\.url = "http:\/\/judge:8080\/x\?y=1#z": must be an http\(s\) base URL/],
        ["a judge URL with a newline", { analysis: { judge: { install: false, url: "http://judge:8080/\nx" } } }, /canary:analysis\.judge\.url = "http:\/\/judge:8080\/\\nx": must be an http\(s\) base URL/],
        ["a load-test target with a query", { loadTest: { enabled: true, target: "http://entry/?a=b" } }, /canary:loadTest\.target = "http:\/\/entry\/\?a=b": must be an http\(s\) base URL/],
        ["a runbook base URL with a fragment", { alerts: { runbookBaseUrl: "https://example.com/runbooks#x" } }, /canary:alerts\.runbookBaseUrl = "https:\/\/example\.com\/runbooks#x": must be an http\(s\) base URL/],
        // Carried evidence is keyed by test name: `constructor` read Object's constructor (a function) and the judge answered 500.
        ["a ratio named constructor", ratio("constructor"), /canary:analysis\.ratios\[0\]\.name = "constructor": must not be constructor/],
        // Fluent Bit's config is one `key value` a line: a newline starts a section of the writer's choosing.
        ["an Elasticsearch host with a newline", es({ host: "es\n[OUTPUT]\n    Name http" }), /canary:logging\.elasticsearch\.host = "es\\n\[OUTPUT\]\\n    Name http": must be a host name or IP address/],
        ["an Elasticsearch host with a space", es({ host: "es Name" }), /canary:logging\.elasticsearch\.host = "es Name": must be a host name or IP address/],
        ["an Elasticsearch host with a tab", es({ host: "es\tx" }), /canary:logging\.elasticsearch\.host = "es\\tx": must be a host name or IP address/],
        ["an empty Elasticsearch host", es({ host: "" }), /canary:logging\.elasticsearch\.host = "": must be a host name or IP address/],
        ["an Elasticsearch index with a newline", es({ host: "es", index: "logs\n[OUTPUT]" }), /canary:logging\.elasticsearch\.index = "logs\\n\[OUTPUT\]": must be an Elasticsearch index name/],
        ["an Elasticsearch index Fluent Bit would expand", es({ host: "es", index: "${HOME}" }), /canary:logging\.elasticsearch\.index = "\$\{HOME\}": must be an Elasticsearch index name/],
        // The judge's excludedRoutes= is the list joined by commas, and it splits on them.
        ["an excluded route with a comma", { metrics: { excludedRoutes: ["healthz,metrics"] } }, /canary:metrics\.excludedRoutes\[0\] = "healthz,metrics": must be a route label value: .*no quotes, backslashes, whitespace or commas/],
        // Written into a PromQL string: a quote would end it and append a query of the writer's choosing.
        ["an error regex that ends its string", { metrics: { errorStatus: '5.."} or vector(1) #' } }, /canary:metrics\.errorStatus = "5\.\.\\"} or vector\(1\) #": must be a regex over the status label's values/],
        ["an error regex that does not compile", { metrics: { errorStatus: "5[" } }, /canary:metrics\.errorStatus = "5\[": must be a regex over the status label's values/],
        ["a status label with the dots of an OTel attribute", { metrics: { preset: "opentelemetry", statusLabel: "http.response.status_code" } }, /canary:metrics\.statusLabel = "http\.response\.status_code": must be a Prometheus label name/],
        ["a route label the queries set themselves", { metrics: { routeLabel: "track" } }, /canary:metrics\.routeLabel = "track": must be a Prometheus label name .*other than namespace, app, track, le/],
        ["a status label that is the preset's route label", { metrics: { statusLabel: "path" } }, /canary:metrics\.statusLabel = "path": must not be the same label as canary:metrics\.routeLabel \(set or the preset's\)/],
        ["an unknown preset", { metrics: { preset: "otel" } }, /canary:metrics\.preset = "otel": must be one of prom-client, opentelemetry, micrometer/],
        // The router's counts exist only where that router splits the traffic: the dev stack's router is gateway.
        ["a router source that is not the stack's router", { metrics: { source: "istio" } }, /canary:metrics\.source = "istio": is istio, the metrics of the istio router, but canary:router is gateway: use app or the source of canary:router gateway \(traefik, envoy-gateway\)/],
        ["an unknown source", { metrics: { source: "nginx" } }, /canary:metrics\.source = "nginx": must be one of app, traefik, envoy-gateway, istio, ingress-nginx, alb/],
        ["the retired duration key", { metrics: { duration: "app_seconds" } }, /canary:metrics\.duration = "app_seconds": is not a known key/],
        ["more excluded routes than the judge reads", { metrics: { excludedRoutes: Array.from({ length: 33 }, (_, i) => `/r${i}`) } }, /canary:metrics\.excludedRoutes = \[.*\]: must list at most 32 routes/],
        ["a load-test header value with a newline", { loadTest: { headers: { "x-a": "1\r\nx-b: 2" } } }, /canary:loadTest\.headers\.x-a = "1\\r\\nx-b: 2": must be an HTTP header value/],
    ];
    for (const [what, raw, message] of refused) {
        it(what, () => {
            const m = refusal("dev", raw);
            assert.match(m, message);
            assert.doesNotMatch(m, RAW_VALIDATOR_TEXT);
        });
    }

    it("what they may be: a base URL with a path, a host name, IPv4 and IPv6 addresses, an index with '-', '_', '.' and '+'", () => {
        // The app is the stack's own (no environment has one): dev's.
        const ok = (raw: Record<string, unknown>) => assert.doesNotThrow(() => buildStackConfig("canary", "dev", { app: suiteConfig("dev").app, ...raw }), JSON.stringify(raw));
        ok({ monitoring: { prometheusUrl: "https://prometheus.example/prom/" } });
        ok({ analysis: { judge: { install: false, url: "http://judge.example:8080/base", token: "a-judge-token-of-at-least-32-characters" } } });
        for (const host of ["elasticsearch.logging.svc", "Elasticsearch", "10.0.0.5", "fd00::5"]) ok(es({ host, index: "canary-logs_2026.01+x" }));
    });
});
