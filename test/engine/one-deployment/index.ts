/**
 * The smallest program the engine lane compares the canary program's preview time with: one
 * Deployment, rendered to a directory by the same provider. The difference is the canary program's own cost.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

const provider = new k8s.Provider("render", { renderYamlToDirectory: new pulumi.Config("kubernetes").require("renderYamlToDirectory") });
const labels = { app: "one" };
new k8s.apps.v1.Deployment(
    "one",
    {
        metadata: { name: "one" },
        spec: { selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: "one", image: "ghcr.io/stefanprodan/podinfo:6.7.1" }] } } },
    },
    { provider },
);
