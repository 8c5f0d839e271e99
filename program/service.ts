/**
 * `CanaryService`: one web service released in stages, as a component a Pulumi program builds. The
 * stack program (`index.ts`) and a team's own program build it the same way, from the same config
 * schema, with the same checks; docs/library.md shows a team's program.
 */
import * as pulumi from "@pulumi/pulumi";
import type { AlbRouting } from "../components/routing/albRouting";
import { CanaryAlerts } from "../components/observability/alerts";
import { GatewayRouting, gatewayHttp01Solver, gatewayPeers, installedGateway } from "../components/routing/gatewayRouting";
import { IstioRouting, istioPeers } from "../components/routing/istioRouting";
import { ProgressiveDelivery } from "../components/delivery/progressiveDelivery";
import { ingressHttp01Solver, Tls, tlsSecretName } from "../components/routing/tls";
import { CanaryDashboard } from "../components/observability/dashboard";
import { Logging } from "../components/observability/logging";
import { stageObjectName } from "../components/delivery/analysis";
import { LoadTest, loadTarget } from "../components/delivery/loadTest";
import { otlpEndpoint, Tracing, tracingEnv } from "../components/observability/tracing";
import { MonitoringStack, prometheusUrl } from "../components/observability/monitoring";
import { LOGGING_NAMESPACE, Namespaces } from "../components/platform/namespaces";
import { NginxRouting, nginxPeers } from "../components/routing/nginxRouting";
import { canaryHeader, headerLine, PreviewRoute } from "../components/routing/router";
import { kubernetesProvider } from "../components/platform/kubernetesProvider";
import { CanaryWorkload } from "../components/delivery/workload";
import { checkTransition, splitFor, stageEntry } from "../domain/stages";
import { checkClusterTarget, ClusterTarget, rendersOnly } from "../stacks/cluster";
import { buildStackConfig, ConfigError } from "../stacks/config";
import { STACK_NAME, StackConfig, StackConfigInput, usesCertManager } from "../stacks/schema";
import { PLATFORM_OUTPUT_NAMES, platformConflicts, PlatformOutputs, platformOutputsProblem, withPlatform } from "../stacks/platform";
import { formatIssues } from "../stacks/validate";
import { CANARY_EVIDENCE_OUTPUT, CANARY_IMAGE_OUTPUT, CANARY_VERSION_OUTPUT, Previous, PROMOTION_EVIDENCE_OUTPUT, PROMOTION_GATES_OUTPUT, readPrevious, selfStackName, STAGE_ENTRY_OUTPUT, STAGE_OUTPUT, STAGE_RUN_OUTPUT } from "../stacks/previous";
import { now } from "../stacks/clock";
import { carriedLlrs, evidenceFor, withStage, withUpstream } from "../domain/evidence";
import { Admission, checkPromotion, judgedCanary, pinnedEvidence, PROMOTED_OUTPUT, selfGateRefusals } from "../stacks/promotion";
import { stageGate } from "../stacks/gate";

/** The secrets the monitoring stack a service installs uses (unset: none, and Grafana's password generated). */
export interface ServiceSecrets {
    readonly slackWebhookUrl?: pulumi.Input<string>;
    readonly pagerdutyRoutingKey?: pulumi.Input<string>;
    readonly grafanaAdminPassword?: pulumi.Input<string>;
}

export interface CanaryServiceArgs {
    /**
     * The service's settings: the keys of the stack config (docs/configuration.md) without the project's
     * prefix, e.g. `{ weight: 5, app: { name: "checkout", ... } }`. Validated by the same schema, with the
     * same environment defaults and one-line errors, as a stack's `Pulumi.<stack>.yaml`.
     */
    readonly config: StackConfigInput;
    /** The cluster its Kubernetes objects go to (the `kubernetes:*` keys); unset: the ambient kube context, refused for prod. */
    readonly cluster?: ClusterTarget;
    readonly secrets?: ServiceSecrets;
}

/** What `CanaryService.create` checked, before any resource exists: the config, the stage move, the promotion. */
export interface CheckedService {
    readonly config: StackConfig;
    readonly cluster: ClusterTarget;
    readonly secrets: ServiceSecrets;
    readonly previous: Previous;
    readonly admission: Admission;
    /**
     * The alb router's module, loaded only for router alb: @pulumi/aws is by far the largest package
     * here, costing more to load than the rest together (docs/engine.md, "The program's cost").
     */
    readonly albRouting?: typeof import("../components/routing/albRouting");
}

