/**
 * The one schema for every `canary:*` stack config key. Parsing returns the resolved config the
 * program builds from, or issues that name the key, the value and what is allowed.
 */
import { z } from "zod";
import { BUILT_IN_TESTS } from "../domain/ratios";
import { DEFAULT_METRICS, DNS_LABEL, durationSeconds, METRIC_NAME, SCRAPE_INTERVAL_SECONDS } from "../domain/promql";
import { DEFAULT_STAGES } from "../domain/stages";
import { ENVIRONMENTS } from "./environments";
import { isPinned, versionOf } from "./images";

const HOSTNAME = /^(\*\.)?([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const QUANTITY = /^[0-9]+(\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/;
const CIDR = /^([0-9]{1,3}\.){3}[0-9]{1,3}\/([0-9]|[12][0-9]|3[0-2])$/;

/**
 * ALB security policies that refuse TLS 1.0 and 1.1.
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/application/describe-ssl-policies.html
 */
export const TLS12_POLICY_PREFIXES = ["ELBSecurityPolicy-TLS13-", "ELBSecurityPolicy-TLS-1-2-", "ELBSecurityPolicy-FS-1-2-"];

/**
 * A string that must match `pattern`: `message` also for a value that is not a string at all (the
 * number 15 where `15s` belongs), so the user reads what is allowed, not only the type that was wrong.
 */
const text = (pattern: RegExp, message: string) => z.string({ error: message }).regex(pattern, message);

const dnsLabel = text(DNS_LABEL, "must be a DNS label: lower-case letters, digits and '-', starting with a letter");
const quantity = text(QUANTITY, "must be a Kubernetes quantity such as 100m, 1 or 128Mi");
const httpPath = text(/^\/\S*$/, "must be an HTTP path starting with '/'");
const image = text(/^[^\s]+$/, "must be an image reference such as ghcr.io/org/app:1.2.3").min(1);

const resourcesWithCpuLimit = <C extends z.ZodType>(cpuLimit: C) =>
    z.strictObject({
        requests: z.strictObject({ cpu: quantity, memory: quantity }),
        limits: z.strictObject({ cpu: cpuLimit, memory: quantity }),
    });
/** The app's pods need both limits: the policy pack refuses a Deployment without them, so config cannot omit one. */
const resources = resourcesWithCpuLimit(quantity);

const track = z.strictObject({
    /** Container image; pinned (tag other than latest, or digest) in environments with `pinnedImages`. */
    image,
    /** Version label and OTEL attribute; default: the image tag. */
    version: text(/^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/, "must be a label value such as 1.2.3").optional(),
    replicas: z.number().int("must be a whole number").min(0, "must be 0 or more"),
    resources,
});

const app = z.strictObject({
    name: dnsLabel,
    namespace: dnsLabel,
    port: z.number().int().min(1, "must be a port, 1 to 65535").max(65535, "must be a port, 1 to 65535"),
    healthPaths: z.strictObject({ readiness: httpPath, liveness: httpPath }),
    host: text(HOSTNAME, "must be a DNS host name such as app.example.com"),
    stable: track,
    /** The canary; without an image it is the stable version and runs no pods. */
    canary: track.partial({ image: true }),
});

const alb = z.strictObject({
    vpcId: text(/^vpc-[0-9a-f]+$/, "must be a VPC id such as vpc-0abc123").optional(),
    subnetIds: z.array(text(/^subnet-[0-9a-f]+$/, "must be a subnet id such as subnet-0abc123")).min(2, "must list at least two subnets in different availability zones (an ALB needs two)").optional(),
    certificateArn: text(/^arn:aws[-a-z]*:acm:[-a-z0-9]+:[0-9]{12}:certificate\/[-0-9a-f]+$/, "must be an ACM certificate ARN").optional(),
    /** A Route 53 hosted zone: without certificateArn, an ACM certificate is created and DNS-validated in it. */
    hostedZoneId: text(/^Z[A-Z0-9]+$/, "must be a Route 53 hosted zone id such as Z0123456789ABC").optional(),
    sslPolicy: z
        .string()
        .refine((p) => TLS12_POLICY_PREFIXES.some((prefix) => p.startsWith(prefix)), `must be a TLS 1.2+ policy starting with ${TLS12_POLICY_PREFIXES.join(", ")}`)
        .default("ELBSecurityPolicy-TLS13-1-2-2021-06"),
    allowedCidrs: z.array(text(CIDR, "must be an IPv4 CIDR such as 10.0.0.0/8")).min(1).default(["0.0.0.0/0"]),
    internal: z.boolean().default(false),
    stickiness: z
        .strictObject({
            enabled: z.boolean().default(false),
            durationSeconds: z.number().int().min(1, "must be 1 to 604800 seconds").max(604800, "must be 1 to 604800 seconds").default(3600),
        })
        .default({ enabled: false, durationSeconds: 3600 }),
    controller: z
        .strictObject({
            install: z.boolean().default(false),
            clusterName: z.string().min(1).optional(),
            /** IAM role for the controller's service account (IRSA). */
            serviceAccountRoleArn: text(/^arn:aws[-a-z]*:iam::[0-9]{12}:role\/.+$/, "must be an IAM role ARN").optional(),
        })
        .default({ install: false }),
});

/**
 * The Service type of an installed router's entry (ingress-nginx's controller, Envoy Gateway's proxy).
 * Both charts default to LoadBalancer, which never gets an address on kind or minikube without a
 * tunnel, so Helm's wait (and `pulumi up`) would time out; NodePort works everywhere.
 */
const serviceType = z.enum(["NodePort", "LoadBalancer", "ClusterIP"], { error: "must be NodePort, LoadBalancer or ClusterIP" }).default("NodePort");

const nginx = z.strictObject({
    ingressClass: dnsLabel.default("nginx"),
    /** Namespace of the ingress-nginx controller: the NetworkPolicy admits traffic from it. */
    namespace: dnsLabel.default("ingress-nginx"),
    install: z.boolean().default(false),
    serviceType,
});

const gateway = z.strictObject({
    /** Install Envoy Gateway (Helm), a GatewayClass and a Gateway for the app host; false attaches the route to `parentRef`. */
    install: z.boolean().default(true),
    /** Namespace of the gateway's data plane (Envoy Gateway runs its proxies in its own namespace): the NetworkPolicy admits it. */
    namespace: dnsLabel.default("envoy-gateway-system"),
    /** Name of the GatewayClass the stack installs. */
    className: dnsLabel.default("canary"),
    /** Service type of the installed gateway's Envoy proxies. */
    serviceType,
    /** The Gateway the cluster already has, which the HTTPRoute attaches to; required when `install` is false. */
    parentRef: z
        .strictObject({
            name: dnsLabel,
            namespace: dnsLabel,
            /** The listener to attach to; every listener that admits the route when unset. */
            sectionName: dnsLabel.optional(),
        })
        .optional(),
});

const PROMETHEUS_DURATION = /^[0-9]+(ms|s|m|h|d|w|y)$/;
/**
 * A duration both Go's time.ParseDuration (what Argo Rollouts reads a metric's interval with,
 * pkg/apis/rollouts/v1alpha1/analysis_types.go DurationString.Duration) and `durationSeconds` read: Go
 * has no d, w or y, and a run with one ends Error.
 */
const GO_DURATION = /^[0-9]+(ms|s|m|h)$/;
const metricName = text(METRIC_NAME, "must be a Prometheus metric name");
const ratio = (dflt: number) => z.number().gt(0, "must be a ratio above 0 and at most 1").max(1, "must be a ratio above 0 and at most 1").default(dflt);
const positive = (dflt: number) => z.number().gt(0, "must be above 0").default(dflt);
const factor = (dflt: number) => z.number().min(1, "must be a factor of at least 1").default(dflt);

/** The app's metric contract (domain/promql.ts); podinfo's by default. */
const metrics = z.strictObject({
    /** Histogram with `status` and `path` labels: requests, errors and latency. */
    duration: metricName.default(DEFAULT_METRICS.duration),
    /** `path` label values that are probes or scrapes, not user requests. */
    excludedPaths: z
        .array(text(/^[^"\\\s]+$/, "must be a path label value: no quotes, backslashes or spaces"))
        .default([...DEFAULT_METRICS.excludedPaths]),
});

/** Alert thresholds. Defaults are the seed rules' values. */
const alerts = z.strictObject({
    /** CanaryHighErrorRate: canary 5xx ratio above this for 2m. */
    errorRatio: ratio(0.05),
    /** CanaryHighLatency: canary p95 above this many seconds for 2m. */
    latencyP95Seconds: positive(1),
    /** CanaryVsStableErrorRatio: canary error ratio above this factor times stable's for 3m ... */
    errorRatioVsStable: factor(2),
    /** ... with stable's ratio taken as at least this floor, so a stable with no errors does not make any canary error fire. */
    errorRatioFloor: ratio(0.01),
    /** CanaryHigherLatency: canary p99 above this factor times stable's p99 for 5m. */
    latencyP99VsStable: factor(1.5),
    /** CanaryTrafficSplitMismatch: observed canary share this many percentage points away from the weight. */
    trafficSplitTolerance: z.number().gt(0).max(100).default(10),
    /** Requests per second (whole app) below which the traffic split is not judged: too few to measure a share. */
    minRequestRate: z.number().min(0).default(0.1),
    /** CanaryResourceUsage: a canary pod using more CPU than this factor of its request for 10m. */
    cpuOfRequest: positive(1.5),
    /** CanaryMemoryUsage: a canary pod's working set above this share of its memory limit for 5m. */
    memoryOfLimit: ratio(0.9),
    /** ErrorBudgetBurn: the availability SLO (share of non-5xx requests) over `periodDays`. */
    slo: z
        .strictObject({
            objective: z.number().gt(0, "must be between 0 and 1, e.g. 0.999").lt(1, "must be between 0 and 1, e.g. 0.999").default(0.999),
            periodDays: z.number().int().min(1).max(365).default(30),
        })
        .prefault({}),
    /** Base of every alert's runbook_url: the docs/runbooks folder of this repository as your users reach it. */
    runbookBaseUrl: z.url({ error: "must be a URL" }).default("https://github.com/example/canary/blob/main/docs/runbooks"),
});

const labelMap = z.record(
    text(/^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/, "must be a label key such as release"),
    text(/^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/, "must be a label value"),
);

const monitoring = z.strictObject({
    /** Install kube-prometheus-stack; false uses one the cluster already runs (bring your own). */
    install: z.boolean().default(true),
    /** The namespace of the monitoring stack: created when installing; where the dashboard goes and what the NetworkPolicy admits. */
    namespace: dnsLabel.default("monitoring"),
    /** The Prometheus the stage analysis queries; required when not installing. */
    prometheusUrl: z.url({ protocol: /^https?$/, error: "must be an http(s) URL such as http://prometheus-operated.monitoring:9090" }).optional(),
    /** Labels the existing Prometheus's ruleSelector needs on our PrometheusRules (e.g. release: kube-prometheus-stack). */
    ruleLabels: labelMap.default({}),
    /** Labels the existing Prometheus's serviceMonitorSelector needs on our ServiceMonitor. */
    serviceMonitorLabels: labelMap.default({}),
    /** Prometheus retention, e.g. 30d: at least the SLO period, which the error-budget panel and rules read. */
    retention: text(PROMETHEUS_DURATION, "must be a Prometheus duration such as 30d"),
    /** Prometheus's PersistentVolumeClaim: history survives a pod restart. */
    storage: z.strictObject({
        size: text(QUANTITY, "must be a Kubernetes quantity such as 50Gi"),
        /** The StorageClass; the cluster's default when unset. */
        storageClass: dnsLabel.optional(),
    }),
    // Prometheus runs inside the chart, outside the Deployment policy; a CPU limit there only throttles queries.
    prometheusResources: resourcesWithCpuLimit(quantity.optional()),
});

const alertmanager = z.strictObject({
    /** Slack channel for critical and warning alerts (with canary:slackWebhookUrl). */
    slackChannel: text(/^[#@]?[a-z0-9][-_a-z0-9]*$/, "must be a Slack channel such as #alerts").default("#alerts"),
});

export const LOG_OUTPUTS = ["loki", "elasticsearch", "stdout"] as const;

const logging = z.strictObject({
    /** Install Fluent Bit (and Loki); false leaves log shipping to what the cluster has. */
    enabled: z.boolean().default(true),
    /** Where Fluent Bit ships container logs. */
    output: z.enum(LOG_OUTPUTS, { error: `must be one of ${LOG_OUTPUTS.join(", ")}` }).default("loki"),
    elasticsearch: z
        .strictObject({
            host: z.string().min(1),
            port: z.number().int().min(1).max(65535).default(9200),
            index: z.string().min(1).default("canary"),
            tls: z.boolean().default(true),
        })
        .optional(),
    /** Size of Loki's filesystem volume (single binary; object storage is not set up here). */
    lokiStorageSize: text(QUANTITY, "must be a Kubernetes quantity such as 10Gi").default("10Gi"),
    /** Loki's volume's StorageClass; the cluster's default when unset. */
    lokiStorageClass: dnsLabel.optional(),
    /** How long Loki keeps logs; the compactor deletes older ones so the volume does not fill up. */
    lokiRetention: text(/^[0-9]+(h|d|w)$/, "must be a duration such as 168h or 14d").default("14d"),
});

/** Traces: Grafana Tempo (single binary) receiving the app's OTLP traces, a Grafana datasource for it. */
const tracing = z.strictObject({
    enabled: z.boolean().default(false),
    /** How long Tempo keeps traces (its block retention). */
    retention: text(/^[0-9]+(m|h)$/, "must be a duration in minutes or hours such as 72h").default("72h"),
    /** Tempo's PersistentVolumeClaim. */
    storageSize: text(QUANTITY, "must be a Kubernetes quantity such as 10Gi").default("10Gi"),
    /** Its StorageClass; the cluster's default when unset. */
    storageClass: dnsLabel.optional(),
});

const istio = z.strictObject({
    /** The Istio Gateway the VirtualService binds to, `<namespace>/<name>`. */
    gateway: text(/^[a-z0-9-]+\/[a-z0-9-]+$/, "must be <namespace>/<name> of an Istio Gateway").default("istio-system/ingressgateway"),
});

/** The judge node image: Node.js 22 (the version the project runs on), by exact version tag. */
export const DEFAULT_JUDGE_IMAGE = "docker.io/library/node:22.23.3-alpine";

/** A business metric judged like the errors: a pair of the app's counters and the direction that is bad. */
const ratioMetric = z
    .strictObject({
        name: dnsLabel.refine((n) => !BUILT_IN_TESTS.includes(n), `must not be one of the judge's own tests (${BUILT_IN_TESTS.join(", ")})`),
        /** The counter of events, e.g. checkouts_failed_total. */
        events: metricName,
        /** The counter they are a share of, e.g. checkouts_total. */
        total: metricName,
        /** up: a higher share is the regression (failures); down: a lower one is (conversions). */
        bad: z.enum(["up", "down"], { error: "must be up (a higher share is worse) or down (a lower share is worse)" }),
    })
    .refine((r) => r.events !== r.total, { message: "events and total must be two different counters", path: ["total"] });

/** Argo Rollouts analysis of each stage: the judge asked every interval until it decides. */
const analysis = z.strictObject({
    /** Run an AnalysisRun for every stage above 0. */
    enabled: z.boolean().default(true),
    /**
     * Install the Argo Rollouts controller (Helm); false uses one the cluster already runs, which must be
     * v1.8 or later: older ones drop the metric's `consecutiveSuccessLimit`, and a run of HOLDs ends
     * Successful at its count (the stage is then not passed: no PROMOTE).
     */
    installController: z.boolean().default(true),
    /**
     * The `--instance-id` of the controller that should run the stage's AnalysisRun: set as the run's
     * `argo-rollouts.argoproj.io/controller-instance-id` label, which such a controller filters on. Unset: no label.
     */
    controllerInstanceId: text(/^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/, "must be a Kubernetes label value (letters, digits, '-', '_', '.', at most 63) such as team-a")
        .optional(),
    /** `pulumi up` of a stage waits for its AnalysisRun to end. */
    wait: z.boolean().default(true),
    /**
     * Time between two questions to the judge; default the scrape interval: a look more often sees no
     * new counts, a look less often (1m) made the benchmark's healthy rollout about a minute longer,
     * as each stage's decision waits for the next look.
     */
    interval: text(GO_DURATION, "must be a Go duration as Argo Rollouts parses it (time.ParseDuration): a whole number with ms, s, m or h, such as 15s; not d, w or y")
        .default(`${SCRAPE_INTERVAL_SECONDS}s`),
    /** The longest a stage is judged: HOLD until then ends the run Inconclusive. */
    deadline: text(PROMETHEUS_DURATION, "must be a duration such as 30m").default("30m"),
    /** Business metrics judged with the errors and latency: a PROMOTE waits for them, a regression rolls back. */
    ratios: z
        .array(ratioMetric)
        .refine((rs) => new Set(rs.map((r) => r.name)).size === rs.length, "each ratio needs its own name")
        .default([]),
    /** The stage's attempt: a new value starts a new AnalysisRun for the same stage (`rollout retry`). */
    attempt: z.number().int("must be a whole number").min(0, "must be 0 or more").default(0),
    /** The judge service (`rollout serve`) the run asks. */
    judge: z
        .strictObject({
            /** Run the judge in the app's namespace: a Node image with the judge's code in a ConfigMap. */
            install: z.boolean().default(true),
            /** The node image the installed judge runs (any Node.js 22+; pin by digest with image@sha256:...). */
            image: image.default(DEFAULT_JUDGE_IMAGE),
            /** A judge that runs elsewhere, its base URL; required when `install` is false. */
            url: z.url({ protocol: /^https?$/, error: "must be an http(s) URL such as http://judge.example:8080" }).optional(),
        })
        .prefault({}),
});

/** Traffic during each stage's analysis: a bounded Job per stage above 0 sending requests through the router. */
const loadTest = z.strictObject({
    enabled: z.boolean().default(false),
    /** Requests per second. */
    rate: z.number().gt(0, "must be above 0 requests per second").max(10_000, "must be at most 10000 requests per second").default(10),
    /** How long each stage's Job sends; default: the analysis deadline. */
    duration: text(PROMETHEUS_DURATION, "must be a duration such as 30m").optional(),
    path: httpPath.default("/"),
    /** More request headers (e.g. x-canary: always to load the canary only). */
    headers: z.record(text(/^[A-Za-z0-9-]+$/, "must be an HTTP header name"), z.string()).default({}),
    /**
     * The router's entry as the cluster reaches it; derived for an installed Envoy Gateway or
     * ingress-nginx, required otherwise.
     */
    target: z.url({ protocol: /^https?$/, error: "must be an http(s) URL such as https://envoy.gateway-system.svc:443" }).optional(),
});

const tls = z.strictObject({
    /** Issue a certificate for the app host with cert-manager (nginx router, or the Gateway the stack installs). */
    enabled: z.boolean().default(true),
    /** Install cert-manager (Helm); false uses one the cluster already runs (its CRDs and webhook). */
    installCertManager: z.boolean().default(true),
    issuer: z.enum(["selfsigned", "acme"], { error: "must be selfsigned or acme" }),
    /** ACME account e-mail; required with issuer acme. */
    acmeEmail: z.email({ error: "must be an e-mail address" }).optional(),
    acmeServer: z.url().default("https://acme-v02.api.letsencrypt.org/directory"),
});

/** Stack-to-stack promotion: this stack may only run a canary that another stack has promoted. */
const promotion = z.strictObject({
    /** Require the canary version to be the promoted version of `stack`. */
    required: z.boolean().default(false),
    /** The stack whose `promotedVersion` output gates this one; default `<org>/canary/dev`. */
    stack: text(/^[^/\s]+\/[^/\s]+\/[^/\s]+$/, "must be a fully qualified stack name, <org>/<project>/<stack>").optional(),
    /** Run an unpromoted canary anyway: logged as a warning and exported as `promotionCheck`. */
    allowUnverified: z.boolean().default(false),
    /**
     * Canary requests each compared stage of the gating stack must have judged. Default 1,000: about half
     * the requests Wald's test expects to promote a healthy canary in the benchmark's setting (1,881 at
     * 0.5% errors, `npm run bench`), so a PROMOTE on a handful of requests does not carry a version on.
     */
    minCanaryRequests: z.number().int("must be a whole number").min(0, "must be 0 or more").default(1000),
});

export const ROUTERS = ["alb", "gateway", "nginx", "istio"] as const;

export const stackConfigSchema = z.strictObject({
    environment: z.enum(ENVIRONMENTS, { error: `must be one of ${ENVIRONMENTS.join(", ")}` }),
    weight: z
        .number({ error: "must be a number: 0 or one of canary:stages" })
        .min(0, "must be 0 to 100: 0 or one of canary:stages")
        .max(100, "must be 0 to 100: 0 or one of canary:stages")
        .default(0),
    stages: z
        .array(z.number().int("must be a whole percent").min(1, "must be 1 to 100").max(100, "must be 1 to 100"))
        .min(1)
        .default([...DEFAULT_STAGES]),
    allowStageSkip: z.boolean().default(false),
    pinnedImages: z.boolean(),
    router: z.enum(ROUTERS, { error: `must be one of ${ROUTERS.join(", ")}` }),
    app,
    alb: alb.prefault({}),
    nginx: nginx.prefault({}),
    gateway: gateway.prefault({}),
    metrics: metrics.prefault({}),
    alerts: alerts.prefault({}),
    monitoring,
    alertmanager: alertmanager.prefault({}),
    logging: logging.prefault({}),
    tracing: tracing.prefault({}),
    istio: istio.prefault({}),
    analysis: analysis.prefault({}),
    tls,
    loadTest: loadTest.prefault({}),
    promotion: promotion.prefault({}),
    slackWebhookUrl: z.url({ protocol: /^https$/, error: "must be an https:// Slack incoming-webhook URL" }).optional(),
    pagerdutyRoutingKey: text(/^[A-Za-z0-9]{32}$/, "must be a 32-character PagerDuty Events API v2 integration key").optional(),
    grafanaAdminPassword: z.string().min(16, "must be at least 16 characters").optional(),
});

/** Keys whose values are secrets: set with `pulumi config set --secret`, never shown in an error message. */
export const SECRET_KEYS: ReadonlySet<string> = new Set(["slackWebhookUrl", "pagerdutyRoutingKey", "grafanaAdminPassword"]);

type Parsed = z.infer<typeof stackConfigSchema>;

export interface TrackConfig {
    readonly image: string;
    readonly version: string;
    readonly replicas: number;
    readonly resources: Parsed["app"]["stable"]["resources"];
}

export type AlbConfig = Parsed["alb"];
export type NginxConfig = Parsed["nginx"];
export type GatewayConfig = Parsed["gateway"];

/** Whether the stack installs the router's entry (Envoy Gateway's proxies, ingress-nginx's controller), whose in-cluster address it then knows. */
export function installsRouterEntry(c: Pick<Parsed, "router" | "gateway" | "nginx">): boolean {
    return (c.router === "gateway" && c.gateway.install) || (c.router === "nginx" && c.nginx.install);
}

/**
 * Whether the stack issues the app host's certificate with cert-manager: for ingress-nginx, and for a
 * Gateway it installs (an existing Gateway's listeners and certificates are its owner's).
 */
export function usesCertManager(c: Pick<Parsed, "router" | "gateway" | "tls">): boolean {
    return c.tls.enabled && (c.router === "nginx" || (c.router === "gateway" && c.gateway.install));
}

/** The validated, resolved stack config the program builds from. */
export interface StackConfig extends Omit<Parsed, "app"> {
    readonly app: Omit<Parsed["app"], "stable" | "canary"> & {
        readonly stable: TrackConfig;
        readonly canary: TrackConfig;
    };
    /** False after a promotion, when the canary is the stable version: it then runs no pods. */
    readonly canaryDiffers: boolean;
}

/** A problem with one key: `path` is below `canary:`, e.g. `["app", "stable", "image"]`. */
export interface ConfigIssue {
    readonly path: (string | number)[];
    readonly message: string;
}

/** Cross-key rules that one field's schema cannot see. */
export function crossKeyIssues(c: Parsed): ConfigIssue[] {
    const issues: ConfigIssue[] = [];
    const stages = c.stages;
    if (stages.some((s, i) => i > 0 && s <= stages[i - 1]) || stages[stages.length - 1] !== 100) {
        issues.push({ path: ["stages"], message: "must be strictly increasing whole percents ending in 100, e.g. [5, 25, 50, 100]" });
    }
    if (c.weight !== 0 && !stages.includes(c.weight) && c.weight >= 0 && c.weight <= 100) {
        issues.push({ path: ["weight"], message: `must be 0 or one of canary:stages [${stages.join(", ")}]` });
    }
    if (c.weight > 0 && c.app.canary.image === undefined) {
        issues.push({ path: ["app", "canary", "image"], message: `is required while canary:weight is ${c.weight} (above 0): set the canary image` });
    }
    for (const t of ["stable", "canary"] as const) {
        const img = c.app[t].image;
        if (img === undefined) continue;
        if (c.pinnedImages && !isPinned(img)) {
            issues.push({ path: ["app", t, "image"], message: `must be pinned in environment ${c.environment}: a tag other than latest, or a digest` });
        }
        if (c.app[t].version === undefined && versionOf(img) === undefined) {
            issues.push({ path: ["app", t, "version"], message: "is required when the image has neither tag nor digest" });
        }
    }
    if (c.logging.output === "elasticsearch" && c.logging.elasticsearch === undefined) {
        issues.push({ path: ["logging", "elasticsearch"], message: "is required when canary:logging.output is elasticsearch: set host (and port, index)" });
    }
    if (c.monitoring.install && durationSeconds(c.monitoring.retention) < c.alerts.slo.periodDays * 86_400) {
        issues.push({
            path: ["monitoring", "retention"],
            message: `must cover the SLO period (canary:alerts.slo.periodDays = ${c.alerts.slo.periodDays} days): the error-budget panel and burn rates read that far back`,
        });
    }
    if (c.analysis.enabled && !c.analysis.judge.install && c.analysis.judge.url === undefined) {
        issues.push({ path: ["analysis", "judge", "url"], message: "is required when canary:analysis.judge.install is false: the judge (rollout serve) the stage's analysis asks" });
    }
    if (c.analysis.judge.install && c.analysis.judge.url !== undefined) {
        issues.push({ path: ["analysis", "judge", "url"], message: "is used only when canary:analysis.judge.install is false: the installed judge is asked" });
    }
    if (c.analysis.enabled && durationSeconds(c.analysis.deadline) < 2 * durationSeconds(c.analysis.interval)) {
        issues.push({ path: ["analysis", "deadline"], message: `must be at least two intervals (canary:analysis.interval = ${c.analysis.interval}): the judge needs more than one look` });
    }
    if (c.loadTest.enabled && c.loadTest.target === undefined && !installsRouterEntry(c)) {
        issues.push({ path: ["loadTest", "target"], message: `is required when canary:loadTest.enabled is true with router ${c.router}${c.router === "gateway" || c.router === "nginx" ? " not installed by the stack" : ""}: the router's entry as the cluster reaches it` });
    }
    if (!c.monitoring.install) {
        if (c.analysis.enabled && c.monitoring.prometheusUrl === undefined) {
            issues.push({ path: ["monitoring", "prometheusUrl"], message: "is required when canary:monitoring.install is false: the Prometheus the stage analysis queries" });
        }
        // Receivers and Grafana's login belong to the monitoring stack this program would install.
        for (const key of ["slackWebhookUrl", "pagerdutyRoutingKey", "grafanaAdminPassword"] as const) {
            if (c[key] !== undefined) issues.push({ path: [key], message: "is used only when canary:monitoring.install is true: the existing stack's Alertmanager and Grafana keep their own" });
        }
    }
    if (usesCertManager(c) && c.tls.issuer === "acme" && c.tls.acmeEmail === undefined) {
        issues.push({ path: ["tls", "acmeEmail"], message: "is required when canary:tls.issuer is acme" });
    }
    if (c.router === "gateway") {
        if (!c.gateway.install && c.gateway.parentRef === undefined) {
            issues.push({ path: ["gateway", "parentRef"], message: "is required when canary:gateway.install is false: the Gateway (name, namespace) the HTTPRoute attaches to" });
        }
        if (c.gateway.install && c.gateway.parentRef !== undefined) {
            issues.push({ path: ["gateway", "parentRef"], message: "is used only when canary:gateway.install is false: the installed Gateway is the route's parent" });
        }
    }
    if (c.router === "alb") {
        for (const key of ["vpcId", "subnetIds"] as const) {
            if (c.alb[key] === undefined) {
                issues.push({ path: ["alb", key], message: "is required when canary:router is alb" });
            }
        }
        if (c.alb.certificateArn === undefined && c.alb.hostedZoneId === undefined) {
            issues.push({ path: ["alb", "certificateArn"], message: "is required when canary:router is alb (or set canary:alb.hostedZoneId to create one)" });
        }
        if (c.alb.controller.install) {
            for (const key of ["clusterName", "serviceAccountRoleArn"] as const) {
                if (c.alb.controller[key] === undefined) {
                    issues.push({ path: ["alb", "controller", key], message: "is required when canary:alb.controller.install is true" });
                }
            }
        }
    }
    return issues;
}

function resolveTrack(t: Parsed["app"]["stable"]): TrackConfig {
    return { ...t, version: t.version ?? (versionOf(t.image) as string) };
}

/** Fills in derived values: versions from image tags, and the canary as stable when it has no image. */
export function resolve(c: Parsed): StackConfig {
    const stable = resolveTrack(c.app.stable);
    const canaryImage = c.app.canary.image;
    const canary = canaryImage === undefined ? { ...stable, replicas: 0 } : resolveTrack({ ...c.app.canary, image: canaryImage });
    const canaryDiffers = canary.image !== stable.image || canary.version !== stable.version;
    return {
        ...c,
        app: { ...c.app, stable, canary: canaryDiffers ? canary : { ...canary, replicas: 0 } },
        canaryDiffers,
    };
}

/** Zod's issue, in the words of stack config: one issue per key, "is required" for a missing one. */
function toConfigIssues(i: z.core.$ZodIssue): ConfigIssue[] {
    const path = i.path.map((p) => (typeof p === "symbol" ? String(p) : p));
    if (i.code === "unrecognized_keys") {
        return i.keys.map((key) => ({ path: [...path, key], message: "is not a known key: check its spelling (README, Stack config)" }));
    }
    // A record key that fails its schema: zod reports "Invalid key in record"; its own message says why.
    if (i.code === "invalid_key" && i.issues.length > 0) return [{ path, message: i.issues[0].message }];
    return [{ path, message: i.message }];
}

const TYPE_WORDS: Readonly<Record<string, string>> = {
    string: "a string",
    number: "a number",
    int: "a whole number",
    boolean: "true or false",
    array: "a list",
    object: "an object (keys below it)",
    record: "an object (keys below it)",
};
const FORMAT_WORDS: Readonly<Record<string, string>> = { url: "a URL such as https://example.com", email: "an e-mail address" };

const bound = (what: "at least" | "at most" | "above" | "below", origin: string, n: unknown) =>
    origin === "array" ? `must list ${what} ${n}` : origin === "string" ? `must be ${what} ${n} character${n === 1 ? "" : "s"}` : `must be ${what} ${n}`;

/**
 * The words for a refusal whose schema gives none of its own (a schema's message always wins): zod's
 * defaults ("Invalid input: expected string, received number") are a validator's words, not a
 * config's, and the README promises `key = value: what is allowed`.
 */
function configMessage(i: z.core.$ZodRawIssue): string | undefined {
    switch (i.code) {
        case "invalid_type": {
            const what = TYPE_WORDS[i.expected] ?? i.expected;
            return i.input === undefined ? `is required (${what})` : `must be ${what}`;
        }
        case "too_small":
            return bound(i.inclusive ? "at least" : "above", i.origin, i.minimum);
        case "too_big":
            return bound(i.inclusive ? "at most" : "below", i.origin, i.maximum);
        case "invalid_format":
            return `must be ${FORMAT_WORDS[i.format] ?? `in the ${i.format} format`}`;
        case "invalid_value":
            return `must be one of ${i.values.map((v) => JSON.stringify(v)).join(", ")}`;
        default:
            return undefined;
    }
}

export type ParseResult = { ok: true; config: StackConfig } | { ok: false; issues: ConfigIssue[] };

export function parseStackConfig(raw: unknown): ParseResult {
    const parsed = stackConfigSchema.safeParse(raw, { error: configMessage });
    if (!parsed.success) {
        return { ok: false, issues: parsed.error.issues.flatMap(toConfigIssues) };
    }
    const issues = crossKeyIssues(parsed.data);
    return issues.length > 0 ? { ok: false, issues } : { ok: true, config: resolve(parsed.data) };
}
