import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { appLabels } from "../platform/labels";
import { appRuleGroups, RuleGroup, RulesInput, stageRuleGroup } from "./rules";

export interface CanaryAlertsArgs extends RulesInput {
    /** The app's namespace: the rules live next to the app. */
    readonly namespace: pulumi.Input<string>;
    /** The stage, recorded as `app:canary_weight:configured`. */
    readonly weight: number;
    /** The monitoring release that installs the PrometheusRule CRD. */
    /** What installs the PrometheusRule CRD (the monitoring release), if this stack installs it. */
    readonly crds?: pulumi.Resource;
    /** Labels the Prometheus's ruleSelector needs (bring-your-own monitoring). */
    readonly ruleLabels?: Record<string, string>;
}

/**
 * Two PrometheusRules: the app's recording, SLO and alert rules, which a stage change leaves alone,
 * and the stage rule (the configured weight), which changes with every stage.
 */
export class CanaryAlerts extends pulumi.ComponentResource {
    constructor(name: string, args: CanaryAlertsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("canary:alerts:CanaryAlerts", name, {}, opts);
        const rule = (role: string, groups: RuleGroup[]) =>
            new k8s.apiextensions.CustomResource(
                `${name}-${role}`,
                {
                    apiVersion: "monitoring.coreos.com/v1",
                    kind: "PrometheusRule",
                    metadata: { name: `${args.scope.app}-canary-${role}`, namespace: args.namespace, labels: { ...args.ruleLabels, ...appLabels(args.scope.app) } },
                    spec: { groups },
                },
                { parent: this, dependsOn: args.crds ? [args.crds] : [] },
            );
        rule("rules", appRuleGroups(args));
        rule("stage", [stageRuleGroup(args.scope, args.weight)]);
        this.registerOutputs({});
    }
}
