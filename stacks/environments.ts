/**
 * Per-environment defaults: what differs between dev and prod. Defaults that do not differ live in
 * the schema (`schema.ts`). A stack's own `Pulumi.<stack>.yaml` overrides any of them, key by key
 * (objects merge, lists and scalars replace).
 *
 * Nothing here names an app: its name, port, probes' paths, host and images are the stack's own
 * (`app.namespace` defaults to `app.name` in the schema). A default app would deploy someone else's
 * image as the stable track of a stack that only forgot to set one.
 */

export const ENVIRONMENTS = ["dev", "prod"] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

const smallPod = {
    requests: { cpu: "50m", memory: "64Mi" },
    limits: { cpu: "500m", memory: "128Mi" },
};

const prodPod = {
    requests: { cpu: "100m", memory: "128Mi" },
    limits: { cpu: "1", memory: "256Mi" },
};

export const ENVIRONMENT_DEFAULTS: Record<Environment, Record<string, unknown>> = {
    dev: {
        // The Gateway API: Envoy Gateway, installed by the stack (canary:gateway.install defaults to true).
        router: "gateway",
        // A dev cluster (kind, minikube) usually has no ingress controller yet: with router nginx, install it.
        nginx: { install: true },
        // Traces beside metrics and logs: Tempo, and the app's pods exporting to it.
        tracing: { enabled: true },
        // Nobody uses a dev app: without this traffic every stage would only HOLD.
        loadTest: { enabled: true },
        pinnedImages: false,
        tls: { issuer: "selfsigned" },
        monitoring: { retention: "30d", storage: { size: "10Gi" }, prometheusResources: { requests: { cpu: "100m", memory: "512Mi" }, limits: { memory: "1Gi" } } },
        app: {
            stable: { replicas: 1, resources: smallPod },
            canary: { replicas: 1, resources: smallPod },
        },
    },
    prod: {
        router: "alb",
        pinnedImages: true,
        // Only used with router nginx: an in-cluster prod gets a real certificate.
        tls: { issuer: "acme" },
        // prod only runs what dev has promoted.
        promotion: { required: true },
        monitoring: { retention: "30d", storage: { size: "50Gi" }, prometheusResources: { requests: { cpu: "500m", memory: "2Gi" }, limits: { memory: "4Gi" } } },
        app: {
            stable: { replicas: 3, resources: prodPod },
            // At weight 100 the canary takes all traffic, so it gets stable's capacity.
            canary: { replicas: 3, resources: prodPod },
        },
    },
};
