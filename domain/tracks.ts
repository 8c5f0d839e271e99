/** The tracks of a canary release: what the pods, Services, series and decisions are about. */

/** The two tracks the stage splits traffic between: the only ones the judge, the rules and the alerts read as evidence. */
export type Track = "stable" | "canary";
export const TRACKS: readonly Track[] = ["stable", "canary"];

/**
 * The pods the canary header reaches (`canary:header`): the canary's image under a track of their
 * own, so the requests testers send are labelled `track="preview"` and never counted as the canary's.
 */
export const PREVIEW_TRACK = "preview";

/** Every track a pod can carry: the two the stage splits, and the preview. */
export type PodTrack = Track | typeof PREVIEW_TRACK;

/** The object name of a track's Deployment and Service; its pods are named `<this>-<pod-template-hash>-<suffix>`. */
export function trackName(app: string, track: PodTrack): string {
    return `${app}-${track}`;
}

/**
 * The keys of the labels every pod of the app carries (components/platform/labels.ts): what Services,
 * Deployments and NetworkPolicies select on and the ServiceMonitor relabels into `app`, `version` and `track`.
 */
export const POD_LABELS = {
    name: "app.kubernetes.io/name",
    partOf: "app.kubernetes.io/part-of",
    version: "app.kubernetes.io/version",
    track: "track",
} as const;