/**
 * A service's raw config with its platform's values, read from the platform stack's outputs through a
 * StackReference; a key of the platform's set here too, or a platform stack without its outputs, is
 * refused naming it.
 */
async function onPlatform(project: string, raw: Record<string, unknown>, platform: string): Promise<Record<string, unknown>> {
    const ref = new pulumi.StackReference("platform", { name: platform });
    const values = Object.fromEntries(await Promise.all(PLATFORM_OUTPUT_NAMES.map(async (n) => [n, (await ref.getOutputDetails(n)).value] as const)));
    const problem = platformOutputsProblem(values);
    if (problem) throw new ConfigError(`${project}:platform = ${JSON.stringify(platform)}: the platform stack ${problem}`);
    const outputs = values as unknown as PlatformOutputs;
    const conflicts = platformConflicts(raw, platform, outputs);
    if (conflicts.length > 0) throw new ConfigError(formatIssues(project, raw, conflicts));
    return withPlatform(raw, outputs);
}

/**
 * Validates the config and checks the stage move and the promotion against the stack's last outputs
 * (through StackReferences): everything that can be wrong fails here, as a ConfigError naming the key,
 * before a resource is registered.
 */
export async function checkService(args: CanaryServiceArgs): Promise<CheckedService> {
    const project = pulumi.getProject();
    const raw = args.config as Record<string, unknown>;
    // On a platform (`canary:platform`), its outputs set the add-ons' keys, read before anything is validated.
    const platform = typeof raw.platform === "string" && STACK_NAME.test(raw.platform) ? raw.platform : undefined;
    const config = buildStackConfig(project, pulumi.getStack(), platform ? await onPlatform(project, raw, platform) : raw);
    const cluster = args.cluster ?? {};
    const refusals = [...checkClusterTarget(config.environment, cluster), ...selfGateRefusals(config, selfStackName())];
    if (refusals.length > 0) throw new ConfigError(refusals.join("\n"));
    const previous = await readPrevious();
    if (!config.allowStageSkip) {
        const skip = checkTransition(previous.applied, config.weight, config.app.canary.version, config.stages, project);
        if (skip) throw new ConfigError(skip);
    }
    // prod runs only what its gate (dev, or the wave before) promoted; checked before anything is created.
    const admission = await checkPromotion(config, previous.gates);
    const albRouting = config.router === "alb" ? await import("../components/routing/albRouting") : undefined;
    return { config, cluster, secrets: args.secrets ?? {}, previous, admission, albRouting };
}

/** A secret given as a plain value stays a secret in the state and the Secrets it goes to. */
export const asSecret = (v: pulumi.Input<string> | undefined) => (v === undefined ? undefined : pulumi.secret(v));

/**
 * The objects of this component were the stack's own, top-level, before it existed (0.1): the alias keeps
 * their URNs, so a stack made then is updated in place, never replaced. Their descendants inherit it.
 */
const TOP_LEVEL_BEFORE = [{ parent: pulumi.rootStackResource }];

/**
 * One service's canary: its tracks, the router's weights for the stage, the stage's analysis, alerts,
 * the dashboard and, unless a platform stack provides them (`canary:platform`), the add-ons. One per
 * stack: its `outputs` are the stack's record of the stage, which the next `up` reads back, so the
 * program exports them as its stack outputs.
 */
export class CanaryService extends pulumi.ComponentResource {
    /** The stack outputs: the stage record the next run's checks read, the evidence prod's gate reads, the URLs. */
    public readonly outputs: Record<string, unknown>;

    /** Checks (`checkService`), then builds: the constructor is given only a checked service. */
    static async create(name: string, args: CanaryServiceArgs, opts?: pulumi.ComponentResourceOptions): Promise<CanaryService> {
        return new CanaryService(name, await checkService(args), opts);
    }

