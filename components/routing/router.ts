/** What every router shares: the canary header's route to the preview, and what the program hands each router. */
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { Track } from "../../domain/tracks";
import type { StackConfig } from "../../stacks/schema";

/** The canary header as the routers match it: the configured name and the generated, secret value. */
export interface CanaryHeader {
    readonly name: string;
    /** A secret Output: it must stay out of the weighted resource, whose preview diff is the stage's review. */
    readonly value: pulumi.Output<string>;
}

/**
 * The header's value: the configured secret (`canary:header.value`), or generated once and kept in the
 * stack's state, a secret from the start. Lower-case letters and digits only: an ALB compares header
 * values case-insensitively (ListenerRule HttpHeaderConditionConfig), so upper case would add no
 * strength there; 32 of 36 symbols are about 165 bits. `RandomPassword.result` is secret through the
 * engine's additionalSecretOutputs; the explicit `pulumi.secret` keeps it secret where no engine marks
 * it (previews of new resources, mocks) and keeps a configured value out of every plain output.
 */
export function canaryHeader(name: string, header: { readonly name: string; readonly value?: string }, opts?: pulumi.CustomResourceOptions): CanaryHeader {
    const value = header.value ?? new random.RandomPassword(name, { length: 32, special: false, upper: false }, opts).result;
    return { name: header.name, value: pulumi.secret(value) };
}

/** `name: value`, as `curl -H` takes it: the stack output testers read with `--show-secrets`. */
export function headerLine(header: CanaryHeader): pulumi.Output<string> {
    return pulumi.secret(pulumi.interpolate`${header.name}: ${header.value}`);
}

/**
 * Where the canary header goes: the preview track (the canary's image, labelled `track: preview`),
 * in a route of its own beside the weighted one, so its secret value never enters the weighted
 * resource and its requests never count as the canary's.
 */
export interface PreviewRoute {
    readonly header: CanaryHeader;
    /** The preview's Service. */
    readonly serviceName: pulumi.Input<string>;
    /** The preview Deployment: its route waits for it, as the weighted route waits for both tracks. */
    readonly workload: pulumi.Resource;
}

/** The app, the stage and the two tracks a router splits traffic between. */
export interface RouterArgs {
    readonly app: StackConfig["app"];
    readonly namespace: pulumi.Input<string>;
    /** The stage: the canary's percent of weighted traffic. */
    readonly weight: number;
    /**
     * The Deployments: the weighted route waits for them, so traffic shifts only once the pods it
     * shifts to are ready (Pulumi awaits Deployment rollouts).
     */
    readonly workloads: pulumi.Resource[];
    /** The canary header's route, with `canary:header.enabled` and a canary image; unset: no header route. */
    readonly preview?: PreviewRoute;
}

/** For routers that send traffic to each track's own Service. */
export interface TrackServices {
    readonly serviceNames: Record<Track, pulumi.Input<string>>;
}
