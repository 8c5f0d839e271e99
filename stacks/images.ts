/** Container image references: just enough parsing to tell an image pinned by digest from a floating one. */

export interface ImageRef {
    /** Repository without tag or digest, e.g. `ghcr.io/stefanprodan/podinfo`. */
    readonly repository: string;
    readonly tag?: string;
    readonly digest?: string;
}

/**
 * A content digest as the OCI image spec writes one for sha256: the algorithm, a colon and 64 lower-case
 * hex digits (opencontainers/image-spec descriptor.md, "Digests": `sha256` encoded as `/[a-f0-9]{64}/`).
 */
const SHA256_DIGEST = /^sha256:[a-f0-9]{64}$/;

/** A well-formed sha256 content digest, `sha256:<64 lower-case hex>`. */
export const isSha256Digest = (digest: string) => SHA256_DIGEST.test(digest);

export function parseImage(image: string): ImageRef {
    const [nameAndTag, digest] = image.split("@", 2);
    // A tag is after the last colon that comes after the last slash; a colon before it is a registry port.
    const lastSlash = nameAndTag.lastIndexOf("/");
    const colon = nameAndTag.indexOf(":", lastSlash + 1);
    return colon === -1
        ? { repository: nameAndTag, digest }
        : { repository: nameAndTag.slice(0, colon), tag: nameAndTag.slice(colon + 1), digest };
}

/**
 * The image by content, `repository@sha256:<64 hex>`, the tag dropped (a tag beside a digest is only a
 * label: the runtime pulls by the digest); undefined for an image without a well-formed sha256 digest.
 */
export function imageByDigest(image: string): string | undefined {
    const ref = parseImage(image);
    return ref.digest !== undefined && isSha256Digest(ref.digest) ? `${ref.repository}@${ref.digest}` : undefined;
}

/** Pinned: by a sha256 digest, the only reference a registry cannot move to other bytes (a tag, even a version tag, can be pushed again). */
export function isPinned(image: string): boolean {
    return imageByDigest(image) !== undefined;
}

/** The version an image stands for when config does not name one: its tag, else the start of its digest. */
export function versionOf(image: string): string | undefined {
    const ref = parseImage(image);
    return ref.tag ?? ref.digest?.replace(/^sha256:/, "").slice(0, 12);
}

/** The image pinned to `digest`, its repository and tag kept (the tag only as a label): `<repository>[:tag]@<digest>`. */
export function withDigest(image: string, digest: string): string {
    const { repository, tag } = parseImage(image);
    return `${repository}${tag !== undefined ? `:${tag}` : ""}@${digest}`;
}
