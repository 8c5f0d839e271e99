/** The Pod Security `restricted` profile, as the program's own containers meet it (the app's namespace enforces it). */

/** A container that cannot gain privileges, write its root filesystem, run as root or keep capabilities. */
export const RESTRICTED_CONTAINER = {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    capabilities: { drop: ["ALL"] },
    seccompProfile: { type: "RuntimeDefault" },
};

/** A pod that runs as `uid` (never root) under the runtime's default seccomp profile. */
export function restrictedPod(uid: number): { runAsNonRoot: true; runAsUser: number; runAsGroup: number; seccompProfile: { type: string } } {
    return { runAsNonRoot: true, runAsUser: uid, runAsGroup: uid, seccompProfile: { type: "RuntimeDefault" } };
}
