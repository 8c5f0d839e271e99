/**
 * The routers' own request metrics: the second source of the evidence (`canary:metrics.source`), beside
 * the app's. A canary that crashes, hangs or refuses connections counts nothing in its own metrics, while
 * the router in front of it answers the users 502/503/504 and counts them per backend: what users saw.
 *
 * Router series carry no `track` label. Each track is a backend the router names from the stack's own
 * names (the namespace, the app, the track's Service `<app>-<track>`, the port), so `backend` gives the
 * label matchers of one track's backend, and domain/promql.ts relabels each track's series into the
 * `{namespace, app, track}` shape the app's series have: the judge, the dashboard, the rules and
 * `rollout analyze`/`replay` read either source through the same builders.
 *
 * Every name below is the router's own, from its source or docs (cited per router). The series must keep
 * the labels the router exports: a Prometheus scrape that attaches its own `namespace` or `service` target
 * label (a prometheus-operator ServiceMonitor does both) renames the router's to `exported_namespace` /
 * `exported_service` unless it honours the exported labels (`honorLabels: true`, `honor_labels: true`).
 * No selector reads `job` or `instance`: any scrape of the router will do, and several replicas add up.
 */
import { type PodTrack, trackName, TRACKS } from "./tracks";

/** The routers whose metrics the gate can read, by the name their own project uses. */
export const ROUTER_SOURCES = ["traefik", "envoy-gateway", "istio", "ingress-nginx", "alb"] as const;
export type RouterSource = (typeof ROUTER_SOURCES)[number];
/** `canary:metrics.source`: the app's own request histogram (the default), or a router's counts. */
export const METRIC_SOURCES = ["app", ...ROUTER_SOURCES] as const;
export type MetricSource = (typeof METRIC_SOURCES)[number];
export const DEFAULT_SOURCE: MetricSource = "app";

/**
 * The stack's `canary:router` each router source stands behind: Traefik and Envoy Gateway implement
 * the Gateway API the `gateway` router writes its HTTPRoute for; the others are the router itself.
 */
export const SOURCE_ROUTER: Readonly<Record<RouterSource, "gateway" | "istio" | "nginx" | "alb">> = {
    traefik: "gateway",
    "envoy-gateway": "gateway",
    istio: "istio",
    "ingress-nginx": "nginx",
    alb: "alb",
};

/** One track's backend, as the stack names it: the route sends `track`'s share to the Service `<app>-<track>` on `port`. */
export interface TrackBackend {
    readonly namespace: string;
    readonly app: string;
    readonly track: PodTrack;
    /** The Service's port (`canary:app.port`). */
    readonly port: number;
}

/** How a router's series tell the errors from the requests. */
export type RouterErrors =
    /** A status label on the requests' own series, and a PromQL `=~` regex over its values. */
    | { readonly statusLabel: string; readonly errorStatus: string }
    /** Series of their own (CloudWatch has one metric per status class): the errors are their sum. */
    | { readonly series: readonly string[] };

export interface RouterMetrics {
    /** The series of the requests the router sent a backend: a counter, or a per-period sum (`periodSeconds`). */
    readonly requests: string;
    readonly errors: RouterErrors;
    /** The latency histogram (`_bucket`) and its unit in seconds; absent: the router has none, the latency is unjudged. */
    readonly histogram?: { readonly name: string; readonly secondsPerUnit: number };
    /**
     * Set when the series are no counters but CloudWatch's per-period sums as an exporter serves them: each
     * sample is the sum over the last period of this many seconds, served again at every scrape of the period.
     */
    readonly periodSeconds?: number;
    /** The label matchers of one track's backend, or undefined when the router never sends that track traffic. */
    readonly backend: (b: TrackBackend) => readonly string[] | undefined;
}

/** A label value as a PromQL string literal: JSON's escapes are PromQL's (Go's) for `"`, `\` and control characters. */
export const quoted = (v: string) => JSON.stringify(v);

/**
 * Traefik's `provider.Normalize` (traefik/traefik v3.6.12 pkg/provider/configuration.go: the name split
 * at every rune that is neither a letter nor a number, the parts joined by `-`).
 */
export function traefikNormalize(name: string): string {
    return name
        .split(/[^\p{L}\p{N}]+/u)
        .filter((p) => p !== "")
        .join("-");
}

