import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { splitFor } from "../../domain/stages";
import type { AlbConfig } from "../../stacks/schema";
import { ALB_TARGET_GROUP_TAGS } from "../../domain/routerMetrics";
import { PodTrack, PREVIEW_TRACK, Track, TRACKS } from "../../domain/tracks";
import type { CanaryHeader, RouterArgs, TrackServices } from "./router";
import { pinnedRelease } from "../platform/helm";
import { CHARTS } from "../platform/versions";

/** Priorities of the listener rules: the header rule is evaluated before the weighted one. */
export const HEADER_RULE_PRIORITY = 10;
export const WEIGHTED_RULE_PRIORITY = 100;

type ForwardAction = aws.types.input.lb.ListenerRuleAction;

/** The weighted forward action of a stage: stable gets `100 - weight`, the canary `weight`. */
export function weightedForward(weight: number, targetGroupArns: Record<Track, pulumi.Input<string>>, stickiness: AlbConfig["stickiness"]): ForwardAction {
    const split = splitFor(weight);
    return {
        type: "forward",
        forward: {
            targetGroups: TRACKS.map((track) => ({ arn: targetGroupArns[track], weight: split[track] })),
            stickiness: { enabled: stickiness.enabled, duration: stickiness.durationSeconds },
        },
    };
}

/**
 * The header rule's condition: the app host and the canary header with its generated value. The value
 * is a secret, so this rule's conditions show as [secret] in a preview; the weighted rule, a resource
 * of its own, stays readable.
 */
export function headerConditions(host: string, header: CanaryHeader): aws.types.input.lb.ListenerRuleCondition[] {
    return [{ hostHeader: { values: [host] } }, { httpHeader: { httpHeaderName: header.name, values: [header.value] } }];
}

/** The VPC's address range: the ALB's nodes, and so its traffic to pod IPs, come from inside it. */
export function vpcCidrOf(vpcId: string): pulumi.Output<string> {
    return aws.ec2.getVpcOutput({ id: vpcId }).cidrBlock;
}

/** ALB targets are pod IPs in the VPC: the NetworkPolicy admits the VPC's CIDR. */
export function albPeers(vpcCidr: pulumi.Input<string>): k8s.types.input.networking.v1.NetworkPolicyPeer[] {
    return [{ ipBlock: { cidr: vpcCidr } }];
}

export interface AlbRoutingArgs extends RouterArgs, TrackServices {
    /** Validated ALB config: `vpcId`, `subnetIds` and `certificateArn` are set when the router is `alb`. */
    readonly alb: AlbConfig;
    /** The VPC's CIDR (`vpcCidrOf`): the ALB's egress goes only there. */
    readonly vpcCidr: pulumi.Input<string>;
}

/**
 * An ALB with an HTTPS listener (and an HTTP listener that only redirects), a target group per track
 * filled by TargetGroupBindings, and the weighted rule that is the stage; with the canary header, a
 * preview target group and a header rule before the weighted one. Only the weighted rule changes when
 * the stage changes.
 */
export class AlbRouting extends pulumi.ComponentResource {
    public readonly loadBalancer: aws.lb.LoadBalancer;
    public readonly targetGroups: Record<Track, aws.lb.TargetGroup>;
    public readonly weightedRule: aws.lb.ListenerRule;
    /** The canary header's rule to the preview's target group, when `preview` is set. */
    public readonly headerRule?: aws.lb.ListenerRule;
    public readonly controller?: k8s.helm.v3.Release;

