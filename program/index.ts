/**
 * The library: what a team's own Pulumi program imports from the `canary` package (docs/library.md).
 * `CanaryService` is one service released in stages, from the same config the stack programs read;
 * `CanaryPlatform` is a cluster's shared add-ons. The components they are built of, and the stage
 * logic, are here too for a program that composes its own (all but the alb router's, which loads
 * @pulumi/aws, the largest package by far: `CanaryService` loads it only for router alb).
 */
export { CanaryService, checkService } from "./service";
export type { CanaryServiceArgs, CheckedService, ServiceSecrets } from "./service";
export { CanaryPlatform, platformOutputs } from "./platform";
export type { CanaryPlatformArgs } from "./platform";
export { readStackArgs } from "./stack";

export { ConfigError } from "../stacks/config";
export { validateStackConfig } from "../stacks/validate";
export type { StackConfig, StackConfigInput } from "../stacks/schema";
export { validatePlatformConfig } from "../stacks/platform";
export type { PlatformConfig, PlatformConfigInput, PlatformOutputs } from "../stacks/platform";
export type { ClusterTarget } from "../stacks/cluster";

export { allowedWeights, checkTransition, DEFAULT_STAGES, nextStage, splitFor, stageEntry } from "../domain/stages";
export type { AppliedStage, TrafficSplit } from "../domain/stages";

export { Namespaces } from "../components/platform/namespaces";
export { MonitoringStack } from "../components/observability/monitoring";
export { Logging } from "../components/observability/logging";
export { Tracing } from "../components/observability/tracing";
export { CanaryAlerts } from "../components/observability/alerts";
export { CanaryDashboard } from "../components/observability/dashboard";
export { CanaryWorkload } from "../components/delivery/workload";
export { ProgressiveDelivery } from "../components/delivery/progressiveDelivery";
export { LoadTest } from "../components/delivery/loadTest";
export { GatewayRouting } from "../components/routing/gatewayRouting";
export { NginxRouting } from "../components/routing/nginxRouting";
export { IstioRouting } from "../components/routing/istioRouting";
export { Tls } from "../components/routing/tls";
