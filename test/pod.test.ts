/**
 * Any container: the app's pod as `canary:app` configures it (command, env, ports, probes, volumes, …),
 * shared by every track, the canary differing only in its image and its own variables; refused,
 * naming the key and the value, wherever it would break the restricted Pod Security level or name
 * what does not exist.
 */
import * as assert from "assert";
import * as YAML from "yaml";
import { trackEnv } from "../components/delivery/workload";
import { tracingEnv } from "../components/observability/tracing";
import { buildStackConfig } from "../stacks/config";
import { deepMerge } from "../stacks/merge";
import { TRACING_ENV } from "../stacks/schema";
import { planPromote } from "../rollout/stackFile";
import { byName, EVERY_POD_FIELD, runProgram, suiteConfig } from "./harness";

/** The message of the config's refusal; fails when it is accepted. */
function refusal(stack: "dev" | "prod", raw: Record<string, unknown>): string {
    try {
        buildStackConfig("canary", stack, raw);
    } catch (e) {
        return (e as Error).message;
    }
    return assert.fail(`stack ${stack} with ${JSON.stringify(raw)} should have been refused`);
}

const app = (pod: Record<string, unknown>) => ({ app: pod });

describe("the app's pod: refusals name the key, the value and what is allowed", () => {
    const cases: [string, Record<string, unknown>, RegExp[]][] = [
        [
            "a hostPath volume",
            app({ volumes: [{ name: "host", hostPath: { path: "/var/run/docker.sock" } }] }),
            [/canary:app\.volumes\[0\]\.hostPath = \{"path":"\/var\/run\/docker\.sock"\}: is not a volume kind the app may use: the restricted Pod Security level admits secret, configMap, emptyDir, projected, persistentVolumeClaim, downwardAPI/],
        ],
        [
            "a volume of two kinds, and one of none",
            app({ volumes: [{ name: "a", secret: { secretName: "s" }, configMap: { name: "c" } }, { name: "b" }] }),
            [/canary:app\.volumes\[0\] = \{"name":"a",.*\}: must set exactly one of secret, configMap, emptyDir, projected, persistentVolumeClaim, downwardAPI/, /canary:app\.volumes\[1\] = \{"name":"b"\}: must set exactly one of/],
        ],
        ["a hostPort", app({ ports: [{ name: "admin", containerPort: 9000, hostPort: 9000 }] }), [/canary:app\.ports\[0\]\.hostPort = 9000: is refused: a host port breaks the restricted Pod Security level/]],
        ["hostNetwork", app({ hostNetwork: true }), [/canary:app\.hostNetwork = true: is refused: host namespaces break the restricted Pod Security level/]],
        ["a securityContext", app({ securityContext: { runAsUser: 0 } }), [/canary:app\.securityContext = \{"runAsUser":0\}: is the program's: it keeps the pod at the restricted Pod Security level/]],
        ["a misspelt pod key", app({ volumeMount: [] }), [/canary:app\.volumeMount = \[\]: is not a known key/]],
        [
            "a probe on an undefined port, and a port out of range",
            app({ ports: [{ name: "admin", containerPort: 9000 }], probes: { readiness: { path: "/ready", port: "metrics" }, liveness: { path: "/live", port: 70000 } } }),
            [
                /canary:app\.probes\.readiness\.port = "metrics": must name a defined port: http, admin \(canary:app\.port and canary:app\.ports\), or be a number/,
                /canary:app\.probes\.liveness\.port = 70000: must be a port number 1 to 65535, or a port name/,
            ],
        ],
        ["a probe every 0 seconds", app({ probes: { readiness: { path: "/ready", periodSeconds: 0 }, liveness: { path: "/live" } } }), [/canary:app\.probes\.readiness\.periodSeconds = 0: must be at least 1/]],
        ["a probe on a UDP port", app({ ports: [{ name: "dns", containerPort: 5353, protocol: "UDP" }], probes: { readiness: { path: "/r" }, liveness: { path: "/l", port: "dns" } } }), [/canary:app\.probes\.liveness\.port = "dns": names a UDP port: an HTTP probe needs TCP/]],
        [
            "ports named http, on the app's port, twice the same number",
            app({ port: 8080, ports: [{ name: "http", containerPort: 1 }, { name: "a", containerPort: 8080 }, { name: "b", containerPort: 7000 }, { name: "c", containerPort: 7000 }] }),
            [
                /canary:app\.ports\[0\]\.name = "http": must not be http: that is canary:app\.port's name/,
                /canary:app\.ports\[1\]\.containerPort = 8080: is canary:app\.port already \(named http\)/,
                /canary:app\.ports\[3\]\.containerPort = 7000: must be unique: another of canary:app\.ports has TCP port 7000/,
            ],
        ],
        ["a port name Kubernetes refuses", app({ ports: [{ name: "Admin--1", containerPort: 7001 }, { name: "1234", containerPort: 7002 }] }), [/canary:app\.ports\[0\]\.name = "Admin--1": must be a port name: at most 15 lower-case letters/, /canary:app\.ports\[1\]\.name = "1234": must be a port name/]],
        ["two ports of one name", app({ ports: [{ name: "a", containerPort: 1 }, { name: "a", containerPort: 2 }] }), [/canary:app\.ports = \[.*\]: each port needs its own name/]],
        [
            "a mount of an undefined volume, on a scratch path, and two on one path",
            app({ volumes: [{ name: "cache", emptyDir: {} }], volumeMounts: [{ name: "config", mountPath: "/etc/app" }, { name: "cache", mountPath: "/tmp" }, { name: "cache", mountPath: "/x" }, { name: "cache", mountPath: "/x" }] }),
            [
                /canary:app\.volumeMounts\[0\]\.name = "config": must name one of canary:app\.volumes \(cache\)/,
                /canary:app\.volumeMounts\[1\]\.mountPath = "\/tmp": is the program's: \/tmp and \/data are its writable scratch directories/,
                /canary:app\.volumeMounts\[3\]\.mountPath = "\/x": must be unique/,
            ],
        ],
        ["a volume named like the program's", app({ volumes: [{ name: "scratch-0", emptyDir: {} }] }), [/canary:app\.volumes\[0\]\.name = "scratch-0": is the program's/]],
        ["two volumes of one name", app({ volumes: [{ name: "v", emptyDir: {} }, { name: "v", emptyDir: {} }] }), [/canary:app\.volumes = \[.*\]: each volume needs its own name/]],
        ["an item path out of the volume", app({ volumes: [{ name: "c", configMap: { name: "c", items: [{ key: "k", path: "../etc/passwd" }] } }] }), [/canary:app\.volumes\[0\]\.configMap\.items\[0\]\.path = "\.\.\/etc\/passwd": must be a relative path without '\.\.'/]],
        [
            "env: value and valueFrom, neither, a bad name, a name twice",
            app({ env: [{ name: "A", value: "1", valueFrom: { secretKeyRef: { name: "s", key: "k" } } }, { name: "B" }, { name: "1C", value: "x" }] }),
            [/canary:app\.env\[0\] = \{"name":"A",.*\}: must set exactly one of value, valueFrom/, /canary:app\.env\[1\] = \{"name":"B"\}: must set exactly one of value, valueFrom/, /canary:app\.env\[2\]\.name = "1C": must be an environment variable name/],
        ],
        ["a variable twice", app({ env: [{ name: "A", value: "1" }, { name: "A", value: "2" }] }), [/canary:app\.env = \[.*\]: each variable needs its own name/]],
        ["the program's variable", app({ env: [{ name: "OTEL_SERVICE_NAME", value: "mine" }] }), [/canary:app\.env\[0\]\.name = "OTEL_SERVICE_NAME": is set by the program/]],
        // dev traces: the exporter's variables are the program's there.
        ["a tracing variable in a track, with tracing", app({ stable: { env: [{ name: "OTEL_EXPORTER_OTLP_ENDPOINT", value: "http://x" }] } }), [/canary:app\.stable\.env\[0\]\.name = "OTEL_EXPORTER_OTLP_ENDPOINT": is set by the program .*with canary:tracing\.enabled/]],
        ["envFrom of both kinds", app({ envFrom: [{ secretRef: { name: "s" }, configMapRef: { name: "c" } }] }), [/canary:app\.envFrom\[0\] = .*: must set exactly one of secretRef, configMapRef/]],
        ["a selected label", app({ labels: { track: "stable", "app.kubernetes.io/version": "9" } }), [/canary:app\.labels\.track = "stable": is the program's/, /canary:app\.labels\.app\.kubernetes\.io\/version = "9": is the program's/]],
        ["an AppArmor annotation", app({ annotations: { "container.apparmor.security.beta.kubernetes.io/podinfo": "unconfined" } }), [/canary:app\.annotations\.container\.apparmor\.security\.beta\.kubernetes\.io\/podinfo = "unconfined": is the program's: its securityContext sets the AppArmor and seccomp profiles/]],
        ["a canary's variables without a canary image", app({ canary: { env: [{ name: "FEATURE", value: "on" }] } }), [/canary:app\.canary\.env = \[\{"name":"FEATURE","value":"on"\}\]: is used only with a new canary image/]],
        ["a bad service account and pull secret", app({ serviceAccountName: "App_Runtime", imagePullSecrets: ["Bad Name"] }), [/canary:app\.serviceAccountName = "App_Runtime": must be a Kubernetes object name/, /canary:app\.imagePullSecrets\[0\] = "Bad Name": must be a Kubernetes object name/]],
        ["a short-lived token", app({ volumes: [{ name: "t", projected: { sources: [{ serviceAccountToken: { path: "t", expirationSeconds: 60 } }] } }] }), [/canary:app\.volumes\[0\]\.projected\.sources\[0\]\.serviceAccountToken\.expirationSeconds = 60: must be at least 600/]],
    ];
    for (const [what, raw, messages] of cases) {
        it(what, () => {
            const m = refusal("dev", raw);
            for (const want of messages) assert.match(m, want);
        });
    }

    it("with router alb, the readiness probe is on the app's port: the ALB health-checks its path there", () => {
        const m = refusal("prod", app({ port: 9898, ports: [{ name: "admin", containerPort: 9000 }], probes: { readiness: { path: "/ready", port: "admin" }, liveness: { path: "/live" } } }));
        assert.match(m, /canary:app\.probes\.readiness\.port = "admin": must be canary:app\.port \(http or 9898\) with canary:router alb/);
    });

    it("the stack files' pod and every field validate", () => {
        for (const stack of ["dev", "prod"] as const) {
            const canaryKeys = Object.fromEntries(Object.entries(suiteConfig(stack)).filter(([k]) => !k.startsWith("@")));
            buildStackConfig("canary", stack, deepMerge(canaryKeys, app(EVERY_POD_FIELD)) as Record<string, unknown>);
        }
    });

    it("the tracing variables the schema refuses are the ones the program sets", () => {
        assert.deepStrictEqual(tracingEnv("http://tempo:4317").map((e) => e.name), [...TRACING_ENV]);
    });
});

describe("the app's pod: one spec for every track, the canary's image and variables its own", () => {
    it("a track's variables replace the shared ones by name, in place, and add the rest after", () => {
        const shared = [{ name: "A", value: "1" }, { name: "B", value: "2" }];
        assert.deepStrictEqual(trackEnv(shared, [{ name: "B", value: "canary" }, { name: "C", value: "3" }]), [{ name: "A", value: "1" }, { name: "B", value: "canary" }, { name: "C", value: "3" }]);
        assert.deepStrictEqual(trackEnv(shared, []), shared);
    });

    it("every field reaches the Deployments of stable, canary and preview; only image, labels' version and track, and variables differ", async () => {
        const canaryEnv = [{ name: "LOG_LEVEL", value: "debug" }, { name: "NEW_CHECKOUT", value: "on" }];
        const config = { weight: 5, header: { enabled: true }, app: { ...EVERY_POD_FIELD, canary: { env: canaryEnv } } };
        const { error, resources } = await runProgram({ stack: "dev", config });
        assert.ifError(error);
        const pod = (track: string) => byName(resources, `podinfo-${track}`).inputs.spec.template;
        const [stable, canary, preview] = ["stable", "canary", "preview"].map(pod);
        const s = stable.spec;
        const c = s.containers[0];
        assert.deepStrictEqual(c.command, EVERY_POD_FIELD.command);
        assert.deepStrictEqual(c.args, EVERY_POD_FIELD.args);
        assert.deepStrictEqual(c.ports, [{ name: "http", containerPort: 9898, protocol: "TCP" }, { name: "admin", containerPort: 9000, protocol: "TCP" }, { name: "grpc", containerPort: 9090, protocol: "TCP" }]);
        assert.deepStrictEqual(c.readinessProbe, { httpGet: { path: "/ready", port: "http" }, periodSeconds: 5, timeoutSeconds: 2, failureThreshold: 3, successThreshold: 2 });
        assert.deepStrictEqual(c.livenessProbe, { httpGet: { path: "/live", port: "admin" }, initialDelaySeconds: 5, periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 5 });
        assert.deepStrictEqual(c.startupProbe, { httpGet: { path: "/started", port: 9000 }, periodSeconds: 5, timeoutSeconds: 2, failureThreshold: 60 });
        assert.deepStrictEqual(c.envFrom, EVERY_POD_FIELD.envFrom);
        assert.deepStrictEqual(c.volumeMounts.slice(2), EVERY_POD_FIELD.volumeMounts, "after the program's scratch directories");
        assert.deepStrictEqual(s.volumes.slice(2), EVERY_POD_FIELD.volumes);
        assert.strictEqual(s.serviceAccountName, "app-runtime");
        assert.strictEqual(s.automountServiceAccountToken, false, "the token stays unmounted: a projected one is the app's choice");
        assert.deepStrictEqual(s.imagePullSecrets, [{ name: "registry-credentials" }]);
        assert.deepStrictEqual(stable.metadata.annotations, EVERY_POD_FIELD.annotations);
        assert.deepStrictEqual(stable.metadata.labels, { team: "payments", "example.com/tier": "backend", "app.kubernetes.io/name": "podinfo", "app.kubernetes.io/part-of": "canary", track: "stable", "app.kubernetes.io/version": "6.7.1" });
        // The restricted level holds: the securityContext is the program's, whatever the pod configures.
        assert.deepStrictEqual(c.securityContext.capabilities, { drop: ["ALL"] });
        assert.strictEqual(c.securityContext.readOnlyRootFilesystem, true);

        const userEnv = (t: any) => t.spec.containers[0].env.filter((e: any) => !e.name.startsWith("OTEL_"));
        assert.deepStrictEqual(userEnv(stable), EVERY_POD_FIELD.env);
        assert.deepStrictEqual(userEnv(canary), [{ name: "LOG_LEVEL", value: "debug" }, EVERY_POD_FIELD.env[1], EVERY_POD_FIELD.env[2], { name: "NEW_CHECKOUT", value: "on" }]);
        assert.deepStrictEqual(userEnv(preview), userEnv(canary), "the preview runs the canary's release");

        // Beside image, version and track (and the variables above), the tracks' pods are one spec.
        const shape = (t: any) => {
            const copy = structuredClone(t);
            const k = copy.spec.containers[0];
            delete k.image;
            k.env = k.env.filter((e: any) => e.name !== "OTEL_RESOURCE_ATTRIBUTES" && !userEnv(t).some((u: any) => u.name === e.name));
            delete copy.metadata.labels.track;
            delete copy.metadata.labels["app.kubernetes.io/version"];
            return copy;
        };
        assert.deepStrictEqual(shape(canary), shape(stable));
        assert.deepStrictEqual(shape(preview), shape(stable));
        assert.notStrictEqual(canary.spec.containers[0].image, stable.spec.containers[0].image);
    });

    it("podinfo's pod is as before: the probes' inputs do not change, so upgrading the program rolls no pod", async () => {
        const { resources } = await runProgram({ stack: "dev", config: { weight: 5 } });
        const c = byName(resources, "podinfo-stable").inputs.spec.template.spec.containers[0];
        assert.deepStrictEqual(c.readinessProbe, { httpGet: { path: "/readyz", port: "http" }, periodSeconds: 5, timeoutSeconds: 2, failureThreshold: 3 });
        assert.deepStrictEqual(c.livenessProbe, { httpGet: { path: "/healthz", port: "http" }, periodSeconds: 5, timeoutSeconds: 2, failureThreshold: 3, initialDelaySeconds: 5 });
        assert.strictEqual(c.startupProbe, undefined);
        for (const key of ["command", "args", "envFrom"]) assert.ok(!(key in c), key);
    });

    it("the ALB's target groups health-check the readiness probe's path", async () => {
        const { error, resources } = await runProgram({ stack: "prod", config: { app: { probes: { readiness: { path: "/ready" }, liveness: { path: "/live" } } } } });
        assert.ifError(error);
        for (const track of ["stable", "canary"]) assert.strictEqual(byName(resources, `route-${track}`).inputs.healthCheck.path, "/ready");
    });

    it("promote gives stable the canary's own variables with its image, and clears the canary's", () => {
        const raw = deepMerge(suiteConfig("dev"), { weight: 100, app: { env: [{ name: "A", value: "1" }], stable: { env: [{ name: "OLD", value: "x" }] }, canary: { env: [{ name: "NEW", value: "y" }] } } }) as Record<string, unknown>;
        const config = buildStackConfig("canary", "dev", raw);
        const edits = planPromote({ stack: "dev", project: "canary", file: "Pulumi.dev.yaml", text: "config: {}\n", doc: YAML.parseDocument("config: {}\n"), config });
        assert.deepStrictEqual(
            edits.filter((e) => e.key.includes("env")),
            [
                { key: ["app", "stable", "env"], from: [{ name: "OLD", value: "x" }], to: [{ name: "NEW", value: "y" }] },
                { key: ["app", "canary", "env"], from: [{ name: "NEW", value: "y" }], to: [] },
            ],
        );
        // Applied, the stack is valid: the canary with stable's image and no variables of its own.
        const after = deepMerge(raw, { weight: 0, app: { stable: { image: config.app.canary.image, env: [{ name: "NEW", value: "y" }] }, canary: { env: [] } } }) as Record<string, unknown>;
        assert.strictEqual(buildStackConfig("canary", "dev", after).canaryDiffers, false);
    });
});