/**
 * The name Traefik's Gateway API provider gives a Service backendRef's load balancer, qualified as its
 * metrics label it (traefik/traefik v3.6.12): pkg/provider/kubernetes/gateway/httproute.go `loadService`,
 * `provider.Normalize(namespace + "-" + name + "-http")` then `provider.Normalize(serviceName + "-" + port)`;
 * the provider's name `kubernetesgateway` (pkg/provider/kubernetes/gateway/kubernetes.go `providerName`)
 * appended as `@kubernetesgateway` (pkg/server/provider/provider.go `MakeQualifiedName`: element + "@" +
 * provider). A weighted rule's own service (`<routeKey>-wrr`, `loadWRRService`) only picks a backend; the
 * requests are counted under each backend's name, per server (pkg/server/service/service.go: the
 * `ServiceMetricsHandler` wraps each server's proxy with this qualified name).
 */
export function traefikServiceName(namespace: string, service: string, port: number): string {
    return `${traefikNormalize(`${traefikNormalize(`${namespace}-${service}-http`)}-${port}`)}@kubernetesgateway`;
}

/**
 * Envoy Gateway's cluster for a backendRef of the stack's HTTPRoute `<app>` (rule 0: stable then canary,
 * components/routing/gatewayRouting.ts `httpRouteRules`) and of the preview route `<app>-preview` (its one
 * backend). Envoy Gateway names a route rule's cluster `httproute/<namespace>/<name>/rule/<n>` and splits it
 * into one cluster per backendRef, `.../rule/<n>/backend/<i>`, only when a backendRef has filters
 * (envoyproxy/gateway v1.9.0 internal/ir/xds.go `NeedsClusterPerSetting`; github.com/envoyproxy/gateway/issues/7008;
 * per-backendRef clusters by default are asked for in issues/6742 and issues/7017). So with this source the
 * stack's weighted route gives each backendRef a filter (`perBackendClusters`); without one both tracks
 * would share one cluster and no series would tell them apart.
 */
export function envoyGatewayCluster(b: TrackBackend): string {
    return b.track === "stable" || b.track === "canary" ? `httproute/${b.namespace}/${b.app}/rule/0/backend/${TRACKS.indexOf(b.track)}` : `httproute/${b.namespace}/${trackName(b.app, b.track)}/rule/0`;
}

/** The YACE tags (`exportedTagsOnMetrics`) the ALB's target groups carry, so their CloudWatch series name the track (components/routing/albRouting.ts). */
export const ALB_TARGET_GROUP_TAGS = { namespace: "canary_namespace", app: "canary_app", track: "canary_track" } as const;

