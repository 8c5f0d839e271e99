/**
 * A component's args from the running stack: its `<project>:*` config keys, its `kubernetes:*` cluster
 * keys, and the secret keys as secret Outputs (they reach the cluster only inside Secrets). The stack
 * programs (index.ts, platform/index.ts) build their component from these.
 */
import * as pulumi from "@pulumi/pulumi";
import { ClusterTarget, readClusterTarget } from "../stacks/cluster";
import { readRawConfig } from "../stacks/config";
import type { ServiceSecrets } from "./service";

export function readStackArgs(): { config: Record<string, unknown>; cluster: ClusterTarget; secrets: ServiceSecrets } {
    const secrets = new pulumi.Config();
    return {
        config: readRawConfig(),
        cluster: readClusterTarget(),
        secrets: {
            slackWebhookUrl: secrets.getSecret("slackWebhookUrl"),
            pagerdutyRoutingKey: secrets.getSecret("pagerdutyRoutingKey"),
            grafanaAdminPassword: secrets.getSecret("grafanaAdminPassword"),
        },
    };
}
