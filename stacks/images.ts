/** Container image references: just enough parsing to tell a pinned image from a floating one. */

export interface ImageRef {
    /** Repository without tag or digest, e.g. `ghcr.io/stefanprodan/podinfo`. */
    readonly repository: string;
    readonly tag?: string;
    readonly digest?: string;
}

export function parseImage(image: string): ImageRef {
    const [nameAndTag, digest] = image.split("@", 2);
    // A tag is after the last colon that comes after the last slash; a colon before it is a registry port.
    const lastSlash = nameAndTag.lastIndexOf("/");
    const colon = nameAndTag.indexOf(":", lastSlash + 1);
    return colon === -1
        ? { repository: nameAndTag, digest }
        : { repository: nameAndTag.slice(0, colon), tag: nameAndTag.slice(colon + 1), digest };
}

/** Pinned: a digest, or a tag other than `latest`. Kubernetes pulls an untagged image as `:latest`. */
export function isPinned(image: string): boolean {
    const ref = parseImage(image);
    return ref.digest !== undefined || (ref.tag !== undefined && ref.tag !== "latest");
}

/** The version an image stands for when config does not name one: its tag, else the start of its digest. */
export function versionOf(image: string): string | undefined {
    const ref = parseImage(image);
    return ref.tag ?? ref.digest?.replace(/^sha256:/, "").slice(0, 12);
}
