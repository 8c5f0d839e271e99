/**
 * `promote`'s pin: when the canary image is a tag, the digest its pods actually ran, so that dev's
 * promotion names the image by content and prod can run the same bytes (docs/promotion.md, "Pinning by
 * digest"). pulumi-kubernetes cannot list a Deployment's pods, so the program cannot read their image
 * ids; the command reads them from kube-state-metrics through Prometheus (`--prometheus`), or is given
 * the digest (`--digest`). A tag promoted without either is refused unless `--unpinned` says so.
 */
import { canaryContainerInfo } from "../domain/promql";
import { Options, OptionSpec, stringOption, UsageError } from "../lib/args";
import type { StackConfig } from "../stacks/schema";
import { imageByDigest, isSha256Digest } from "../stacks/images";
import { PrometheusClient, PrometheusError, QUERY_OPTIONS, queryOptions } from "./prometheus";
import type { CliIo } from "./context";
import type { StackFile } from "./stackFile";

export const PIN_OPTIONS: readonly OptionSpec[] = [
    {
        name: "prometheus",
        value: "URL",
        help: "Prometheus base URL: with a canary image given as a tag, read the digest its pods ran from kube-state-metrics' kube_pod_container_info and pin the promoted image to it",
    },
    { name: "digest", value: "sha256:HEX", help: "with a canary image given as a tag, pin the promoted image to this digest (what the canary's pods ran) instead of reading it from Prometheus" },
    { name: "unpinned", help: "promote a canary image given as a tag without a digest (prod then refuses the version: its evidence names no image)" },
    ...QUERY_OPTIONS.filter((o) => o.name === "query-timeout"),
];

/** How the promotion names the image: a digest and where it came from, or the canary as it is (pinned already, or `--unpinned`). */
export type Pin = { readonly digest: string; readonly source: string } | { readonly digest?: undefined; readonly source: string };

const PIN_CHOICES = "--prometheus URL (the digest its pods ran, from kube-state-metrics), --digest sha256:<64 hex> or --unpinned";

/** The `sha256:<hex>` part of a container's image id in the form a registry serves: `[scheme://]<repository>@sha256:<64 hex>`. */
const REPO_DIGEST = /^(?:[a-z][a-z0-9+.-]*:\/\/)?[^@\s]+@(sha256:[a-f0-9]{64})$/;

/**
 * Pure: the one digest the canary's pods ran, from their `kube_pod_container_info` series, or a
 * UsageError saying why there is none to trust. The runtime's `imageID` is `docker-pullable://<repo>@sha256:…`
 * (dockershim) or `<repo>@sha256:…` (containerd, CRI-O); a bare `sha256:…` is the image's config digest
 * (an image loaded into the node rather than pulled), which no registry serves, and an empty id is a
 * container still pulling: neither names bytes prod can pull. Two digests mean the tag moved while the
 * pods ran, so nothing says which bytes the stages judged.
 */
export function digestFromSeries(series: readonly { labels: Record<string, string> }[], query: string): { digest: string; pods: number } {
    if (series.length === 0) {
        throw new UsageError(
            `promote: Prometheus has no series for the canary's pods (${query}): is kube-state-metrics scraped there, and do the canary's pods run this image? Give --digest sha256:<64 hex> instead; nothing is written`,
        );
    }
    const byDigest = new Map<string, string[]>();
    for (const { labels } of series) {
        const id = labels.image_id ?? "";
        const digest = REPO_DIGEST.exec(id)?.[1];
        if (digest === undefined) {
            throw new UsageError(
                `promote: pod ${labels.pod ?? "(unnamed)"} reports image_id ${JSON.stringify(id)}, not <repository>@sha256:<64 hex> (a bare sha256: is the config digest of an image loaded into the node, which no registry serves; an empty one a container still pulling); nothing is written`,
            );
        }
        byDigest.set(digest, [...(byDigest.get(digest) ?? []), labels.pod ?? "(unnamed)"]);
    }
    if (byDigest.size > 1) {
        const which = [...byDigest].map(([d, pods]) => `${d} (${pods.join(", ")})`).join("; ");
        throw new UsageError(`promote: the canary's pods ran ${byDigest.size} digests, ${which}: the tag moved while they ran, so nothing says which bytes the stages judged; nothing is written`);
    }
    const [[digest, pods]] = byDigest;
    return { digest, pods: pods.length };
}

/** The digest the canary's pods run, read from Prometheus at `now`; an unreachable Prometheus is a UsageError too. */
export async function canaryDigest(client: PrometheusClient, c: StackConfig, now: Date): Promise<Pin> {
    const query = canaryContainerInfo(c.app.namespace, c.app.name, c.app.canary.image);
    let series;
    try {
        series = await client.query(query, now);
    } catch (e) {
        if (!(e instanceof PrometheusError)) throw e;
        throw new UsageError(`promote: cannot read the digest the canary's pods ran: ${e.message}; nothing is written`);
    }
    const { digest, pods } = digestFromSeries(series, query);
    return { digest, source: `the digest ${pods} canary pod${pods === 1 ? "" : "s"} ran (kube_pod_container_info image_id)` };
}

/**
 * How `promote` names the image, from the options: a canary already pinned is promoted as it is (and
 * takes none of them); a tag needs exactly one of them. Checked before anything is read.
 */
export function pinChoice({ config: c, project }: StackFile, o: Options): "pinned" | "prometheus" | "unpinned" | { digest: string } {
    const given = ["prometheus", "digest", "unpinned"].filter((n) => o[n] !== undefined);
    const image = c.app.canary.image;
    if (imageByDigest(image) !== undefined) {
        if (given.length > 0) throw new UsageError(`promote --${given[0]}: ${project}:app.canary.image = ${image} is pinned by digest already; promote writes it as it is`);
        return "pinned";
    }
    if (given.length > 1) throw new UsageError(`promote: give one of ${given.map((n) => `--${n}`).join(", ")}, not ${given.length}`);
    if (given.length === 0) {
        throw new UsageError(
            `promote: ${project}:app.canary.image = ${image} is a tag, which names no bytes: prod runs only a version whose promotion names the image by digest. Give ${PIN_CHOICES}; nothing is written`,
        );
    }
    if (o.digest === undefined) return given[0] as "prometheus" | "unpinned";
    const digest = stringOption(o, "digest") as string;
    if (!isSha256Digest(digest)) throw new UsageError(`promote --digest ${JSON.stringify(digest)}: must be sha256:<64 lower-case hex digits>`);
    return { digest };
}

/** The pin `promote` writes: resolved by the choice the options make (`pinChoice`). */
export async function resolvePin(s: StackFile, o: Options, io: CliIo): Promise<Pin> {
    const choice = pinChoice(s, o);
    if (choice === "pinned") return { source: "the canary image is pinned" };
    if (choice === "unpinned") return { source: "--unpinned: by tag; prod will refuse this version" };
    if (choice !== "prometheus") return { digest: choice.digest, source: "--digest" };
    const client = io.prometheus(stringOption(o, "prometheus") as string, queryOptions(o).queryTimeoutMs);
    return canaryDigest(client, s.config, io.now());
}
