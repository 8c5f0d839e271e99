/**
 * The one schema for every `canary:*` stack config key. Parsing returns the resolved config the
 * program builds from, or issues that name the key, the value and what is allowed.
 */
import { z } from "zod";
import { BUILT_IN_TESTS, isPrototypeName, MAX_RATIOS } from "../domain/ratios";
import {
    CONTRACT_RULES,
    contractLabelsProblem,
    DEFAULT_PRESET,
    DNS_LABEL,
    isContractLabel,
    isErrorStatus,
    isRouteValue,
    MAX_DEADLINE_SECONDS,
    MAX_EXCLUDED_ROUTES,
    METRIC_NAME,
    metricContract,
    MetricNames,
    PRESET_NAMES,
    SCRAPE_INTERVAL_SECONDS,
} from "../domain/promql";
import { DEFAULT_SOURCE, METRIC_SOURCES, ROUTER_SOURCES, SOURCE_ROUTER, isRouterSource } from "../domain/routerMetrics";
import { baseUrlProblem } from "../domain/urls";
import { DEFAULT_STAGES } from "../domain/stages";
import { durationSeconds, GO_DURATION_PATTERN, isPositiveDuration, PROMETHEUS_DURATION_PATTERN } from "../domain/duration";
import { POD_LABELS } from "../domain/tracks";
import { ENVIRONMENTS } from "./environments";
import { isPinned, versionOf } from "./images";

/** A fully qualified stack name, `<organization>/<project>/<stack>`, as a StackReference takes it. */
export const STACK_NAME = /^[^/\s]+\/[^/\s]+\/[^/\s]+$/;

