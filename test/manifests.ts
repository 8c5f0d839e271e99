/**
 * Kubernetes objects checked against the upstream schemas: `kubernetes-models` (generated from the
 * Kubernetes OpenAPI spec) for built-in kinds, the CRD model packages for custom kinds, and the CRDs'
 * own schemas where no package has them. The unit lane checks what the program registers; the engine
 * lane checks what the provider rendered.
 */
import * as assert from "assert";
import Ajv from "ajv";

/** The fields of `elbv2.k8s.aws_targetgroupbindings.yaml` (v1beta1) that this program uses, with their types and required lists. */
const targetGroupBindingSpec = {
    type: "object",
    required: ["serviceRef", "targetGroupARN"],
    properties: {
        serviceRef: {
            type: "object",
            required: ["name", "port"],
            properties: { name: { type: "string" }, port: { anyOf: [{ type: "integer" }, { type: "string" }] } },
        },
        targetGroupARN: { type: "string" },
        targetType: { enum: ["instance", "ip"] },
        ipAddressType: { enum: ["ipv4", "ipv6"] },
        networking: {
            type: "object",
            properties: {
                ingress: {
                    type: "array",
                    items: {
                        type: "object",
                        required: ["from", "ports"],
                        properties: {
                            from: {
                                type: "array",
                                items: {
                                    type: "object",
                                    properties: {
                                        ipBlock: { type: "object", required: ["cidr"], properties: { cidr: { type: "string" } } },
                                        securityGroup: { type: "object", required: ["groupID"], properties: { groupID: { type: "string" } } },
                                    },
                                },
                            },
                            ports: {
                                type: "array",
                                items: {
                                    type: "object",
                                    properties: { port: { anyOf: [{ type: "integer" }, { type: "string" }] }, protocol: { enum: ["TCP", "UDP"] } },
                                },
                            },
                        },
                    },
                },
            },
        },
    },
};
/**
 * The fields of Envoy Gateway's `gateway.envoyproxy.io_envoyproxies.yaml` (v1alpha1, chart v1.9.1) that
 * this program sets: the provider and its Envoy Service type, with the CRD's enums.
 */
const validateEnvoyProxy = new Ajv({ strict: false, allErrors: true }).compile({
    type: "object",
    required: ["apiVersion", "kind", "metadata", "spec"],
    properties: {
        apiVersion: { const: "gateway.envoyproxy.io/v1alpha1" },
        kind: { const: "EnvoyProxy" },
        spec: {
            type: "object",
            properties: {
                provider: {
                    type: "object",
                    required: ["type"],
                    properties: {
                        type: { enum: ["Kubernetes", "Custom", "Host"] },
                        kubernetes: {
                            type: "object",
                            properties: { envoyService: { type: "object", properties: { type: { enum: ["ClusterIP", "LoadBalancer", "NodePort"] }, name: { type: "string" } } } },
                        },
                    },
                },
            },
        },
    },
});

const validateTargetGroupBinding = new Ajv({ strict: false, allErrors: true }).compile({
    type: "object",
    required: ["apiVersion", "kind", "metadata", "spec"],
    properties: { apiVersion: { const: "elbv2.k8s.aws/v1beta1" }, kind: { const: "TargetGroupBinding" }, spec: targetGroupBindingSpec },
});

type Model = new (data: unknown) => { validate(): void };

/**
 * `@kubernetes-models/prometheus-operator` 6.x is ESM-only: load it with a real dynamic import,
 * which TypeScript would otherwise compile to `require`.
 */
const importEsm = new Function("specifier", "return import(specifier)") as (s: string) => Promise<Record<string, Model>>;
const esmModels = new Map<string, Model>();

/** Loads the ESM-only model packages; once, before the first `validateObject`. */
export async function loadSchemaModels(): Promise<void> {
    for (const kind of ["ServiceMonitor", "PrometheusRule"]) {
        const mod = await importEsm(`@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/${kind}`);
        esmModels.set(`monitoring.coreos.com/v1/${kind}`, mod[kind]);
    }
}

/** Schema packages of the custom API groups; built-in kinds come from `kubernetes-models`. */
const PACKAGES: Record<string, string> = {
    "argoproj.io": "@kubernetes-models/argo-rollouts",
    "networking.istio.io": "@kubernetes-models/istio",
    "cert-manager.io": "@kubernetes-models/cert-manager",
    "gateway.networking.k8s.io": "@kubernetes-models/gateway-api",
};

/** The model class for an apiVersion and kind, e.g. `kubernetes-models/apps/v1/Deployment`. */
function modelFor(apiVersion: string, kind: string): Model {
    const esm = esmModels.get(`${apiVersion}/${kind}`);
    if (esm) return esm;
    const pkg = PACKAGES[apiVersion.split("/")[0]] ?? "kubernetes-models";
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(`${pkg}/${apiVersion}/${kind}`)[kind];
}

/** Fails, naming `what`, unless the object validates against its kind's upstream schema. */
export function validateObject(what: string, o: Record<string, any>): void {
    const { apiVersion, kind } = o;
    if (apiVersion === "elbv2.k8s.aws/v1beta1") {
        assert.ok(validateTargetGroupBinding(o), `${what}: ${JSON.stringify(validateTargetGroupBinding.errors)}`);
        return;
    }
    if (apiVersion === "gateway.envoyproxy.io/v1alpha1") {
        assert.ok(validateEnvoyProxy(o), `${what}: ${JSON.stringify(validateEnvoyProxy.errors)}`);
        return;
    }
    const Model = modelFor(apiVersion, kind);
    try {
        new Model(o).validate();
    } catch (e) {
        assert.fail(`${what} does not validate: ${(e as Error).message}`);
    }
}

