import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import * as path from "path";
import { cachedBundle } from "../../lib/bundle";
import { RESTRICTED_CONTAINER, restrictedPod } from "../platform/podSecurity";

const built = new Map<string, string>();

/**
 * One entry point (a path below the project) and its imports as one file (`lib/bundle.ts`): code the
 * cluster runs on a stock node image, from a ConfigMap, with no registry of ours. Built once per
 * program run; the same sources give the same bytes.
 */
export function bundle(entry: string): string {
    let code = built.get(entry);
    if (code === undefined) {
        code = cachedBundle(entry, path.basename(entry, ".ts"));
        built.set(entry, code);
    }
    return code;
}

/**
 * A bundle in a ConfigMap (key `file`), and the bundle's hash, for a pod template annotation: a new
 * bundle then rolls the pods, which a changed ConfigMap alone would not.
 */
export function bundleConfigMap(
    resourceName: string,
    b: { entry: string; name: string; namespace: pulumi.Input<string>; labels: Record<string, string>; file: string },
    opts: pulumi.CustomResourceOptions,
): { configMap: k8s.core.v1.ConfigMap; hash: string } {
    const code = bundle(b.entry);
    const configMap = new k8s.core.v1.ConfigMap(resourceName, { metadata: { name: b.name, namespace: b.namespace, labels: b.labels }, data: { [b.file]: code } }, opts);
    return { configMap, hash: createHash("sha256").update(code).digest("hex") };
}

/** The uid of the `node` user in the official Node.js images. */
export const NODE_UID = 1000;

/**
 * A pod spec that runs one bundle on a stock node image: the ConfigMap `configMap` (holding `file`)
 * mounted read-only at `/<dir>`, `node /<dir>/<file> ...args` as the `node` user under the restricted
 * profile, with the given extras (ports, probes) and resources.
 */
export function bundlePodSpec(
    b: { name: string; image: string; configMap: string; dir: string; file: string; args: string[]; resources: k8s.types.input.core.v1.ResourceRequirements },
    extras: Partial<k8s.types.input.core.v1.Container> = {},
    pod: Partial<k8s.types.input.core.v1.PodSpec> = {},
): k8s.types.input.core.v1.PodSpec {
    return {
        ...pod,
        automountServiceAccountToken: false,
        securityContext: restrictedPod(NODE_UID),
        containers: [
            {
                name: b.name,
                image: b.image,
                command: ["node", `/${b.dir}/${b.file}`, ...b.args],
                ...extras,
                resources: b.resources,
                securityContext: RESTRICTED_CONTAINER,
                volumeMounts: [{ name: "code", mountPath: `/${b.dir}`, readOnly: true }],
            },
        ],
        volumes: [{ name: "code", configMap: { name: b.configMap } }],
    };
}