    constructor(name: string, checked: CheckedService, opts?: pulumi.ComponentResourceOptions) {
        super("canary:index:CanaryService", name, {}, opts);
        const { config: cfg, cluster, secrets, previous, admission, albRouting } = checked;
        const { app } = cfg;
        const child = { parent: this, aliases: TOP_LEVEL_BEFORE };
        // Rendered manifests are applied by something else (GitOps): nothing runs the stage's AnalysisRun
        // here, so `pulumi up` cannot wait for a verdict. The run is rendered for the cluster to start, the
        // stage is recorded as rendered and unverified (`stageGate`), and it adds no evidence, so it can
        // never satisfy prod's promotion check.
        const rendering = rendersOnly(cluster);
        // The external judge's token leaves the config only as a secret Output, into its Secret: the rest of
        // the analysis config (the run's spec, the outputs) never holds it.
        const { token: judgeToken, ...judge } = cfg.analysis.judge;
        const analysis = { ...cfg.analysis, judge, ...(rendering ? { wait: false } : {}) };
        // Every Kubernetes resource goes to the cluster the stack names, through this provider.
        const k8s = { ...child, providers: { kubernetes: kubernetesProvider("k8s", cluster, child) } };

        // Bring your own: with an add-on's install switch off, the program creates only its own objects
        // against the CRDs the cluster already has.
        const namespaces = new Namespaces(
            "ns",
            { app: app.namespace, monitoring: cfg.monitoring.install ? cfg.monitoring.namespace : undefined, logging: cfg.logging.enabled, readinessGates: cfg.router === "alb" },
            k8s,
        );
        const namespace = namespaces.app.metadata.name;
        const monitoringNamespace = namespaces.monitoring?.metadata.name ?? cfg.monitoring.namespace;
        const monitoring = cfg.monitoring.install
            ? new MonitoringStack(
                  "monitoring",
                  {
                      namespace: monitoringNamespace,
                      monitoring: cfg.monitoring,
                      slackChannel: cfg.alertmanager.slackChannel,
                      slackWebhookUrl: asSecret(secrets.slackWebhookUrl),
                      pagerdutyRoutingKey: asSecret(secrets.pagerdutyRoutingKey),
                      grafanaAdminPassword: asSecret(secrets.grafanaAdminPassword),
                  },
                  k8s,
              )
            : undefined;
        const crds = monitoring?.release;
        if (namespaces.logging) {
            new Logging("logging", { logging: cfg.logging, namespace: namespaces.logging.metadata.name, namespaceName: LOGGING_NAMESPACE, monitoringNamespace }, k8s);
        }

        if (cfg.tracing.enabled && cfg.tracing.install) new Tracing("tracing", { tracing: cfg.tracing, namespace: monitoringNamespace }, k8s);
        const traceExport = cfg.tracing.enabled ? tracingEnv(otlpEndpoint(cfg.monitoring.namespace)) : [];

        const vpcCidr = albRouting?.vpcCidrOf(cfg.alb.vpcId as string);
        const routerPeers = albRouting && vpcCidr ? albRouting.albPeers(vpcCidr) : cfg.router === "gateway" ? gatewayPeers(cfg.gateway) : cfg.router === "istio" ? istioPeers(cfg.istio) : nginxPeers(cfg.nginx);
        // The canary header (off unless configured): a secret value (configured, or generated), routed to a
        // preview of the canary's image under its own track, so testers' requests are never the stage's
        // evidence. Without a canary there is nothing to preview, and no header route.
        const header = cfg.header.enabled ? canaryHeader("canary-header", cfg.header, child) : undefined;
        const workloadArgs = { namespace, app, routerPeers, monitoringNamespace: cfg.monitoring.namespace, crds, serviceMonitorLabels: cfg.monitoring.serviceMonitorLabels, env: traceExport };
        const workload = new CanaryWorkload(app.name, { ...workloadArgs, preview: header !== undefined && cfg.canaryDiffers }, k8s);
        const preview: PreviewRoute | undefined =
            header && workload.preview ? { header, serviceName: workload.preview.service.metadata.name, workload: workload.preview.deployment } : undefined;
        const routing = { namespace, app, weight: cfg.weight, workloads: [workload.stable.deployment, workload.canary.deployment], preview };

        // One router per stack; `weightedRoute` is the resource that carries the stage's weights.
        let weightedRoute: pulumi.CustomResource;
        let alb: AlbRouting | undefined;
        if (albRouting && vpcCidr) {
            alb = new albRouting.AlbRouting("route", { ...routing, serviceNames: workload.serviceNames, alb: cfg.alb, vpcCidr }, k8s);
            weightedRoute = alb.weightedRule;
        } else if (cfg.router === "gateway") {
            const tlsSecret = usesCertManager(cfg) ? tlsSecretName(app.name) : undefined;
            const gateway = new GatewayRouting(
                "route",
                { ...routing, serviceNames: workload.serviceNames, gateway: cfg.gateway, tlsSecretName: tlsSecret, perBackendClusters: cfg.metrics.router?.name === "envoy-gateway" },
                k8s,
            );
            if (tlsSecret) {
                const tlsArgs = { tls: cfg.tls, app: app.name, host: app.host, namespace, http01: gatewayHttp01Solver(installedGateway(app)), gatewayApi: gateway.controller };
                new Tls("tls", tlsArgs, k8s);
            }
            weightedRoute = gateway.httpRoute;
        } else if (cfg.router === "istio") {
            weightedRoute = new IstioRouting("route", { ...routing, istio: cfg.istio }, k8s).virtualService;
        } else {
            const tlsArgs = { tls: cfg.tls, app: app.name, host: app.host, namespace, http01: ingressHttp01Solver(cfg.nginx.ingressClass) };
            const tls = usesCertManager(cfg) ? new Tls("tls", tlsArgs, k8s) : undefined;
            weightedRoute = new NginxRouting("route", { ...routing, serviceNames: workload.serviceNames, nginx: cfg.nginx, tlsSecretName: tls?.secretName }, k8s).canaryIngress;
        }

        const scope = { namespace: app.namespace, app: app.name };
        new CanaryAlerts("alerts", { namespace, scope, metrics: cfg.metrics, thresholds: cfg.alerts, container: app.name, weight: cfg.weight, crds, ruleLabels: cfg.monitoring.ruleLabels }, k8s);
        const canaryTraces = cfg.tracing.enabled ? { service: app.name, version: app.canary.version } : undefined;
        new CanaryDashboard("dashboard", { namespace: monitoringNamespace, scope, metrics: cfg.metrics, thresholds: cfg.alerts, ratios: cfg.analysis.ratios, canaryTraces }, k8s);
        // Each version's evidence as the stack recorded it: the canary's (this version as these bytes: its
        // digest, or a tag) is what its next stage carries on.
        const recorded = [previous.canaryEvidence, previous.promotionEvidence];
        const ownEvidence = (version: string) => recorded.find((e) => e?.version === version);
        const canary = judgedCanary(cfg);
        const canaryBefore = recorded.map((e) => evidenceFor(e, canary)).find((e) => e !== undefined);
        const entry = stageEntry(previous.applied, cfg.weight, app.canary.version);
        const delivery = cfg.analysis.enabled
            ? new ProgressiveDelivery(
                  "delivery",
                  {
                      namespace,
                      scope,
                      metrics: cfg.metrics,
                      analysis,
                      stages: cfg.stages,
                      prometheusUrl: cfg.monitoring.install ? prometheusUrl(cfg.monitoring.namespace) : (cfg.monitoring.prometheusUrl as string),
                      prometheusInstalled: cfg.monitoring.install,
                      monitoringNamespace: cfg.monitoring.namespace,
                      judgeToken: judgeToken === undefined ? undefined : pulumi.secret(judgeToken),
                      previousRun: previous.stageRun,
                      now: now(),
                      weight: cfg.weight,
                      canaryVersion: app.canary.version,
                      entry,
                      carried: carriedLlrs(canaryBefore, app.canary.version, cfg.stages, cfg.weight),
                      weightedRoute,
                      metricsSources: [...(crds ? [crds] : []), workload.serviceMonitor],
                      crds,
                      serviceMonitorLabels: cfg.monitoring.serviceMonitorLabels,
                  },
                  k8s,
              )
            : undefined;
        // Traffic for the stage's analysis, through the router, so the stage's weights split it.
        const target = loadTarget(cfg, usesCertManager(cfg));
        if (cfg.loadTest.enabled && target !== undefined) {
            const loadArgs = {
                namespace,
                loadTest: cfg.loadTest,
                weight: cfg.weight,
                jobName: stageObjectName(`${app.name}-load`, app.canary.version, cfg.weight, cfg.analysis.attempt),
                image: cfg.analysis.judge.image,
                target,
                host: app.host,
                duration: cfg.loadTest.duration ?? cfg.analysis.deadline,
                weightedRoute,
            };
            new LoadTest("load", loadArgs, k8s);
        }
        // What the next run's guards read is written only for an update that passed: Pulumi keeps a
        // stack's previous outputs when the program fails before registering them (pulumi/pulumi
        // step_executor.go: "If there was an error, we only replace outputs that have new outputs"), so
        // these outputs wait for the stage's analysis and, for the promoted version, for the stable
        // rollout. A stage whose analysis failed is not recorded as applied; a failed promotion does not
        // unlock prod.
        // The stage is applied once its weights are: a weighted route that failed to update records nothing.
        const stagePassed = pulumi.all([delivery?.passed ?? true, weightedRoute.id]).apply(() => true);
        const stableReady = workload.stable.deployment.status.apply(() => true);
        // Evidence per version, from each passed stage's analysis: the canary's grows stage by stage; once
        // the canary is promoted (it is the stable version now), its evidence is what other stacks read.
        // In a wave it also records, from the stack's admission on, the chain the gate handed on.
        const canaryEvidence = pulumi.all([stagePassed, delivery?.evidence ?? pulumi.output(undefined)]).apply(([, e]) => {
            if (!cfg.canaryDiffers) return undefined;
            const judged = e && cfg.weight > 0 ? withStage(canaryBefore, canary, cfg.stages, cfg.weight, e) : canaryBefore;
            return admission.upstream ? withUpstream(judged, canary, cfg.stages, admission.upstream) : judged;
        });

        const split = splitFor(cfg.weight);
        this.outputs = {
            environment: cfg.environment,
            router: cfg.router,
            // Read back by the next run to check its stage move.
            [STAGE_OUTPUT]: stagePassed.apply(() => cfg.weight),
            /** How the recorded stage was verified: the judge's PROMOTE, or only applied or rendered. */
            stageGate: stagePassed.apply(() => stageGate(cfg.weight, analysis, rendering)),
            stableWeight: split.stable,
            canaryWeight: split.canary,
            stableVersion: app.stable.version,
            [CANARY_VERSION_OUTPUT]: stagePassed.apply(() => app.canary.version),
            [STAGE_ENTRY_OUTPUT]: stagePassed.apply(() => entry),
            /** The stage's AnalysisRun (name, since): a repeated `up` of the same run reuses its `since`. */
            [STAGE_RUN_OUTPUT]: stagePassed.apply(() => delivery?.run),
            stableImage: app.stable.image,
            /** Read back at promotion: the tag the promoted version's stages ran, which the stable image pins (`pinnedEvidence`). */
            [CANARY_IMAGE_OUTPUT]: app.canary.image,
            /** The version that finished its canary and became stable: what prod may run next. */
            [PROMOTED_OUTPUT]: pulumi.all([stagePassed, stableReady]).apply(() => app.stable.version),
            [CANARY_EVIDENCE_OUTPUT]: canaryEvidence,
            /**
             * The promoted version's evidence: the image its stages judged by digest (`image`: the pinned canary's, or, for stages
             * that ran a tag, the digest `rollout promote` pinned the stable image to), each compared stage's decision, requests,
             * LLRs and α, as its analysis recorded them, and in a wave the earlier waves' (`upstream`).
             */
            [PROMOTION_EVIDENCE_OUTPUT]: pulumi.all([stagePassed, stableReady]).apply(() => pinnedEvidence(ownEvidence(app.stable.version), previous.canaryImage, app.stable.image)),
            /** How the canary passed the promotion gate; "skipped (allowUnverified)" shows in the preview. */
            promotionCheck: admission.result,
            /** The gates this stack stands behind, nearest first: the next wave's gate reads it to refuse a cycle. */
            [PROMOTION_GATES_OUTPUT]: admission.gates,
            host: app.host,
            url: `https://${app.host}`,
            albDnsName: alb?.loadBalancer.dnsName,
            targetGroupArns: alb ? { stable: alb.targetGroups.stable.arn, canary: alb.targetGroups.canary.arn } : undefined,
            /** The canary header as `name: value` (a secret: `pulumi stack output canaryHeader --show-secrets`), with canary:header.enabled. */
            canaryHeader: header ? headerLine(header) : undefined,
        };
        this.registerOutputs({ stage: this.outputs[STAGE_OUTPUT], url: this.outputs.url });
    }
}