const HOSTNAME = /^(\*\.)?([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const QUANTITY = /^[0-9]+(\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/;
const CIDR = /^([0-9]{1,3}\.){3}[0-9]{1,3}\/([0-9]|[12][0-9]|3[0-2])$/;

/**
 * ALB security policies that refuse TLS 1.0 and 1.1.
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/application/describe-ssl-policies.html
 */
export const TLS12_POLICY_PREFIXES = ["ELBSecurityPolicy-TLS13-", "ELBSecurityPolicy-TLS-1-2-", "ELBSecurityPolicy-FS-1-2-"];

/**
 * A string that must match `pattern`: `message` also for a value that is not a string at all (the
 * number 15 where `15s` belongs), so the user reads what is allowed, not only the type that was wrong;
 * a key with no value and no default "is required", with what it takes.
 */
const text = (pattern: RegExp, message: string) =>
    z
        .string({ error: (i) => (i.input === undefined ? `is required (${message.replace(/^must be /, "")})` : message) })
        .regex(pattern, message)
        .meta({ errorMessage: message });

/**
 * A string that `ok` accepts, refused with `message` (also when it is no string at all). `pattern`,
 * where a regular expression can say as much, is for the JSON Schema editors read (the schema still
 * checks with `ok`); `errorMessage` (here and in `text`) is the message the YAML language server
 * shows for a value the JSON Schema refuses, and the configuration reference's "allowed" words.
 */
const checked = (ok: (v: string) => boolean, message: string, pattern?: string) =>
    z
        .string({ error: message })
        .refine(ok, message)
        .meta({ errorMessage: message, ...(pattern ? { pattern } : {}) });

const dnsLabel = text(DNS_LABEL, "must be a DNS label: lower-case letters, digits and '-', starting with a letter");
const quantity = text(QUANTITY, "must be a Kubernetes quantity such as 100m, 1 or 128Mi");
const httpPath = text(/^\/\S*$/, "must be an HTTP path starting with '/'");
const image = text(/^[^\s]+$/, "must be an image reference such as ghcr.io/org/app:1.2.3").min(1);

/**
 * An http(s) URL that a path is appended to (`baseUrlProblem`): no query, fragment, credentials or
 * whitespace. The judge refuses a Prometheus URL with a query at its start (rollout/prometheus.ts
 * `prometheusUrl`), which would leave it in CrashLoopBackOff after a config that validated.
 */
const baseUrl = (example: string) => {
    const message = `must be an http(s) base URL such as ${example}: no query (?), fragment (#), user name or password, or whitespace`;
    // Not z.url(): it hands on the URL as WHATWG parses it, a newline inside removed, where the file's text is what is checked.
    return checked((v) => baseUrlProblem(v) === undefined, message);
};

const resourcesWithCpuLimit = <C extends z.ZodType>(cpuLimit: C) =>
    z.strictObject({
        requests: z
            .strictObject({ cpu: quantity.describe("CPU request."), memory: quantity.describe("Memory request.") })
            .describe("What the scheduler reserves per pod."),
        limits: z
            .strictObject({ cpu: cpuLimit.describe("CPU limit."), memory: quantity.describe("Memory limit.") })
            .describe("The most a pod may use."),
    });
/** The app's pods need both limits: the policy pack refuses a Deployment without them, so config cannot omit one. */
const resources = resourcesWithCpuLimit(quantity);

/** A label or annotation key: an optional DNS-subdomain prefix and '/', then a name (apimachinery validation.go `IsQualifiedName`). */
const LABEL_KEY = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const labelMap = z.record(text(LABEL_KEY, "must be a label key such as release"), text(/^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/, "must be a label value"));

/**
 * The app's pod, shared by every track (stable, canary, preview): what a real service needs besides
 * its image. Everything here must keep the pod inside the restricted Pod Security level the app's
 * namespace enforces (kubernetes pod-security-admission policy/check_*.go): the securityContext stays
 * the program's, so no key here can name one; host ports, host namespaces and host paths have no key.
 */

/** The app port's container port name: the Service's targetPort, the ServiceMonitor's port and the probes' default. */
export const APP_PORT_NAME = "http";

/**
 * Writable scratch directories the program mounts (emptyDir): the root filesystem is read-only.
 * podinfo keeps its data in /data. A volumeMount of the config may not take these paths or names.
 */
export const SCRATCH_PATHS: readonly string[] = ["/tmp", "/data"];
export const scratchVolumeName = (i: number) => `scratch-${i}`;

/** The environment the program gives every app container (the OpenTelemetry SDKs' service identity); config may not set these names. */
export const PROGRAM_ENV = ["OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES"] as const;
/**
 * The environment the program adds with canary:tracing.enabled (components/observability/tracing.ts
 * `tracingEnv`; test/pod.test.ts keeps the two lists equal); config may not set these names then.
 */
export const TRACING_ENV = ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL"] as const;

/**
 * Pod labels the program selects and relabels on (domain/tracks.ts `POD_LABELS`), and the one the
 * Deployment controller adds to every pod it creates: an extra label may not override any of them.
 */
export const RESERVED_POD_LABELS: readonly string[] = [...Object.values(POD_LABELS), "pod-template-hash"];
/**
 * Annotation prefixes that set a pod's AppArmor or seccomp profile, which the restricted level checks
 * (pod-security-admission policy/check_appArmorProfile.go, check_seccompProfile_baseline.go): the
 * program's securityContext decides those.
 */
const SECURITY_ANNOTATION_PREFIXES = ["container.apparmor.security.beta.kubernetes.io/", "seccomp.security.alpha.kubernetes.io/", "container.seccomp.security.alpha.kubernetes.io/"];

/** The volume kinds the restricted level admits that the program takes (pod-security-admission policy/check_restrictedVolumes.go admits csi and ephemeral too). */
export const VOLUME_KINDS = ["secret", "configMap", "emptyDir", "projected", "persistentVolumeClaim", "downwardAPI"] as const;

/**
 * Keys a pod spec has that the config refuses, each with why: all would break the restricted level,
 * or take what the program owns. An unknown key is refused anyway; these get their reason.
 */
export const REFUSED_POD_KEYS: Readonly<Record<string, string>> = {
    hostPort: "is refused: a host port breaks the restricted Pod Security level (the app is reached through its Service)",
    hostIP: "is refused: a host port breaks the restricted Pod Security level (the app is reached through its Service)",
    hostNetwork: "is refused: host namespaces break the restricted Pod Security level",
    hostPID: "is refused: host namespaces break the restricted Pod Security level",
    hostIPC: "is refused: host namespaces break the restricted Pod Security level",
    securityContext: "is the program's: it keeps the pod at the restricted Pod Security level (non-root, read-only root filesystem, no capabilities, RuntimeDefault seccomp)",
    privileged: "is refused: a privileged container breaks the restricted Pod Security level",
    capabilities: "is the program's: its containers drop ALL capabilities (restricted Pod Security level)",
    automountServiceAccountToken: "is the program's (false): mount a projected serviceAccountToken volume where the app needs a token",
};

/** What an unknown key of a volume is: a kind the config does not take. */
export const VOLUME_KIND_REFUSAL = `is not a volume kind the app may use: the restricted Pod Security level admits ${VOLUME_KINDS.join(", ")} (hostPath and the rest are refused)`;

/**
 * A container port name: an IANA_SVC_NAME as Kubernetes validates it (k8s.io/apimachinery
 * pkg/util/validation/validation.go `IsValidPortName`): at most 15 lower-case letters, digits and
 * '-', at least one letter, no '--', not starting or ending with '-'.
 */
export function isPortName(s: string): boolean {
    return s.length <= 15 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(s) && /[a-z]/.test(s) && !s.includes("--");
}

const PORT_NAME_MESSAGE = "must be a port name: at most 15 lower-case letters, digits and '-', with a letter, no '--', such as admin";
const portName = checked(isPortName, PORT_NAME_MESSAGE);
const portNumber = z.number().int("must be a port, 1 to 65535").min(1, "must be a port, 1 to 65535").max(65535, "must be a port, 1 to 65535");
const PROBE_PORT_MESSAGE = `must be a port number 1 to 65535, or a port name: ${APP_PORT_NAME} (canary:app.port) or one of canary:app.ports`;
const probePort = z
    .union([z.number(), z.string()], { error: PROBE_PORT_MESSAGE })
    .refine((p) => (typeof p === "number" ? Number.isInteger(p) && p >= 1 && p <= 65535 : isPortName(p)), PROBE_PORT_MESSAGE);

/** Kubernetes' C-identifier-like rule for an environment variable's name (apimachinery validation.go `IsEnvVarName`, without the relaxed rule of 1.32+). */
const envName = text(/^[-._a-zA-Z][-._a-zA-Z0-9]*$/, "must be an environment variable name: letters, digits, '_', '-' and '.', not starting with a digit");
/** A Secret's, ConfigMap's, ServiceAccount's or PersistentVolumeClaim's name: a DNS subdomain (RFC 1123). */
const objectName = text(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, "must be a Kubernetes object name: lower-case letters, digits, '-' and '.', such as app-secrets").max(253, "must be at most 253 characters");
/** A key of a Secret or ConfigMap (apimachinery validation.go `IsConfigMapKey`). */
const dataKey = text(/^[-._a-zA-Z0-9]+$/, "must be a Secret or ConfigMap key: letters, digits, '-', '_' and '.'").max(253, "must be at most 253 characters");
/** A path inside a volume: relative, without a '..' element (Kubernetes refuses both for a volume's items and a mount's subPath). */
const relativePath = text(/^(?!\/)(?!(.*\/)?\.\.(\/|$)).+$/, "must be a relative path without '..', such as config/app.yaml");
const absolutePath = text(/^\/[^\s:]*$/, "must be an absolute path such as /etc/app (no ':' or whitespace)");
const fileMode = z.number().int("must be a file mode such as 0o440 (a whole number 0 to 511)").min(0, "must be a file mode 0 to 511 (0o777)").max(511, "must be a file mode 0 to 511 (0o777)");
const seconds = (min: number) => z.number().int("must be a whole number of seconds").min(min, `must be at least ${min}`);

/**
 * Exactly one of `keys` is set: a union of shapes, said in the config's words. Not said beside an
 * unknown key of the same object (a hostPath volume), whose own refusal says what is wrong.
 */
const exactlyOne = (keys: readonly string[]) =>
    [
        (o: Record<string, unknown>) => keys.filter((k) => o[k] !== undefined).length === 1,
        { message: `must set exactly one of ${keys.join(", ")}`, when: (p: z.core.ParsePayload) => !p.issues.some((i) => i.code === "unrecognized_keys") },
    ] as const;

const keyRef = z.strictObject({
    name: objectName.describe("The object's name, in the app's namespace."),
    key: dataKey.describe("The key."),
    optional: z.boolean().optional().describe("Start the pod without it."),
});

const envVar = z
    .strictObject({
        name: envName.describe("The variable's name."),
        value: z.string().optional().describe("Its value (a string; $(VAR) expands an earlier variable)."),
        valueFrom: z
            .strictObject({
                secretKeyRef: keyRef.optional().describe("A Secret's key."),
                configMapKeyRef: keyRef.optional().describe("A ConfigMap's key."),
            })
            .refine(...exactlyOne(["secretKeyRef", "configMapKeyRef"]))
            .optional()
            .describe("Its value from a Secret's or a ConfigMap's key."),
    })
    .refine(...exactlyOne(["value", "valueFrom"]));

/** Names must be unique within one list: a later entry would silently win in the kubelet. */
const uniqueBy = <T>(what: string, key: (t: T) => string) => [(xs: T[]) => new Set(xs.map(key)).size === xs.length, `each ${what} needs its own name`] as const;

export type EnvVarConfig = z.infer<typeof envVar>;
const envList = z.array(envVar).refine(...uniqueBy<EnvVarConfig>("variable", (e) => e.name));

const sourceRef = z.strictObject({ name: objectName.describe("The object's name."), optional: z.boolean().optional().describe("Start the pod without it.") });
const envFrom = z
    .strictObject({
        secretRef: sourceRef.optional().describe("Every key of a Secret as a variable."),
        configMapRef: sourceRef.optional().describe("Every key of a ConfigMap as a variable."),
        prefix: envName.optional().describe("Put before each key's name."),
    })
    .refine(...exactlyOne(["secretRef", "configMapRef"]));

const containerPort = z.strictObject({
    name: portName.describe(`The port's name (not ${APP_PORT_NAME}, which is canary:app.port's), which a probe can name.`),
    containerPort: portNumber.describe("The port the container listens on."),
    protocol: z.enum(["TCP", "UDP", "SCTP"], { error: "must be TCP, UDP or SCTP" }).default("TCP").describe("Its protocol."),
});

/** An httpGet probe on the service's own path and port; `defaults` are the program's timing, which differ from Kubernetes' where a rollout needs them to. */
const probe = (defaults: { readonly failureThreshold: number; readonly initialDelaySeconds?: number }) =>
    z.strictObject({
        path: httpPath.describe("The HTTP path the kubelet GETs; 200 to 399 is success."),
        port: probePort.default(APP_PORT_NAME).describe(`The port, by number or name (${APP_PORT_NAME}: canary:app.port; or one of canary:app.ports).`),
        initialDelaySeconds: (defaults.initialDelaySeconds === undefined ? seconds(0).optional() : seconds(0).default(defaults.initialDelaySeconds)).describe("Seconds before the first probe."),
        periodSeconds: seconds(1).default(5).describe("Seconds between probes."),
        timeoutSeconds: seconds(1).default(2).describe("Seconds a probe may take."),
        failureThreshold: z.number().int("must be a whole number").min(1, "must be at least 1").default(defaults.failureThreshold).describe("Failures in a row that fail the probe."),
    });

const probes = z
    .strictObject({
        readiness: probe({ failureThreshold: 3 })
            .extend({ successThreshold: z.number().int("must be a whole number").min(1, "must be at least 1").optional().describe("Successes in a row that make the pod ready again (Kubernetes: 1).") })
            .describe("Readiness: the pod gets traffic only while it passes. The ALB health check uses its path (router alb)."),
        liveness: probe({ failureThreshold: 3, initialDelaySeconds: 5 }).describe("Liveness: the kubelet restarts the container when it fails."),
        startup: probe({ failureThreshold: 30 })
            .optional()
            .describe("Startup: until it passes, liveness and readiness wait; failureThreshold × periodSeconds is the time a start may take (default 150 s)."),
    })
    .describe("The app container's HTTP probes, on its own paths and ports.");

const keyToPath = z.strictObject({
    key: dataKey.describe("The key."),
    path: relativePath.describe("The file it becomes, relative to the mount."),
    mode: fileMode.optional().describe("The file's mode."),
});
const items = z.array(keyToPath).optional().describe("Only these keys, at these paths; unset: every key, named by its key.");
const fieldFile = z
    .strictObject({
        path: relativePath.describe("The file, relative to the mount."),
        fieldRef: z.strictObject({ fieldPath: text(/^(metadata\.(name|namespace|uid|labels|annotations)(\['[^']+'\])?|spec\.(nodeName|serviceAccountName)|status\.(podIP|hostIP))$/, "must be a pod field such as metadata.labels or metadata.annotations['key']").describe("The pod field.") }).optional().describe("A field of the pod."),
        resourceFieldRef: z
            .strictObject({
                resource: z.enum(["limits.cpu", "limits.memory", "limits.ephemeral-storage", "requests.cpu", "requests.memory", "requests.ephemeral-storage"], { error: "must be limits.cpu, limits.memory, limits.ephemeral-storage or their requests.*" }).describe("The app container's resource."),
                divisor: quantity.optional().describe("The unit, such as 1Mi."),
            })
            .optional()
            .describe("A request or limit of the app container."),
        mode: fileMode.optional().describe("The file's mode."),
    })
    .refine(...exactlyOne(["fieldRef", "resourceFieldRef"]));
const downwardApi = z.strictObject({ items: z.array(fieldFile).min(1).describe("The files."), defaultMode: fileMode.optional().describe("The files' mode.") });

const volumeSources = {
    secret: z.strictObject({ secretName: objectName.describe("The Secret."), items, defaultMode: fileMode.optional().describe("The files' mode."), optional: z.boolean().optional().describe("Start the pod without it.") }).optional().describe("A Secret's keys as files."),
    configMap: z.strictObject({ name: objectName.describe("The ConfigMap."), items, defaultMode: fileMode.optional().describe("The files' mode."), optional: z.boolean().optional().describe("Start the pod without it.") }).optional().describe("A ConfigMap's keys as files."),
    emptyDir: z
        .strictObject({ medium: z.enum(["", "Memory"], { error: 'must be "" (the node\'s disk) or Memory' }).optional().describe('"" (the node\'s disk) or Memory (tmpfs).'), sizeLimit: quantity.optional().describe("The most it may hold.") })
        .optional()
        .describe("A scratch directory, empty at the pod's start."),
    persistentVolumeClaim: z.strictObject({ claimName: objectName.describe("The claim, in the app's namespace."), readOnly: z.boolean().optional().describe("Mount it read-only.") }).optional().describe("A PersistentVolumeClaim: every replica of both tracks mounts the same claim."),
    downwardAPI: downwardApi.optional().describe("The pod's own fields as files."),
    projected: z
        .strictObject({
            sources: z
                .array(
                    z
                        .strictObject({
                            secret: z.strictObject({ name: objectName.describe("The Secret."), items, optional: z.boolean().optional().describe("Start the pod without it.") }).optional().describe("A Secret's keys."),
                            configMap: z.strictObject({ name: objectName.describe("The ConfigMap."), items, optional: z.boolean().optional().describe("Start the pod without it.") }).optional().describe("A ConfigMap's keys."),
                            downwardAPI: z.strictObject({ items: z.array(fieldFile).min(1).describe("The files.") }).optional().describe("The pod's own fields."),
                            serviceAccountToken: z
                                .strictObject({
                                    path: relativePath.describe("The token's file."),
                                    audience: z.string().min(1).optional().describe("Who the token is for; unset: the API server."),
                                    expirationSeconds: z.number().int().min(600, "must be at least 600 (Kubernetes' minimum)").optional().describe("Its lifetime; the kubelet renews it."),
                                })
                                .optional()
                                .describe("A token of the pod's service account (the program does not automount one)."),
                        })
                        .refine(...exactlyOne(["secret", "configMap", "downwardAPI", "serviceAccountToken"])),
                )
                .min(1)
                .describe("What the directory holds."),
            defaultMode: fileMode.optional().describe("The files' mode."),
        })
        .optional()
        .describe("Several sources in one directory."),
};

const volume = z
    .strictObject({ name: dnsLabel.describe("The volume's name, which a volumeMount names."), ...volumeSources })
    .refine(...exactlyOne(VOLUME_KINDS));
export type VolumeConfig = z.infer<typeof volume>;

const volumeMount = z.strictObject({
    name: dnsLabel.describe("The volume (one of canary:app.volumes)."),
    mountPath: absolutePath.describe("Where it appears in the container."),
    subPath: relativePath.optional().describe("A path inside the volume to mount instead of its root."),
    readOnly: z.boolean().optional().describe("Mount it read-only."),
});

const annotationMap = z.record(
    text(LABEL_KEY, "must be an annotation key such as example.com/owner"),
    z.string({ error: "must be a string" }),
);

const track = z.strictObject({
    image: image.describe("Container image; pinned by digest (<repository>[:tag]@sha256:<hex>) where canary:pinnedImages is true."),
    version: text(/^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/, "must be a label value such as 1.2.3")
        .optional()
        .describe("The app.kubernetes.io/version label and OpenTelemetry service.version; unset: the image's tag (or digest prefix)."),
    replicas: z.number().int("must be a whole number").min(0, "must be 0 or more").describe("Pods of this track."),
    resources: resources.describe("Requests and limits of the app container, all four required: the policy pack refuses a Deployment without limits."),
    env: envList.default([]).describe("This track's variables: each replaces canary:app.env's of its name, and adds the rest. A release changes these with the image."),
});

const app = z
    .strictObject({
        name: dnsLabel.describe("The app's name: its Deployments, Services and the app label on every series."),
        namespace: dnsLabel.optional().describe("The namespace the app runs in (Pod Security restricted); unset: the app's name."),
        port: z.number().int().min(1, "must be a port, 1 to 65535").max(65535, "must be a port, 1 to 65535").describe("Container and Service port; serves the app and its /metrics."),
        probes,
        command: z.array(z.string()).min(1).optional().describe("The container's command (its entrypoint); unset: the image's ENTRYPOINT."),
        args: z.array(z.string()).optional().describe("The command's arguments; unset: the image's CMD."),
        env: envList.default([]).describe("Environment variables of every track: a value, or valueFrom a Secret's or ConfigMap's key. Not the program's own (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES; with tracing, the exporter's)."),
        envFrom: z.array(envFrom).default([]).describe("Every key of a Secret or ConfigMap as variables, in every track."),
        ports: z
            .array(containerPort)
            .refine(...uniqueBy<{ name: string }>("port", (p) => p.name))
            .default([])
            .describe(`More container ports besides canary:app.port (named ${APP_PORT_NAME}, the Service's and the metrics' port): for probes or the pod's own use; not in the Service or the NetworkPolicy.`),
        serviceAccountName: objectName.optional().describe("The pods' ServiceAccount (it must exist in the app's namespace); unset: default. Its token is not automounted."),
        imagePullSecrets: z.array(objectName).default([]).describe("Secrets (docker-registry, in the app's namespace) to pull the images with."),
        volumes: z
            .array(volume)
            .refine(...uniqueBy<{ name: string }>("volume", (v) => v.name))
            .default([])
            .describe(`Volumes of the pod, each exactly one of ${VOLUME_KINDS.join(", ")}: the kinds the restricted Pod Security level admits.`),
        volumeMounts: z.array(volumeMount).default([]).describe(`Where the app container mounts them; ${SCRATCH_PATHS.join(" and ")} are the program's writable scratch directories.`),
        labels: labelMap.default({}).describe(`More pod labels; not ${RESERVED_POD_LABELS.join(", ")}, which the program selects on.`),
        annotations: annotationMap.default({}).describe("More pod annotations; not the AppArmor or seccomp ones, which the program's securityContext decides."),
        host: text(HOSTNAME, "must be a DNS host name such as app.example.com").describe("The public host name the router serves."),
        stable: track.describe("The stable track."),
        canary: track
            .partial({ image: true })
            .describe("The canary track; without an image it is the stable version and runs no pods. Its image is required while canary:weight is above 0."),
    })
    .describe("The web service being released: its two tracks, stable and canary. No environment has a default app: name, port, probes, host and stable.image are the stack's own.");

const alb = z
    .strictObject({
        vpcId: text(/^vpc-[0-9a-f]+$/, "must be a VPC id such as vpc-0abc123").optional().describe("The VPC of the ALB and its target groups; required with router alb."),
        subnetIds: z
            .array(text(/^subnet-[0-9a-f]+$/, "must be a subnet id such as subnet-0abc123"))
            .min(2, "must list at least two subnets in different availability zones (an ALB needs two)")
            .optional()
            .describe("The ALB's subnets, in two or more availability zones; required with router alb."),
        certificateArn: text(/^arn:aws[-a-z]*:acm:[-a-z0-9]+:[0-9]{12}:certificate\/[-0-9a-f]+$/, "must be an ACM certificate ARN")
            .optional()
            .describe("The ACM certificate of the HTTPS listener; required with router alb unless hostedZoneId is set."),
        hostedZoneId: text(/^Z[A-Z0-9]+$/, "must be a Route 53 hosted zone id such as Z0123456789ABC")
            .optional()
            .describe("A Route 53 hosted zone: without certificateArn, an ACM certificate is created and DNS-validated in it."),
        sslPolicy: checked((p) => TLS12_POLICY_PREFIXES.some((prefix) => p.startsWith(prefix)), `must be a TLS 1.2+ policy starting with ${TLS12_POLICY_PREFIXES.join(", ")}`)
            .default("ELBSecurityPolicy-TLS13-1-2-2021-06")
            .describe("The HTTPS listener's security policy."),
        allowedCidrs: z
            .array(text(CIDR, "must be an IPv4 CIDR such as 10.0.0.0/8"))
            .min(1)
            .default(["0.0.0.0/0"])
            .describe("Who may reach the ALB on ports 80 and 443."),
        internal: z.boolean().default(false).describe("An internal ALB instead of an internet-facing one."),
        stickiness: z
            .strictObject({
                enabled: z.boolean().default(false).describe("Target group stickiness on the weighted rule."),
                durationSeconds: z
                    .number()
                    .int()
                    .min(1, "must be 1 to 604800 seconds")
                    .max(604800, "must be 1 to 604800 seconds")
                    .default(3600)
                    .describe("How long a client sticks to its target group."),
            })
            .default({ enabled: false, durationSeconds: 3600 })
            .describe("Stickiness of the weighted forward action."),
        controller: z
            .strictObject({
                install: z.boolean().default(false).describe("Install the AWS Load Balancer Controller (Helm); most EKS clusters already run it."),
                clusterName: z.string().min(1).optional().describe("The EKS cluster's name; required with install."),
                serviceAccountRoleArn: text(/^arn:aws[-a-z]*:iam::[0-9]{12}:role\/.+$/, "must be an IAM role ARN")
                    .optional()
                    .describe("IAM role for the controller's service account (IRSA); required with install."),
            })
            .default({ install: false })
            .describe("The AWS Load Balancer Controller, which runs the TargetGroupBindings."),
    })
    .describe("The alb router (prod): an ALB whose listener rule splits traffic between two target groups.");

/**
 * The Service type of an installed router's entry (ingress-nginx's controller, Envoy Gateway's proxy).
 * Both charts default to LoadBalancer, which never gets an address on kind or minikube without a
 * tunnel, so Helm's wait (and `pulumi up`) would time out; NodePort works everywhere.
 */
const serviceType = z.enum(["NodePort", "LoadBalancer", "ClusterIP"], { error: "must be NodePort, LoadBalancer or ClusterIP" }).default("NodePort");

const nginx = z
    .strictObject({
        ingressClass: dnsLabel.default("nginx").describe("The IngressClass of both Ingresses."),
        namespace: dnsLabel.default("ingress-nginx").describe("The ingress-nginx controller's namespace: the NetworkPolicy admits traffic from it."),
        install: z.boolean().default(false).describe("Install ingress-nginx (Helm); false when the cluster has one (e.g. the minikube addon)."),
        serviceType: serviceType.describe("The installed controller's Service type: NodePort works on kind and minikube, LoadBalancer on a cloud."),
    })
    .describe("The nginx router (a retired controller): a stable and a canary Ingress with ingress-nginx's canary annotations.");

const gateway = z
    .strictObject({
        install: z.boolean().default(true).describe("Install Envoy Gateway (Helm), an EnvoyProxy, a GatewayClass and the app's Gateway; false attaches the HTTPRoute to parentRef."),
        namespace: dnsLabel
            .default("envoy-gateway-system")
            .describe("The gateway's data plane namespace (where Envoy Gateway runs its proxies): installed there, admitted by the NetworkPolicy."),
        className: dnsLabel.default("canary").describe("The name of the GatewayClass the stack installs."),
        serviceType: serviceType.describe("The installed Envoy proxies' Service type (through the EnvoyProxy): NodePort works on kind and minikube, LoadBalancer on a cloud."),
        parentRef: z
            .strictObject({
                name: dnsLabel.describe("The Gateway's name."),
                namespace: dnsLabel.describe("The Gateway's namespace."),
                sectionName: dnsLabel.optional().describe("The listener to attach to; unset: every listener that admits the route."),
            })
            .optional()
            .describe("The Gateway the cluster already has, which the HTTPRoute attaches to: required when install is false, refused otherwise."),
    })
    .describe("The gateway router (dev): an HTTPRoute on the Gateway API, by default on an Envoy Gateway the stack installs.");

const metricName = text(METRIC_NAME, "must be a Prometheus metric name");
const ratio = (dflt: number) => z.number().gt(0, "must be a ratio above 0 and at most 1").max(1, "must be a ratio above 0 and at most 1").default(dflt);
const positive = (dflt: number) => z.number().gt(0, "must be above 0").default(dflt);
const factor = (dflt: number) => z.number().min(1, "must be a factor of at least 1").default(dflt);

const contractLabel = checked(isContractLabel, `must be ${CONTRACT_RULES.label}`);
/**
 * A duration key, read by the one parser (domain/duration.ts) in the syntax of what reads the value:
 * Go's time.ParseDuration for Argo Rollouts' interval (pkg/apis/rollouts/v1alpha1/analysis_types.go
 * DurationString.Duration), Tempo's retention and the command's own (deadline, the load test), so
 * `1h30m` and `1.5h` pass where Go takes them; Prometheus's for what Prometheus and Loki read
 * (prometheus/common model/time.go): `30d`, whole numbers. None of them goes into a PromQL range
 * selector: the judge's ranges are whole seconds it writes itself (`evidenceQueries`).
 */
const goDuration = (example: string) =>
    checked(
        (v) => isPositiveDuration(v),
        `must be a Go duration above 0 (time.ParseDuration) such as ${example}, 1h30m or 1.5h: units ns, us, ms, s, m or h; not d, w or y`,
        GO_DURATION_PATTERN,
    );
const prometheusDuration = (example: string) =>
    checked(
        (v) => isPositiveDuration(v, "prometheus"),
        `must be a Prometheus duration above 0 such as ${example} or 1d12h: whole numbers, units y, w, d, h, m, s or ms, largest first`,
        PROMETHEUS_DURATION_PATTERN,
    );
const PRESET_DEFAULT = "Unset: the preset's";

const metrics = z
    .strictObject({
        source: z
            .enum(METRIC_SOURCES, { error: `must be one of ${METRIC_SOURCES.join(", ")}` })
            .default(DEFAULT_SOURCE)
            .describe(
                `Where the judge, the rules and the dashboard count requests, errors and latency: app (the app's own histogram, below) or the router in front of it, which counts what users saw, also from a canary that crashed or refuses connections: ${ROUTER_SOURCES.map((r) => `${r} (canary:router ${SOURCE_ROUTER[r]})`).join(", ")}. alb judges errors only (CloudWatch has no latency histogram). Ratio metrics stay the app's (docs/observability.md, "The router as the metric source").`,
            ),
        preset: z
            .enum(PRESET_NAMES, { error: `must be one of ${PRESET_NAMES.join(", ")}` })
            .default(DEFAULT_PRESET)
            .describe(
                "The app's instrumentation: prom-client (podinfo's: http_request_duration_seconds, labels status and path), opentelemetry (the HTTP semantic conventions as Prometheus stores them: http_server_request_duration_seconds, http_response_status_code, http_route) or micrometer (Spring Boot: http_server_requests_seconds, status, uri; _bucket needs percentiles-histogram). Each key below overrides one part.",
            ),
        histogram: metricName.optional().describe(`The request histogram's base name: _count the requests, _bucket the latency. ${PRESET_DEFAULT}.`),
        statusLabel: contractLabel.optional().describe(`The histogram's label with the response's status code. ${PRESET_DEFAULT}.`),
        routeLabel: contractLabel.optional().describe(`The histogram's label with the route, which tells user requests from probes and scrapes; not the status label. ${PRESET_DEFAULT}.`),
        errorStatus: checked(isErrorStatus, `must be ${CONTRACT_RULES.errorStatus}`)
            .optional()
            .describe(`The status label's values that are errors, as a PromQL =~ regex (anchored): what counts against the canary and the SLO. ${PRESET_DEFAULT} (5..).`),
        excludedRoutes: z
            .array(checked(isRouteValue, `must be ${CONTRACT_RULES.route}`))
            .max(MAX_EXCLUDED_ROUTES, `must list at most ${MAX_EXCLUDED_ROUTES} routes`)
            .optional()
            .describe(`Route label values that are probes or scrapes, not user requests: dropped from every request, error and latency series. ${PRESET_DEFAULT}; [] counts every route.`),
    })
    .describe("The app's metric contract: a preset, with any part overridden (docs/observability.md, \"The metric contract\").");

const alerts = z
    .strictObject({
        errorRatio: ratio(0.05).describe("CanaryHighErrorRate: the canary's 5xx ratio above this for 2m."),
        latencyP95Seconds: positive(1).describe("CanaryHighLatency: the canary's p95 above this many seconds for 2m."),
        errorRatioVsStable: factor(2).describe("CanaryVsStableErrorRatio: the canary's error ratio above this factor times stable's for 3m."),
        errorRatioFloor: ratio(0.01).describe("CanaryVsStableErrorRatio takes stable's ratio as at least this, so a stable without errors does not make every canary error fire."),
        latencyP99VsStable: factor(1.5).describe("CanaryHigherLatency: the canary's p99 above this factor times stable's p99 for 5m."),
        trafficSplitTolerance: z.number().gt(0).max(100).default(10).describe("CanaryTrafficSplitMismatch: the observed canary share this many percentage points away from the weight for 10m."),
        minRequestRate: z.number().min(0).default(0.1).describe("Requests per second (stable and canary together; not the preview) below which the traffic split is not judged: too few to measure a share."),
        cpuOfRequest: positive(1.5).describe("CanaryResourceUsage: a canary pod using more CPU than this factor of its request for 10m."),
        memoryOfLimit: ratio(0.9).describe("CanaryMemoryUsage: a canary pod's working set above this share of its memory limit for 5m."),
        slo: z
            .strictObject({
                objective: z
                    .number()
                    .gt(0, "must be between 0 and 1, e.g. 0.999")
                    .lt(1, "must be between 0 and 1, e.g. 0.999")
                    .default(0.999)
                    .describe("The share of requests that must not be 5xx."),
                periodDays: z.number().int().min(1).max(365).default(30).describe("The SLO period in days: the error budget's window."),
            })
            .prefault({})
            .describe("ErrorBudgetBurn: the availability SLO, judged by multiwindow multi-burn-rate alerts."),
        runbookBaseUrl: baseUrl("https://github.com/org/repo/blob/main/docs/runbooks")
            .default("https://github.com/example/canary/blob/main/docs/runbooks")
            .describe("Base of every alert's runbook_url: this repository's docs/runbooks folder as your users reach it."),
    })
    .describe("Alert thresholds; the defaults are the seed rules' values.");

const monitoring = z
    .strictObject({
        install: z.boolean().default(true).describe("Install kube-prometheus-stack (Helm); false uses the one the cluster runs (bring your own)."),
        namespace: dnsLabel
            .default("monitoring")
            .describe("The monitoring stack's namespace: created when installing; the dashboard goes there and the NetworkPolicy admits it."),
        prometheusUrl: baseUrl("http://prometheus-operated.monitoring:9090")
            .optional()
            .describe("The Prometheus the judge queries; unset: the installed one. Required when install is false."),
        ruleLabels: labelMap.default({}).describe("Labels an existing Prometheus's ruleSelector needs on the PrometheusRules (e.g. release: kube-prometheus-stack)."),
        serviceMonitorLabels: labelMap.default({}).describe("Labels an existing Prometheus's serviceMonitorSelector needs on the ServiceMonitors."),
        retention: prometheusDuration("30d").describe(
            "How long Prometheus keeps data: at least canary:alerts.slo.periodDays, which the error-budget panel and burn rates read.",
        ),
        storage: z
            .strictObject({
                size: text(QUANTITY, "must be a Kubernetes quantity such as 50Gi").describe("The volume's size."),
                storageClass: dnsLabel.optional().describe("Its StorageClass; unset: the cluster's default."),
            })
            .describe("Prometheus's PersistentVolumeClaim: the history survives a pod restart."),
        // Prometheus runs inside the chart, outside the Deployment policy; a CPU limit there only throttles queries.
        prometheusResources: resourcesWithCpuLimit(quantity.optional()).describe("Prometheus's requests and limits; no CPU limit by default."),
    })
    .describe("Metrics: kube-prometheus-stack (Prometheus, Alertmanager, Grafana) in its own namespace.");

const alertmanager = z
    .strictObject({
        slackChannel: text(/^[#@]?[a-z0-9][-_a-z0-9]*$/, "must be a Slack channel such as #alerts")
            .default("#alerts")
            .describe("The Slack channel for critical and warning alerts (with canary:slackWebhookUrl)."),
    })
    .describe("Alertmanager's receivers; the webhook and routing key are secrets (canary:slackWebhookUrl, canary:pagerdutyRoutingKey).");

export const LOG_OUTPUTS = ["loki", "elasticsearch", "stdout"] as const;

/** A DNS name (any case: Fluent Bit resolves it), an IPv4 address, or an IPv6 one without brackets. */
const ES_HOST = /^(([A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?)*|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*)$/;
/**
 * An index name Elasticsearch accepts (lower case, none of \ / * ? " < > | , # : or space, not
 * starting with - _ +, at most 255 bytes), narrowed to what Fluent Bit's config cannot misread
 * (no `$`, braces or whitespace).
 */
const ES_INDEX = /^[a-z0-9][-a-z0-9_.+]{0,254}$/;

const logging = z
    .strictObject({
        enabled: z.boolean().default(true).describe("Install Fluent Bit (and Loki, with output loki) in the logging namespace; false leaves log shipping to the cluster."),
        output: z
            .enum(LOG_OUTPUTS, { error: `must be one of ${LOG_OUTPUTS.join(", ")}` })
            .default("loki")
            .describe("Where Fluent Bit ships container logs."),
        elasticsearch: z
            .strictObject({
                // Fluent Bit's config has one `key value` per line and no escapes: a newline in a value
                // starts a section of the config's author's choosing, `${VAR}` reads the pod's environment.
                host: text(ES_HOST, "must be a host name or IP address such as elasticsearch.logging.svc or 10.0.0.5 (no spaces or newlines: it is written into Fluent Bit's config)").describe(
                    "The Elasticsearch host.",
                ),
                port: z.number().int().min(1).max(65535).default(9200).describe("Its port."),
                index: text(ES_INDEX, "must be an Elasticsearch index name: lower-case letters, digits, '-', '_', '.' and '+', not starting with '-', '_', '+' or '.', at most 255")
                    .default("canary")
                    .describe("The index logs go to."),
                tls: z.boolean().default(true).describe("Connect with TLS."),
            })
            .optional()
            .describe("The Elasticsearch output; required when output is elasticsearch."),
        lokiStorageSize: text(QUANTITY, "must be a Kubernetes quantity such as 10Gi")
            .default("10Gi")
            .describe("The size of Loki's filesystem volume (single binary; no object storage)."),
        lokiStorageClass: dnsLabel.optional().describe("Loki's volume's StorageClass; unset: the cluster's default."),
        lokiRetention: prometheusDuration("14d")
            .default("14d")
            .describe("How long Loki keeps logs; its compactor deletes older ones, so the volume does not fill up."),
    })
    .describe("Logs: Fluent Bit with app, track and version from pod labels, to Loki, Elasticsearch or stdout.");

const tracing = z
    .strictObject({
        enabled: z.boolean().default(false).describe("Have both tracks export OTLP traces to Tempo in the monitoring namespace, installing it there unless install is false."),
        install: z.boolean().default(true).describe("Install Tempo and its Grafana datasource; false: a platform stack's (or the cluster's) Tempo in the monitoring namespace receives the traces."),
        retention: goDuration("72h").default("72h").describe("How long Tempo keeps traces (its block retention)."),
        storageSize: text(QUANTITY, "must be a Kubernetes quantity such as 10Gi").default("10Gi").describe("The size of Tempo's PersistentVolumeClaim."),
        storageClass: dnsLabel.optional().describe("Its StorageClass; unset: the cluster's default."),
    })
    .describe("Traces: Grafana Tempo (single binary) in the monitoring namespace, receiving the app's OTLP traces.");

const istio = z
    .strictObject({
        gateway: text(/^[a-z0-9-]+\/[a-z0-9-]+$/, "must be <namespace>/<name> of an Istio Gateway")
            .default("istio-system/ingressgateway")
            .describe("The Istio Gateway the VirtualService binds to, <namespace>/<name>; it must exist and terminate TLS."),
    })
    .describe("The istio router: a VirtualService over the two tracks' DestinationRule subsets; Istio is not installed by the stack.");

/**
 * The judge's bearer token: RFC 6750's b64token characters, so it travels in `Authorization: Bearer …`
 * as it is; at least the 32 characters the judge requires of its `--token-file`.
 */
const BEARER_TOKEN = /^[A-Za-z0-9._~+/-]+=*$/;
export const JUDGE_TOKEN_MIN = 32;
const JUDGE_TOKEN_MAX = 4096;

/** The judge node image: Node.js 22 (the version the project runs on), by exact version tag. */
export const DEFAULT_JUDGE_IMAGE = "docker.io/library/node:22.23.3-alpine";

/** A business metric judged like the errors: a pair of the app's counters and the direction that is bad. */
const ratioMetric = z
    .strictObject({
        name: dnsLabel
            .refine((n) => !BUILT_IN_TESTS.includes(n), `must not be one of the judge's own tests (${BUILT_IN_TESTS.join(", ")})`)
            // Evidence is keyed by test name: `constructor` would be found on every object's prototype.
            .refine((n) => !isPrototypeName(n), "must not be constructor (a name every JavaScript object has: evidence is keyed by test name)")
            .describe("The test's name in the judge's answer, the evidence and the dashboard."),
        events: metricName.describe("The counter of events, e.g. checkouts_failed_total."),
        total: metricName.describe("The counter they are a share of, e.g. checkouts_total."),
        bad: z
            .enum(["up", "down"], { error: "must be up (a higher share is worse) or down (a lower share is worse)" })
            .describe("up: a higher share is the regression (failures); down: a lower one is (conversions)."),
    })
    .refine((r) => r.events !== r.total, { message: "events and total must be two different counters", path: ["total"] });

const analysis = z
    .strictObject({
        enabled: z.boolean().default(true).describe("Run an AnalysisRun for every stage above 0; false installs no Argo Rollouts and no judge."),
        installController: z
            .boolean()
            .default(true)
            .describe(
                "Install Argo Rollouts (Helm); false uses the cluster's own controller, which must be v1.8 or later: older ones drop consecutiveSuccessLimit, and a run of HOLDs ends Successful, which the stage does not pass.",
            ),
        controllerInstanceId: text(/^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/, "must be a Kubernetes label value (letters, digits, '-', '_', '.', at most 63) such as team-a")
            .optional()
            .describe("The --instance-id of the controller that runs the stage's AnalysisRun, set as its controller-instance-id label; unset: no label."),
        wait: z.boolean().default(true).describe("pulumi up of a stage waits for its AnalysisRun and passes only on the judge's PROMOTE."),
        // Default the scrape interval: a look more often sees no new counts, a look less often (1m) made the
        // benchmark's healthy rollout about a minute longer, as each stage's decision waits for the next look.
        interval: goDuration("15s")
            .default(`${SCRAPE_INTERVAL_SECONDS}s`)
            .describe("How often the run asks the judge (a Go duration, as Argo Rollouts reads it)."),
        deadline: goDuration("30m")
            .default("30m")
            .describe("The longest a stage is judged: HOLD until then ends the run Inconclusive. At least two intervals, at most 7d."),
        ratios: z
            .array(ratioMetric)
            .max(MAX_RATIOS, `at most ${MAX_RATIOS} ratio metrics: the judge refuses more (each is two Prometheus queries per ask)`)
            .refine((rs) => new Set(rs.map((r) => r.name)).size === rs.length, "each ratio needs its own name")
            .default([])
            .describe("Business metrics judged with errors and latency, each a pair of counters: a PROMOTE waits for them, a regression rolls back. At most 8."),
        attempt: z
            .number()
            .int("must be a whole number")
            .min(0, "must be 0 or more")
            .default(0)
            .describe("The stage's attempt: a new value starts a new AnalysisRun for the same stage (rollout retry raises it)."),
        judge: z
            .strictObject({
                install: z.boolean().default(true).describe("Run the judge in the app's namespace: a node image with the judge's bundled code in a ConfigMap."),
                image: image.default(DEFAULT_JUDGE_IMAGE).describe("The node image the installed judge (and the load test) runs: any Node.js 22+; pinned by digest (image@sha256:...) where canary:pinnedImages is true."),
                url: baseUrl("http://judge.example:8080")
                    .optional()
                    .describe("The base URL of a judge that runs elsewhere (rollout serve); required when install is false, refused otherwise."),
                token: text(BEARER_TOKEN, "must be a bearer token of letters, digits and - . _ ~ + / (RFC 6750 b64token), no spaces")
                    .min(JUDGE_TOKEN_MIN, `must be at least ${JUDGE_TOKEN_MIN} characters`)
                    .max(JUDGE_TOKEN_MAX, `must be at most ${JUDGE_TOKEN_MAX} characters`)
                    .optional()
                    .describe(
                        "Secret (pulumi config set --secret --path): the token the external judge (rollout serve --token-file) requires of every ask; the stack keeps it in the Secret canary-judge-token. Required when install is false, refused otherwise (the installed judge's token is generated).",
                    ),
            })
            .prefault({})
            .describe("The judge service (rollout serve) the stage's AnalysisRun asks."),
    })
    .describe("The stage gate: one Argo Rollouts AnalysisRun per stage, asking the judge until it decides.");

const loadTest = z
    .strictObject({
        enabled: z.boolean().default(false).describe("A load-test Job per stage above 0, so the judge has requests to judge."),
        rate: z
            .number()
            .gt(0, "must be above 0 requests per second")
            .max(10_000, "must be at most 10000 requests per second")
            .default(10)
            .describe("Requests per second."),
        duration: goDuration("30m").optional().describe("How long each stage's Job sends; unset: the analysis deadline."),
        path: httpPath.default("/").describe("The path it requests."),
        headers: z
            .record(text(/^[A-Za-z0-9-]+$/, "must be an HTTP header name"), text(/^[^\p{Cc}]*$/u, "must be an HTTP header value: no control characters such as a newline"))
            .default({})
            .describe("More request headers on every request (e.g. an authorization header). The canary header would send the load to the preview track, which the judge does not count."),
        target: baseUrl("https://envoy.gateway-system.svc:443")
            .optional()
            .describe("The router's entry as pods reach it; unset: the Service of the Envoy Gateway or ingress-nginx the stack installs. Required for any other router."),
    })
    .describe("Traffic during each stage's analysis: a bounded Job per stage above 0 sending requests through the router.");

const tls = z
    .strictObject({
        enabled: z.boolean().default(true).describe("Issue a certificate for the app host with cert-manager (nginx router, or the Gateway the stack installs)."),
        installCertManager: z.boolean().default(true).describe("Install cert-manager (Helm, with its CRDs); false uses the cluster's own."),
        issuer: z.enum(["selfsigned", "acme"], { error: "must be selfsigned or acme" }).describe("The ClusterIssuer: self-signed, or ACME with HTTP-01 through the router."),
        acmeEmail: z.email({ error: "must be an e-mail address" }).optional().describe("The ACME account's e-mail; required with issuer acme."),
        acmeServer: z.url().default("https://acme-v02.api.letsencrypt.org/directory").describe("The ACME directory (Let's Encrypt production by default)."),
    })
    .describe("TLS for the app host where the stack serves it (the ALB uses ACM instead: canary:alb).");

const promotion = z
    .strictObject({
        required: z.boolean().default(false).describe("The canary must be the gating stack's promotedVersion, with its evidence."),
        stack: text(STACK_NAME, "must be a fully qualified stack name, <org>/<project>/<stack>")
            .optional()
            .describe("The gating stack, <org>/<project>/<stack>; unset: <org>/canary/dev."),
        allowUnverified: z.boolean().default(false).describe("Run an unpromoted canary anyway: a warning, and promotionCheck reads skipped (allowUnverified)."),
        // About half the requests Wald's test expects to promote a healthy canary in the benchmark's
        // setting (1,891 at 0.5% errors, the floor lines of `npm run bench`).
        minCanaryRequests: z
            .number()
            .int("must be a whole number")
            .min(0, "must be 0 or more")
            .default(1000)
            .describe("Canary requests each compared stage of the gating stack must have judged, so a PROMOTE on a handful of requests does not carry a version on."),
    })
    .describe("Stack-to-stack promotion: this stack runs only a canary another stack promoted, on that stack's evidence.");

/** A configured canary header value: at least the generated value's length (32 of 36 symbols, about 165 bits). */
export const HEADER_VALUE_MIN = 32;
const HEADER_VALUE_MAX = 128;

/**
 * The canary header: a request that carries it reaches the canary's image at any weight, for testers.
 * Its name must suit every router that matches it: Istio's header keys are lower case
 * (VirtualService HTTPMatchRequest.headers) and an ALB's httpHeaderName is at most 40 characters
 * (the ListenerRule's HttpHeaderConditionConfig), which also refuses the host header.
 */
const header = z
    .strictObject({
        enabled: z
            .boolean()
            .default(false)
            .describe(
                "Route requests that carry the header, with the secret value the stack generates (the canaryHeader output), to a one-pod preview of the canary image (track preview), at every weight; its requests are never the stage's evidence. Refused with router nginx.",
            ),
        name: text(/^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$/, "must be a lower-case HTTP header name: letters, digits and '-', at most 40 characters, such as x-canary")
            .refine((n) => n !== "host", "must not be host: the routers match the app host already")
            .default("x-canary")
            .describe("The header's name."),
        value: text(/^[a-z0-9]+$/, "must be lower-case letters and digits only (an ALB compares header values case-insensitively)")
            .min(HEADER_VALUE_MIN, `must be at least ${HEADER_VALUE_MIN} characters: a value anyone could guess opens the canary to anyone`)
            .max(HEADER_VALUE_MAX, `must be at most ${HEADER_VALUE_MAX} characters`)
            .optional()
            .describe(
                "Secret (pulumi config set --secret --path): the header's value, where testers' tooling or a secret manager already holds one; unset: the stack generates it (32 characters). Used only with enabled true.",
            ),
    })
    .describe("The canary header for testers: off by default; where on, its value is a secret, generated by the stack unless configured.");

export const ROUTERS = ["alb", "gateway", "nginx", "istio"] as const;

export const stackConfigSchema = z.strictObject({
    platform: text(STACK_NAME, "must be a fully qualified stack name, <org>/<project>/<stack>, such as acme/platform/dev")
        .optional()
        .describe(
            "The platform stack (<organization>/<project>/<stack>, program platform/) whose add-ons this service uses: its outputs set the Prometheus, the monitoring namespace, the shared Gateway and the add-on switches, which this stack then may not set.",
        ),
    environment: z
        .enum(ENVIRONMENTS, { error: `must be one of ${ENVIRONMENTS.join(", ")}` })
        .describe("Which environment's defaults apply; unset: the stack's name when it is dev or prod (required for any other stack name)."),
    weight: z
        .number({ error: "must be a number: 0 or one of canary:stages" })
        .min(0, "must be 0 to 100: 0 or one of canary:stages")
        .max(100, "must be 0 to 100: 0 or one of canary:stages")
        .default(0)
        .describe("The stage: the canary's percent of traffic, 0 or one of canary:stages; stable gets the rest."),
    stages: z
        .array(z.number().int("must be a whole percent").min(1, "must be 1 to 100").max(100, "must be 1 to 100"))
        .min(1)
        .default([...DEFAULT_STAGES])
        .describe("The stages in order: strictly increasing whole percents ending in 100."),
    allowStageSkip: z.boolean().default(false).describe("Allow a move other than stay, next stage or 0; set it back to false after."),
    pinnedImages: z.boolean().describe("Refuse any image (app tracks, judge, load test) not pinned by a sha256 digest."),
    router: z.enum(ROUTERS, { error: `must be one of ${ROUTERS.join(", ")}` }).describe("What splits the traffic: alb, gateway, nginx (a retired controller) or istio."),
    app,
    alb: alb.prefault({}),
    nginx: nginx.prefault({}),
    gateway: gateway.prefault({}),
    metrics: metrics.prefault({}),
    alerts: alerts.prefault({}),
    monitoring,
    alertmanager: alertmanager.prefault({}),
    logging: logging.prefault({}),
    tracing: tracing.prefault({}),
    istio: istio.prefault({}),
    analysis: analysis.prefault({}),
    tls,
    loadTest: loadTest.prefault({}),
    promotion: promotion.prefault({}),
    header: header.prefault({}),
    slackWebhookUrl: z
        .url({ protocol: /^https$/, error: "must be an https:// Slack incoming-webhook URL" })
        .optional()
        .describe("Secret: the Slack incoming webhook; no Slack receiver without it."),
    pagerdutyRoutingKey: text(/^[A-Za-z0-9]{32}$/, "must be a 32-character PagerDuty Events API v2 integration key")
        .optional()
        .describe("Secret: the PagerDuty Events API v2 routing key; no PagerDuty receiver without it."),
    grafanaAdminPassword: z.string().min(16, "must be at least 16 characters").optional().describe("Secret: Grafana's admin password; unset: generated."),
});

/** Keys (paths below `canary:`, dotted) whose values are secrets: set with `pulumi config set --secret`, never shown in an error message. */
export const SECRET_KEYS: ReadonlySet<string> = new Set(["slackWebhookUrl", "pagerdutyRoutingKey", "grafanaAdminPassword", "analysis.judge.token", "header.value"]);

type Parsed = z.infer<typeof stackConfigSchema>;

/** Every key optional, at any depth: what a program may leave to the defaults (lists stay whole). */
type DeepPartial<T> = T extends readonly unknown[] ? T : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;

/**
 * A service's config as a program gives it (`CanaryService`): the stack config's keys without the
 * project's prefix, as a stack file holds them; what the environment's defaults fill in may be left out.
 */
export type StackConfigInput = DeepPartial<z.input<typeof stackConfigSchema>>;

export interface TrackConfig {
    readonly image: string;
    readonly version: string;
    readonly replicas: number;
    readonly resources: Parsed["app"]["stable"]["resources"];
    /** The track's own variables, over canary:app.env by name (`trackEnv` in components/delivery/workload.ts). */
    readonly env: readonly EnvVarConfig[];
}

export type AlbConfig = Parsed["alb"];
export type NginxConfig = Parsed["nginx"];
export type GatewayConfig = Parsed["gateway"];

/** Whether the stack installs the router's entry (Envoy Gateway's proxies, ingress-nginx's controller), whose in-cluster address it then knows. */
export function installsRouterEntry(c: Pick<Parsed, "router" | "gateway" | "nginx">): boolean {
    return (c.router === "gateway" && c.gateway.install) || (c.router === "nginx" && c.nginx.install);
}

/**
 * Whether the stack issues the app host's certificate with cert-manager: for ingress-nginx, and for a
 * Gateway it installs (an existing Gateway's listeners and certificates are its owner's).
 */
export function usesCertManager(c: Pick<Parsed, "router" | "gateway" | "tls">): boolean {
    return c.tls.enabled && (c.router === "nginx" || (c.router === "gateway" && c.gateway.install));
}

/** The validated, resolved stack config the program builds from. */
export interface StackConfig extends Omit<Parsed, "app" | "metrics"> {
    /** `canary:metrics` resolved: the preset's contract with the given keys in place. */
    readonly metrics: MetricNames;
    readonly app: Omit<Parsed["app"], "namespace" | "stable" | "canary"> & {
        readonly namespace: string;
        readonly stable: TrackConfig;
        readonly canary: TrackConfig;
    };
    /** False after a promotion, when the canary is the stable version: it then runs no pods. */
    readonly canaryDiffers: boolean;
}

/** A problem with one key: `path` is below `canary:`, e.g. `["app", "stable", "image"]`. */
export interface ConfigIssue {
    readonly path: (string | number)[];
    readonly message: string;
}

/** An image that canary:pinnedImages requires by digest: a tag can be pushed again, a digest names the bytes. */
function unpinned(path: string[], environment: string): ConfigIssue {
    return { path, message: `must be pinned by digest in environment ${environment} (canary:pinnedImages is true): <repository>[:tag]@sha256:<64 hex digits>` };
}

/** Values of `xs` that appear more than once, by `key`. */
function duplicated<T>(xs: readonly T[], key: (x: T) => string): Set<string> {
    const seen = new Set<string>();
    return new Set(xs.map(key).filter((k) => seen.has(k) || !seen.add(k)));
}

/** The pod's cross-key rules: what names a port, a volume or a variable must name what exists, and never take the program's own. */
function podIssues(c: Parsed): ConfigIssue[] {
    const app = c.app;
    const issues: ConfigIssue[] = [];
    const portNames = app.ports.map((p) => p.name);
    app.ports.forEach((p, i) => {
        if (p.name === APP_PORT_NAME) issues.push({ path: ["app", "ports", i, "name"], message: `must not be ${APP_PORT_NAME}: that is canary:app.port's name` });
        if (p.containerPort === app.port && p.protocol === "TCP") issues.push({ path: ["app", "ports", i, "containerPort"], message: `is canary:app.port already (named ${APP_PORT_NAME}): name that in a probe` });
    });
    const sameNumber = duplicated(app.ports, (p) => `${p.containerPort}/${p.protocol}`);
    app.ports.forEach((p, i) => {
        if (sameNumber.has(`${p.containerPort}/${p.protocol}`)) issues.push({ path: ["app", "ports", i, "containerPort"], message: `must be unique: another of canary:app.ports has ${p.protocol} port ${p.containerPort}` });
    });
    for (const kind of ["readiness", "liveness", "startup"] as const) {
        const port = app.probes[kind]?.port;
        if (typeof port !== "string" || port === APP_PORT_NAME) continue;
        const named = app.ports.find((p) => p.name === port);
        if (named === undefined) {
            issues.push({ path: ["app", "probes", kind, "port"], message: `must name a defined port: ${[APP_PORT_NAME, ...portNames].join(", ")} (canary:app.port and canary:app.ports), or be a number` });
        } else if (named.protocol !== "TCP") {
            issues.push({ path: ["app", "probes", kind, "port"], message: `names a ${named.protocol} port: an HTTP probe needs TCP` });
        }
    }
    // The ALB health-checks the target group's traffic port (canary:app.port) with the readiness path:
    // a readiness probe on another port would check that path where it is not served.
    const readinessPort = app.probes.readiness.port;
    if (c.router === "alb" && readinessPort !== APP_PORT_NAME && readinessPort !== app.port) {
        issues.push({ path: ["app", "probes", "readiness", "port"], message: `must be canary:app.port (${APP_PORT_NAME} or ${app.port}) with canary:router alb: the ALB health-checks the readiness path on the traffic port` });
    }
    const volumeNames = app.volumes.map((v) => v.name);
    const scratchNames = SCRATCH_PATHS.map((_, i) => scratchVolumeName(i));
    app.volumes.forEach((v, i) => {
        if (scratchNames.includes(v.name)) issues.push({ path: ["app", "volumes", i, "name"], message: `is the program's: ${scratchNames.join(", ")} are its scratch directories' volumes` });
    });
    const samePath = duplicated(app.volumeMounts, (m) => m.mountPath);
    app.volumeMounts.forEach((m, i) => {
        if (!volumeNames.includes(m.name)) issues.push({ path: ["app", "volumeMounts", i, "name"], message: `must name one of canary:app.volumes (${volumeNames.join(", ") || "none defined"})` });
        if (SCRATCH_PATHS.includes(m.mountPath)) issues.push({ path: ["app", "volumeMounts", i, "mountPath"], message: `is the program's: ${SCRATCH_PATHS.join(" and ")} are its writable scratch directories` });
        else if (samePath.has(m.mountPath)) issues.push({ path: ["app", "volumeMounts", i, "mountPath"], message: "must be unique: another mount has this path" });
    });
    const programEnv: readonly string[] = c.tracing.enabled ? [...PROGRAM_ENV, ...TRACING_ENV] : PROGRAM_ENV;
    const envLists: [(string | number)[], readonly EnvVarConfig[]][] = [[["app", "env"], app.env], [["app", "stable", "env"], app.stable.env], [["app", "canary", "env"], app.canary.env]];
    for (const [path, env] of envLists) {
        env.forEach((e, i) => {
            if (programEnv.includes(e.name)) issues.push({ path: [...path, i, "name"], message: `is set by the program (${programEnv.join(", ")}${c.tracing.enabled ? ", with canary:tracing.enabled" : ""}): choose another name` });
        });
    }
    for (const key of Object.keys(app.labels)) {
        if (RESERVED_POD_LABELS.includes(key)) issues.push({ path: ["app", "labels", key], message: `is the program's: its selectors and series read ${RESERVED_POD_LABELS.join(", ")}` });
    }
    for (const key of Object.keys(app.annotations)) {
        if (SECURITY_ANNOTATION_PREFIXES.some((prefix) => key.startsWith(prefix))) issues.push({ path: ["app", "annotations", key], message: "is the program's: its securityContext sets the AppArmor and seccomp profiles (restricted Pod Security level)" });
    }
    if (app.canary.env.length > 0 && !isRelease(app)) {
        issues.push({ path: ["app", "canary", "env"], message: "is used only with a new canary image: a canary with stable's image and version is stable and runs no pods (set canary:app.canary.image, or move the variables to canary:app.env or canary:app.stable.env)" });
    }
    return issues;
}

/** Cross-key rules that one field's schema cannot see. */
export function crossKeyIssues(c: Parsed): ConfigIssue[] {
    const issues: ConfigIssue[] = [];
    const labels = contractLabelsProblem(metricContract(c.metrics, c.app.port));
    if (labels) {
        // Name the key the stack file set (the other one may be the preset's).
        const [key, other] = c.metrics.routeLabel !== undefined ? ["routeLabel", "statusLabel"] : ["statusLabel", "routeLabel"];
        issues.push({ path: ["metrics", key], message: `must not be the same label as canary:metrics.${other} (set or the preset's): ${labels}` });
    }
    const source = c.metrics.source;
    if (isRouterSource(source) && SOURCE_ROUTER[source] !== c.router) {
        issues.push({ path: ["metrics", "source"], message: `is ${source}, the metrics of the ${SOURCE_ROUTER[source]} router, but canary:router is ${c.router}: use app or the source of canary:router ${c.router} (${ROUTER_SOURCES.filter((r) => SOURCE_ROUTER[r] === c.router).join(", ")})` });
    }
    const stages = c.stages;
    if (stages.some((s, i) => i > 0 && s <= stages[i - 1]) || stages[stages.length - 1] !== 100) {
        issues.push({ path: ["stages"], message: "must be strictly increasing whole percents ending in 100, e.g. [5, 25, 50, 100]" });
    }
    if (c.weight !== 0 && !stages.includes(c.weight) && c.weight >= 0 && c.weight <= 100) {
        issues.push({ path: ["weight"], message: `must be 0 or one of canary:stages [${stages.join(", ")}]` });
    }
    if (c.weight > 0 && c.app.canary.image === undefined) {
        issues.push({ path: ["app", "canary", "image"], message: `is required while canary:weight is ${c.weight} (above 0): set the canary image` });
    }
    for (const t of ["stable", "canary"] as const) {
        const img = c.app[t].image;
        if (img === undefined) continue;
        if (c.pinnedImages && !isPinned(img)) issues.push(unpinned(["app", t, "image"], c.environment));
        if (c.app[t].version === undefined && versionOf(img) === undefined) {
            issues.push({ path: ["app", t, "version"], message: "is required when the image has neither tag nor digest" });
        }
    }
    issues.push(...podIssues(c));
    if (c.logging.output === "elasticsearch" && c.logging.elasticsearch === undefined) {
        issues.push({ path: ["logging", "elasticsearch"], message: "is required when canary:logging.output is elasticsearch: set host (and port, index)" });
    }
    if (c.monitoring.install && durationSeconds(c.monitoring.retention, "prometheus") < c.alerts.slo.periodDays * 86_400) {
        issues.push({
            path: ["monitoring", "retention"],
            message: `must cover the SLO period (canary:alerts.slo.periodDays = ${c.alerts.slo.periodDays} days): the error-budget panel and burn rates read that far back`,
        });
    }
    // The judge's node image runs the installed judge and the load test's Jobs.
    if (c.pinnedImages && ((c.analysis.enabled && c.analysis.judge.install) || c.loadTest.enabled) && !isPinned(c.analysis.judge.image)) {
        issues.push(unpinned(["analysis", "judge", "image"], c.environment));
    }
    if (c.analysis.enabled && !c.analysis.judge.install && c.analysis.judge.url === undefined) {
        issues.push({ path: ["analysis", "judge", "url"], message: "is required when canary:analysis.judge.install is false: the judge (rollout serve) the stage's analysis asks" });
    }
    if (c.analysis.judge.install && c.analysis.judge.url !== undefined) {
        issues.push({ path: ["analysis", "judge", "url"], message: "is used only when canary:analysis.judge.install is false: the installed judge is asked" });
    }
    if (c.analysis.enabled && !c.analysis.judge.install && c.analysis.judge.token === undefined) {
        issues.push({
            path: ["analysis", "judge", "token"],
            message: "is required when canary:analysis.judge.install is false: the token the external judge requires (pulumi config set --secret --path canary:analysis.judge.token, at least 32 characters)",
        });
    }
    if (c.analysis.judge.install && c.analysis.judge.token !== undefined) {
        issues.push({ path: ["analysis", "judge", "token"], message: "is used only when canary:analysis.judge.install is false: the installed judge's token is generated by the stack" });
    }
    if (c.analysis.enabled && durationSeconds(c.analysis.deadline) < 2 * durationSeconds(c.analysis.interval)) {
        issues.push({ path: ["analysis", "deadline"], message: `must be at least two intervals (canary:analysis.interval = ${c.analysis.interval}): the judge needs more than one look` });
    }
    if (durationSeconds(c.analysis.deadline) > MAX_DEADLINE_SECONDS) {
        issues.push({ path: ["analysis", "deadline"], message: `must be at most ${MAX_DEADLINE_SECONDS / 86400}d: the judge refuses a longer window (its queries would read that far back)` });
    }
    if (c.loadTest.enabled && c.loadTest.target === undefined && !installsRouterEntry(c)) {
        issues.push({ path: ["loadTest", "target"], message: `is required when canary:loadTest.enabled is true with router ${c.router}${c.router === "gateway" || c.router === "nginx" ? " not installed by the stack" : ""}: the router's entry as the cluster reaches it` });
    }
    if (!c.monitoring.install) {
        if (c.analysis.enabled && c.monitoring.prometheusUrl === undefined) {
            issues.push({ path: ["monitoring", "prometheusUrl"], message: "is required when canary:monitoring.install is false: the Prometheus the stage analysis queries" });
        }
        // Receivers and Grafana's login belong to the monitoring stack this program would install.
        for (const key of ["slackWebhookUrl", "pagerdutyRoutingKey", "grafanaAdminPassword"] as const) {
            if (c[key] !== undefined) issues.push({ path: [key], message: "is used only when canary:monitoring.install is true: the existing stack's Alertmanager and Grafana keep their own" });
        }
    }
    if (usesCertManager(c) && c.tls.issuer === "acme" && c.tls.acmeEmail === undefined) {
        issues.push({ path: ["tls", "acmeEmail"], message: "is required when canary:tls.issuer is acme" });
    }
    if (c.router === "gateway") {
        if (!c.gateway.install && c.gateway.parentRef === undefined) {
            issues.push({ path: ["gateway", "parentRef"], message: "is required when canary:gateway.install is false: the Gateway (name, namespace) the HTTPRoute attaches to" });
        }
        if (c.gateway.install && c.gateway.parentRef !== undefined) {
            issues.push({ path: ["gateway", "parentRef"], message: "is used only when canary:gateway.install is false: the installed Gateway is the route's parent" });
        }
    }
    // ingress-nginx applies at most one canary Ingress per Ingress rule (docs/user-guide/nginx-configuration/
    // annotations.md, Canary, "Known Limitations"),
    // and its by-header routing goes to that Ingress's backend, the canary Service: header requests
    // would be counted as the canary's, the stage's evidence.
    if (!c.header.enabled && c.header.value !== undefined) {
        issues.push({ path: ["header", "value"], message: "is used only when canary:header.enabled is true" });
    }
    if (c.header.enabled && c.router === "nginx") {
        issues.push({
            path: ["header", "enabled"],
            message: "must be false with canary:router nginx: ingress-nginx sends header requests to the canary Ingress's Service, so they would count as the stage's evidence; use router gateway, alb or istio for a canary header",
        });
    }
    if (c.router === "alb") {
        for (const key of ["vpcId", "subnetIds"] as const) {
            if (c.alb[key] === undefined) {
                issues.push({ path: ["alb", key], message: "is required when canary:router is alb" });
            }
        }
        if (c.alb.certificateArn === undefined && c.alb.hostedZoneId === undefined) {
            issues.push({ path: ["alb", "certificateArn"], message: "is required when canary:router is alb (or set canary:alb.hostedZoneId to create one)" });
        }
        if (c.alb.controller.install) {
            for (const key of ["clusterName", "serviceAccountRoleArn"] as const) {
                if (c.alb.controller[key] === undefined) {
                    issues.push({ path: ["alb", "controller", key], message: "is required when canary:alb.controller.install is true" });
                }
            }
        }
    }
    return issues;
}

function resolveTrack(t: Parsed["app"]["stable"]): TrackConfig {
    return { ...t, version: t.version ?? (versionOf(t.image) as string) };
}

/** Whether the canary is a release of its own: it has an image, and its image or version is not stable's. */
function isRelease(app: Parsed["app"]): boolean {
    const { stable, canary } = app;
    if (canary.image === undefined) return false;
    return canary.image !== stable.image || (canary.version ?? versionOf(canary.image)) !== (stable.version ?? versionOf(stable.image));
}

/** Fills in derived values: the namespace from the app's name, the metric contract from its preset, versions from image tags, and the canary as stable when it has no image. */
export function resolve(c: Parsed): StackConfig {
    const stable = resolveTrack(c.app.stable);
    const canaryImage = c.app.canary.image;
    const canary = canaryImage === undefined ? { ...stable, replicas: 0 } : resolveTrack({ ...c.app.canary, image: canaryImage });
    const canaryDiffers = isRelease(c.app);
    return {
        ...c,
        app: { ...c.app, namespace: c.app.namespace ?? c.app.name, stable, canary: canaryDiffers ? canary : { ...canary, replicas: 0 } },
        metrics: metricContract(c.metrics, c.app.port),
        canaryDiffers,
    };
}

/** Why a key is not taken: the pod's keys that would break the restricted Pod Security level say so. */
function unknownKeyMessage(path: (string | number)[], key: string): string {
    if (path[0] === "app") {
        if (path[1] === "volumes" && path.length === 3) return VOLUME_KIND_REFUSAL;
        if (Object.hasOwn(REFUSED_POD_KEYS, key)) return REFUSED_POD_KEYS[key];
    }
    return "is not a known key: check its spelling (docs/configuration.md)";
}

/** Zod's issue, in the words of stack config: one issue per key, "is required" for a missing one. */
function toConfigIssues(i: z.core.$ZodIssue): ConfigIssue[] {
    const path = i.path.map((p) => (typeof p === "symbol" ? String(p) : p));
    if (i.code === "unrecognized_keys") {
        return i.keys.map((key) => ({ path: [...path, key], message: unknownKeyMessage(path, key) }));
    }
    // A record key that fails its schema: zod reports "Invalid key in record"; its own message says why.
    if (i.code === "invalid_key" && i.issues.length > 0) return [{ path, message: i.issues[0].message }];
    return [{ path, message: i.message }];
}

const TYPE_WORDS: Readonly<Record<string, string>> = {
    string: "a string",
    number: "a number",
    int: "a whole number",
    boolean: "true or false",
    array: "a list",
    object: "an object (keys below it)",
    record: "an object (keys below it)",
};
const FORMAT_WORDS: Readonly<Record<string, string>> = { url: "a URL such as https://example.com", email: "an e-mail address" };

const bound = (what: "at least" | "at most" | "above" | "below", origin: string, n: unknown) =>
    origin === "array" ? `must list ${what} ${n}` : origin === "string" ? `must be ${what} ${n} character${n === 1 ? "" : "s"}` : `must be ${what} ${n}`;

/**
 * The words for a refusal whose schema gives none of its own (a schema's message always wins): zod's
 * defaults ("Invalid input: expected string, received number") are a validator's words, not a
 * config's, and docs/configuration.md promises `key = value: what is allowed`.
 */
function configMessage(i: z.core.$ZodRawIssue): string | undefined {
    switch (i.code) {
        case "invalid_type": {
            const what = TYPE_WORDS[i.expected] ?? i.expected;
            return i.input === undefined ? `is required (${what})` : `must be ${what}`;
        }
        case "too_small":
            return bound(i.inclusive ? "at least" : "above", i.origin, i.minimum);
        case "too_big":
            return bound(i.inclusive ? "at most" : "below", i.origin, i.maximum);
        case "invalid_format":
            return `must be ${FORMAT_WORDS[i.format] ?? `in the ${i.format} format`}`;
        case "invalid_value":
            return `must be one of ${i.values.map((v) => JSON.stringify(v)).join(", ")}`;
        default:
            return undefined;
    }
}

export type ParseResult = { ok: true; config: StackConfig } | { ok: false; issues: ConfigIssue[] };

/** Parses `raw` with `schema`, refusals in the words of stack config (a platform's config shares them). */
export function parseConfig<S extends z.ZodType>(schema: S, raw: unknown): { ok: true; data: z.infer<S> } | { ok: false; issues: ConfigIssue[] } {
    const parsed = schema.safeParse(raw, { error: configMessage });
    return parsed.success ? { ok: true, data: parsed.data } : { ok: false, issues: parsed.error.issues.flatMap(toConfigIssues) };
}

export function parseStackConfig(raw: unknown): ParseResult {
    const parsed = parseConfig(stackConfigSchema, raw);
    if (!parsed.ok) return parsed;
    const issues = crossKeyIssues(parsed.data);
    return issues.length > 0 ? { ok: false, issues } : { ok: true, config: resolve(parsed.data) };
}