export const ROUTER_METRICS: Readonly<Record<RouterSource, RouterMetrics>> = {
    /**
     * traefik/traefik v3.6.12 pkg/observability/metrics/prometheus.go: `traefik_service_requests_total` and
     * the histogram `traefik_service_request_duration_seconds`, both with labels `code`, `method`,
     * `protocol`, `service` (with `addServicesLabels`, true by default: pkg/observability/types/metrics.go
     * `SetDefaults`, which also sets the buckets 0.1, 0.3, 1.2, 5). A refused or reset connection to the
     * backend is answered 502 (pkg/proxy/httputil/proxy.go `ComputeStatusCode`: a `net.Error` that is no
     * timeout; a timeout is 504) inside the server's metrics handler, so it is counted with `code="502"`
     * under the backend's service. A backend with no ready server at all is answered 503 by the load
     * balancer before any server's handler: that one is not in the service's counts.
     */
    traefik: {
        requests: "traefik_service_requests_total",
        errors: { statusLabel: "code", errorStatus: "5.." },
        histogram: { name: "traefik_service_request_duration_seconds", secondsPerUnit: 1 },
        backend: (b) => [`service=${quoted(traefikServiceName(b.namespace, trackName(b.app, b.track), b.port))}`],
    },
    /**
     * Envoy's cluster statistics in Prometheus form (envoyproxy/envoy docs, "Cluster statistics" and the
     * admin `/stats/prometheus`; Envoy Gateway's proxies serve them on :19001/stats/prometheus):
     * `envoy_cluster_upstream_rq_xx` per response code class (label `envoy_response_code_class`, `5` for
     * 5xx, including the 503s Envoy answers itself when the upstream connection fails or resets:
     * envoyproxy/envoy source/common/router/router.cc, `Filter::onUpstreamReset` charges that local
     * reply's code to the cluster with `chargeUpstreamCode` before `onUpstreamAbort` sends it) and the histogram
     * `envoy_cluster_upstream_rq_time` in milliseconds, both labelled `envoy_cluster_name`.
     */
    "envoy-gateway": {
        requests: "envoy_cluster_upstream_rq_xx",
        errors: { statusLabel: "envoy_response_code_class", errorStatus: "5" },
        histogram: { name: "envoy_cluster_upstream_rq_time", secondsPerUnit: 0.001 },
        backend: (b) => [`envoy_cluster_name=${quoted(envoyGatewayCluster(b))}`],
    },
    /**
     * Istio's standard metrics (istio.io docs/reference/config/metrics): `istio_requests_total` and
     * `istio_request_duration_milliseconds`, labelled `reporter`, `response_code`,
     * `destination_workload`, `destination_workload_namespace`, `destination_service_name`, .... The
     * ingress gateway reports its side as `reporter="source"`; the destination workload is the track's
     * Deployment `<app>-<track>` (the VirtualService's subsets are of one Service, so the service labels
     * cannot tell the tracks apart).
     */
    istio: {
        requests: "istio_requests_total",
        errors: { statusLabel: "response_code", errorStatus: "5.." },
        histogram: { name: "istio_request_duration_milliseconds", secondsPerUnit: 0.001 },
        backend: (b) => ['reporter="source"', `destination_workload_namespace=${quoted(b.namespace)}`, `destination_workload=${quoted(trackName(b.app, b.track))}`],
    },
    /**
     * kubernetes/ingress-nginx internal/ingress/metric/collectors/socket.go: `nginx_ingress_controller_requests`
     * and the histogram `nginx_ingress_controller_request_duration_seconds`, labelled `status` (`5xx` with
     * `--report-status-classes`, which `5..` matches too), `method`, `path`, `namespace`, `ingress`,
     * `service`, `canary`. rootfs/etc/nginx/lua/monitor.lua sets `ingress` and `service` from the location
     * (the main Ingress `<app>` and its Service, for canary requests too) and `canary` from
     * `proxy_alternative_upstream_name`: the canary Ingress's upstream when the request went to it,
     * `<namespace>-<service>-<port name>` (internal/ingress/controller/util.go `upstreamName`; the canary
     * Ingress names port `http`), empty otherwise. The nginx router has no preview (the canary header is
     * refused with it).
     */
    "ingress-nginx": {
        requests: "nginx_ingress_controller_requests",
        errors: { statusLabel: "status", errorStatus: "5.." },
        histogram: { name: "nginx_ingress_controller_request_duration_seconds", secondsPerUnit: 1 },
        backend: (b) => {
            const scope = [`namespace=${quoted(b.namespace)}`, `ingress=${quoted(b.app)}`];
            if (b.track === "stable") return [...scope, 'canary=~"|-"'];
            return b.track === "canary" ? [...scope, `canary=${quoted(`${b.namespace}-${trackName(b.app, "canary")}-http`)}`] : undefined;
        },
    },
    /**
     * The target groups' CloudWatch metrics (AWS/ApplicationELB, docs.aws.amazon.com elasticloadbalancing
     * application/load-balancer-cloudwatch-metrics.html: `RequestCount`, `HTTPCode_Target_5XX_Count` and
     * `TargetConnectionErrorCount`, the connections the ALB could not open to a target, for which it
     * answers 502, all with the `TargetGroup` dimension) as prometheus-community/yet-another-cloudwatch-exporter
     * names them: `aws_applicationelb_<metric in snake case>_<statistic>` with a `dimension_<Name>` label per
     * dimension and a `tag_<Key>` label per tag listed in `exportedTagsOnMetrics`. CloudWatch keeps no
     * latency histogram (`TargetResponseTime` is an average): the ALB source judges the errors only.
     */
    alb: {
        requests: "aws_applicationelb_request_count_sum",
        errors: { series: ["aws_applicationelb_httpcode_target_5_xx_count_sum", "aws_applicationelb_target_connection_error_count_sum"] },
        periodSeconds: 60,
        backend: (b) => [`tag_${ALB_TARGET_GROUP_TAGS.namespace}=${quoted(b.namespace)}`, `tag_${ALB_TARGET_GROUP_TAGS.app}=${quoted(b.app)}`, `tag_${ALB_TARGET_GROUP_TAGS.track}=${quoted(b.track)}`],
    },
};

export const isRouterSource = (s: string): s is RouterSource => (ROUTER_SOURCES as readonly string[]).includes(s);