    constructor(name: string, args: AlbRoutingArgs, opts?: pulumi.ComponentResourceOptions) {
        super("canary:routing:AlbRouting", name, {}, opts);
        const { app, alb } = args;
        const vpcId = alb.vpcId as string;

        const securityGroup = new aws.ec2.SecurityGroup(
            `${name}-sg`,
            {
                vpcId,
                description: `ALB for ${app.name}`,
                ingress: [443, 80].map((port) => ({ protocol: "tcp", fromPort: port, toPort: port, cidrBlocks: alb.allowedCidrs })),
                // The ALB only talks to targets inside the VPC.
                egress: [{ protocol: "tcp", fromPort: app.port, toPort: app.port, cidrBlocks: [args.vpcCidr] }],
            },
            { parent: this },
        );
        this.loadBalancer = new aws.lb.LoadBalancer(
            `${name}-alb`,
            {
                loadBalancerType: "application",
                internal: alb.internal,
                subnets: alb.subnetIds,
                securityGroups: [securityGroup.id],
                dropInvalidHeaderFields: true,
            },
            { parent: this },
        );
        const targetGroup = (track: PodTrack) =>
            new aws.lb.TargetGroup(
                `${name}-${track}`,
                {
                    vpcId,
                    port: app.port,
                    protocol: "HTTP",
                    targetType: "ip",
                    deregistrationDelay: 30,
                    healthCheck: { path: app.probes.readiness.path, matcher: "200", interval: 10, healthyThreshold: 2, unhealthyThreshold: 2 },
                    // What names the track in the target group's CloudWatch series, through YACE's exportedTagsOnMetrics (canary:metrics.source alb).
                    tags: { [ALB_TARGET_GROUP_TAGS.namespace]: args.namespace, [ALB_TARGET_GROUP_TAGS.app]: app.name, [ALB_TARGET_GROUP_TAGS.track]: track },
                },
                { parent: this },
            );
        this.targetGroups = { stable: targetGroup("stable"), canary: targetGroup("canary") };
        const arns = { stable: this.targetGroups.stable.arn, canary: this.targetGroups.canary.arn };

        const certificateArn = alb.certificateArn ?? this.dnsValidatedCertificate(name, app.host, alb.hostedZoneId as string);
        const https = new aws.lb.Listener(
            `${name}-https`,
            {
                loadBalancerArn: this.loadBalancer.arn,
                port: 443,
                protocol: "HTTPS",
                sslPolicy: alb.sslPolicy,
                certificateArn,
                // Requests for other hosts go to stable; the app host is matched by the rules below.
                defaultActions: [{ type: "forward", targetGroupArn: arns.stable }],
            },
            { parent: this },
        );
        new aws.lb.Listener(
            `${name}-http`,
            {
                loadBalancerArn: this.loadBalancer.arn,
                port: 80,
                protocol: "HTTP",
                defaultActions: [{ type: "redirect", redirect: { port: "443", protocol: "HTTPS", statusCode: "HTTP_301" } }],
            },
            { parent: this },
        );

        if (alb.controller.install) {
            this.controller = pinnedRelease(
                `${name}-controller`,
                {
                    pin: CHARTS.awsLoadBalancerController,
                    releaseName: "aws-load-balancer-controller",
                    namespace: "kube-system",
                    values: {
                        clusterName: alb.controller.clusterName,
                        vpcId,
                        // The Service mutating webhook (failurePolicy Fail) races the first `up`'s
                        // Service and Helm creates while the controller is not ready yet
                        // (kubernetes-sigs/aws-load-balancer-controller#4140); it only serves
                        // LoadBalancer Services, which this program does not create.
                        enableServiceMutatorWebhook: false,
                        // The stack's region: otherwise the controller asks the instance metadata
                        // service, which IMDSv2 hop limits often keep from pods.
                        region: aws.config.region,
                        serviceAccount: {
                            create: true,
                            name: "aws-load-balancer-controller",
                            annotations: { "eks.amazonaws.com/role-arn": alb.controller.serviceAccountRoleArn },
                        },
                    },
                },
                { parent: this },
            );
        }
        // The bindings wait for the controller and (through serviceRef) the Services, not the
        // Deployments: with readiness gates injected (the namespace label), a pod of a rolling update
        // is ready only once its target is healthy in the group, which needs the binding; a binding
        // that waited for the Deployment would wait for itself.
        const bindingDeps = this.controller ? [this.controller] : [];
        const binding = (track: PodTrack, serviceName: pulumi.Input<string>, targetGroupArn: pulumi.Input<string>) =>
            new k8s.apiextensions.CustomResource(
                `${name}-${track}-tgb`,
                {
                    apiVersion: "elbv2.k8s.aws/v1beta1",
                    kind: "TargetGroupBinding",
                    metadata: { name: `${app.name}-${track}`, namespace: args.namespace },
                    spec: {
                        serviceRef: { name: serviceName, port: app.port },
                        targetGroupARN: targetGroupArn,
                        targetType: "ip",
                        // The controller opens the pods' security group to the ALB, on the app port only.
                        networking: {
                            ingress: [{ from: [{ securityGroup: { groupID: securityGroup.id } }], ports: [{ port: app.port, protocol: "TCP" }] }],
                        },
                    },
                },
                { parent: this, dependsOn: bindingDeps },
            );
        const bindings = TRACKS.map((track) => binding(track, args.serviceNames[track], arns[track]));

        const ruleDeps = [...args.workloads, ...bindings];
        const preview = args.preview;
        if (preview) {
            const previewGroup = targetGroup(PREVIEW_TRACK);
            this.headerRule = new aws.lb.ListenerRule(
                `${name}-header`,
                {
                    listenerArn: https.arn,
                    priority: HEADER_RULE_PRIORITY,
                    conditions: headerConditions(app.host, preview.header),
                    actions: [{ type: "forward", targetGroupArn: previewGroup.arn }],
                },
                { parent: this, dependsOn: [preview.workload, binding(PREVIEW_TRACK, preview.serviceName, previewGroup.arn)] },
            );
        }
        this.weightedRule = new aws.lb.ListenerRule(
            `${name}-weighted`,
            {
                listenerArn: https.arn,
                priority: WEIGHTED_RULE_PRIORITY,
                conditions: [{ hostHeader: { values: [app.host] } }],
                actions: [weightedForward(args.weight, arns, alb.stickiness)],
            },
            { parent: this, dependsOn: ruleDeps },
        );
        this.registerOutputs({
            dnsName: this.loadBalancer.dnsName,
            targetGroupArns: arns,
        });
    }

    /** An ACM certificate for the host, validated by a DNS record in the hosted zone; its ARN once issued. */
    private dnsValidatedCertificate(name: string, host: string, zoneId: string): pulumi.Output<string> {
        const certificate = new aws.acm.Certificate(`${name}-certificate`, { domainName: host, validationMethod: "DNS" }, { parent: this });
        const option = certificate.domainValidationOptions[0];
        const record = new aws.route53.Record(
            `${name}-certificate-validation`,
            { zoneId, name: option.resourceRecordName, type: option.resourceRecordType, records: [option.resourceRecordValue], ttl: 60, allowOverwrite: true },
            { parent: this },
        );
        return new aws.acm.CertificateValidation(`${name}-certificate-validation`, { certificateArn: certificate.arn, validationRecordFqdns: [record.fqdn] }, { parent: this })
            .certificateArn;
    }
}
