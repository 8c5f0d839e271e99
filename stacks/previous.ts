/**
 * What the stack applied last, read from its own outputs through a StackReference to itself.
 * Reading it is a read of the stack's last checkpoint: nothing is created in the cluster or in AWS.
 */
import * as pulumi from "@pulumi/pulumi";
import type { AppliedStage } from "../domain/stages";

/** Output names the program exports and reads back on the next run. */
export const STAGE_OUTPUT = "stage";
export const CANARY_VERSION_OUTPUT = "canaryVersion";

/** The fully qualified name of the running stack. */
export function selfStackName(): string {
    return `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`;
}

/** The previous stage, or undefined before the stack's first successful `pulumi up`. */
export async function readAppliedStage(): Promise<AppliedStage | undefined> {
    const self = new pulumi.StackReference("applied-stage", { name: selfStackName() });
    const [stage, version] = await Promise.all([self.getOutputDetails(STAGE_OUTPUT), self.getOutputDetails(CANARY_VERSION_OUTPUT)]);
    if (typeof stage.value !== "number") {
        return undefined;
    }
    return { stage: stage.value, canaryVersion: typeof version.value === "string" ? version.value : undefined };
}
