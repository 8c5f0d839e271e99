import * as assert from "assert";
import { isPinned, parseImage, versionOf } from "../stacks/images";

describe("image references (pure)", () => {
    const cases: [string, { repository: string; tag?: string; digest?: string }, boolean, string | undefined][] = [
        ["ghcr.io/stefanprodan/podinfo:6.7.1", { repository: "ghcr.io/stefanprodan/podinfo", tag: "6.7.1" }, true, "6.7.1"],
        ["ghcr.io/stefanprodan/podinfo", { repository: "ghcr.io/stefanprodan/podinfo" }, false, undefined],
        ["nginx:latest", { repository: "nginx", tag: "latest" }, false, "latest"],
        ["registry:5000/team/app", { repository: "registry:5000/team/app" }, false, undefined],
        ["registry:5000/team/app:2.0", { repository: "registry:5000/team/app", tag: "2.0" }, true, "2.0"],
        [
            "app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            { repository: "app", digest: "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" },
            true,
            "0123456789ab",
        ],
    ];
    for (const [image, ref, pinned, version] of cases) {
        it(`${image}: pinned=${pinned}, version=${version}`, () => {
            const got = parseImage(image);
            assert.strictEqual(got.repository, ref.repository);
            assert.strictEqual(got.tag, ref.tag);
            assert.strictEqual(got.digest, ref.digest);
            assert.strictEqual(isPinned(image), pinned);
            assert.strictEqual(versionOf(image), version);
        });
    }
});
