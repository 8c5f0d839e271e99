import * as assert from "assert";
import { imageByDigest, isPinned, parseImage, versionOf } from "../stacks/images";

const HEX = "0123456789abcdef".repeat(4);

describe("image references (pure)", () => {
    // image, its parts, pinned (by digest), version, by digest
    const cases: [string, { repository: string; tag?: string; digest?: string }, boolean, string | undefined, string | undefined][] = [
        ["ghcr.io/stefanprodan/podinfo:6.7.1", { repository: "ghcr.io/stefanprodan/podinfo", tag: "6.7.1" }, false, "6.7.1", undefined],
        ["ghcr.io/stefanprodan/podinfo", { repository: "ghcr.io/stefanprodan/podinfo" }, false, undefined, undefined],
        ["nginx:latest", { repository: "nginx", tag: "latest" }, false, "latest", undefined],
        ["registry:5000/team/app", { repository: "registry:5000/team/app" }, false, undefined, undefined],
        ["registry:5000/team/app:2.0", { repository: "registry:5000/team/app", tag: "2.0" }, false, "2.0", undefined],
        [`app@sha256:${HEX}`, { repository: "app", digest: `sha256:${HEX}` }, true, "0123456789ab", `app@sha256:${HEX}`],
        // A tag beside a digest is a label: the version reads it, the content is the digest's.
        [`registry:5000/team/app:2.0@sha256:${HEX}`, { repository: "registry:5000/team/app", tag: "2.0", digest: `sha256:${HEX}` }, true, "2.0", `registry:5000/team/app@sha256:${HEX}`],
        // Not a sha256 digest as the OCI spec writes one: too short, upper case, another algorithm.
        ["app:1.0@sha256:abc", { repository: "app", tag: "1.0", digest: "sha256:abc" }, false, "1.0", undefined],
        [`app@sha256:${HEX.toUpperCase()}`, { repository: "app", digest: `sha256:${HEX.toUpperCase()}` }, false, HEX.toUpperCase().slice(0, 12), undefined],
        [`app@sha512:${HEX}${HEX}`, { repository: "app", digest: `sha512:${HEX}${HEX}` }, false, `sha512:${HEX}`.slice(0, 12), undefined],
    ];
    for (const [image, ref, pinned, version, byDigest] of cases) {
        it(`${image}: pinned=${pinned}, version=${version}`, () => {
            const got = parseImage(image);
            assert.strictEqual(got.repository, ref.repository);
            assert.strictEqual(got.tag, ref.tag);
            assert.strictEqual(got.digest, ref.digest);
            assert.strictEqual(isPinned(image), pinned);
            assert.strictEqual(versionOf(image), version);
            assert.strictEqual(imageByDigest(image), byDigest);
        });
    }
});
