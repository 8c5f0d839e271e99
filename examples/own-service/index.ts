/**
 * A team's own program: its service, `checkout`, canaried by the library (`import ... from "canary"`),
 * on the cluster's platform stack. The settings that do not change with a release live here, typed by
 * the same schema as a stack file's; the stage (`checkout:weight`) and the images stay in the stack's
 * config, so `rollout next` and `rollout promote` move them and each PR's preview shows the change.
 */
import { CanaryService, readStackArgs, type StackConfigInput } from "canary";

const checkout: StackConfigInput = {
    platform: "acme/platform/dev",
    app: {
        name: "checkout",
        namespace: "checkout",
        host: "checkout.dev.example.com",
        port: 8080,
        probes: { readiness: { path: "/ready" }, liveness: { path: "/live" } },
    },
};

export = async () => {
    const stack = readStackArgs();
    // The stack's own keys (weight, images, analysis settings) over the team's settings.
    const service = await CanaryService.create("checkout", { ...stack, config: { ...checkout, ...stack.config, app: { ...checkout.app, ...(stack.config.app as StackConfigInput["app"]) } } });
    return service.outputs;
};
