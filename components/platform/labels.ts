/** Label conventions shared by workloads, selectors and the metric contract. */
import { POD_LABELS, type PodTrack } from "../../domain/tracks";

/** Labels every object of the app carries. */
export function appLabels(app: string): Record<string, string> {
    return { [POD_LABELS.name]: app, [POD_LABELS.partOf]: "canary" };
}

/**
 * What a Service or Deployment selects on. No version here: a selector is immutable, and a new
 * version must not replace the Deployment.
 */
export function trackSelector(app: string, track: PodTrack): Record<string, string> {
    return { [POD_LABELS.name]: app, [POD_LABELS.track]: track };
}

/** Pod labels: the ServiceMonitor relabels these into `app`, `version` and `track`. */
export function podLabels(app: string, track: PodTrack, version: string): Record<string, string> {
    return { ...appLabels(app), ...trackSelector(app, track), [POD_LABELS.version]: version };
}

/** A NetworkPolicy peer: every pod of one namespace (by the label Kubernetes sets on each namespace). */
export function namespacePeer(namespace: string): { namespaceSelector: { matchLabels: Record<string, string> } } {
    return { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": namespace } } };
}

/** The object name of a track's Deployment and Service (in domain/, where the `rollout` command finds the canary's pods by it too). */
export { trackName } from "../../domain/tracks";
