/** What every router shares: the header that pins a request to the canary, and what the program hands each router. */
import type * as pulumi from "@pulumi/pulumi";
import type { Track } from "../../domain/tracks";
import type { StackConfig } from "../../stacks/schema";

/** Requests with this header and value always reach the canary, at any weight (for testers and smoke tests); every router honours it. */
export const CANARY_HEADER = { name: "x-canary", value: "always" } as const;

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
}

/** For routers that send traffic to each track's own Service. */
export interface TrackServices {
    readonly serviceNames: Record<Track, pulumi.Input<string>>;
}
