/** Which cluster a stack deploys to: one explicit Kubernetes provider, and prod never on the ambient context. */
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { checkClusterTarget } from "../stacks/cluster";
import { runProgram, stackFileConfig, STACKS } from "./harness";

const PROVIDER_TYPE = "pulumi:providers:kubernetes";

describe("the Kubernetes provider and the cluster a stack names", () => {
    for (const stack of STACKS) {
        it(`${stack}: every Kubernetes resource uses the one explicit provider, built from the stack's kubernetes:* keys`, async () => {
            const { error, resources } = await runProgram({ stack, config: { weight: 5 } });
            assert.ifError(error);
            const providers = resources.filter((r) => r.type === PROVIDER_TYPE);
            assert.deepStrictEqual(providers.map((p) => p.name), ["k8s"]);
            const ref = `${providers[0].urn}::${providers[0].name}-id`;
            const kube = resources.filter((r) => r.custom && r.type.startsWith("kubernetes:"));
            assert.ok(kube.length > 20, `${kube.length} Kubernetes resources`);
            for (const r of kube) assert.strictEqual(r.provider, ref, `${r.type} ${r.name}`);
            const context = stack === "prod" ? "prod-eks" : undefined;
            assert.strictEqual(providers[0].inputs.context, context);
        });
    }

    it("prod on the ambient context is refused before anything is registered, naming the keys to set", async () => {
        const base = { ...stackFileConfig("prod") };
        delete base["@kubernetes:context"];
        const { error, resources } = await runProgram({ stack: "prod", baseConfig: base });
        assert.strictEqual(error?.name, "ConfigError");
        assert.match(error?.message ?? "", /a prod stack must name its cluster: set kubernetes:context .* or kubernetes:kubeconfig/);
        assert.deepStrictEqual(resources, []);
        // Rendering manifests needs no cluster.
        const rendered = await runProgram({ stack: "prod", baseConfig: { ...base, "@kubernetes:renderYamlToDirectory": "/tmp/out" } });
        assert.ifError(rendered.error);
        assert.strictEqual(rendered.resources.find((r) => r.type === PROVIDER_TYPE)?.inputs.renderYamlToDirectory, "/tmp/out");
    });

    it("the rule itself: prod needs a context, a kubeconfig or a render directory; dev may use the current context", () => {
        assert.match(checkClusterTarget("prod", {}).join(), /must name its cluster/);
        assert.deepStrictEqual(checkClusterTarget("prod", { context: "eks" }), []);
        assert.deepStrictEqual(checkClusterTarget("prod", { renderYamlToDirectory: "out" }), []);
        assert.deepStrictEqual(checkClusterTarget("dev", {}), []);
    });

    it("a kubeconfig with a render directory is refused naming both keys, before anything is registered", async () => {
        const kubeconfig = pulumi.output("apiVersion: v1");
        const [refusal, ...more] = checkClusterTarget("dev", { kubeconfig, renderYamlToDirectory: "out" });
        assert.match(refusal, /kubernetes:kubeconfig cannot be used with kubernetes:renderYamlToDirectory \("out"\)/);
        assert.deepStrictEqual(more, []);
        const { error, resources } = await runProgram({ stack: "dev", config: { "@kubernetes:renderYamlToDirectory": "/tmp/out", "@kubernetes:kubeconfig": "apiVersion: v1" } });
        assert.strictEqual(error?.name, "ConfigError");
        assert.match(error?.message ?? "", /kubernetes:kubeconfig cannot be used with kubernetes:renderYamlToDirectory/);
        // A refusal carries its message only: no stack frames for @pulumi/pulumi's runner to format (messageOnly).
        assert.strictEqual(error?.stack, `ConfigError: ${error?.message}`);
        assert.deepStrictEqual(resources, []);
    });
});
