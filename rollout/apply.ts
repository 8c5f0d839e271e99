/**
 * `rollout run --apply`: applies the stage the command wrote through the Pulumi Automation API
 * (LocalWorkspace: select the stack, set `canary:weight`, `up`). The workspace is injected, so tests
 * drive this code without a Pulumi CLI; `selectLocalStack` is the real one.
 */
import { LocalWorkspace } from "@pulumi/pulumi/automation";
import { PROJECT } from "./stackFile";

/** The part of an Automation API `Stack` this command uses. */
export interface StackHandle {
    setConfig(key: string, value: { value: string; secret?: boolean }): Promise<void>;
    up(opts: { onOutput?: (out: string) => void }): Promise<{ summary: { result: string } }>;
}

export type SelectStack = (args: { stackName: string; workDir: string }) => Promise<StackHandle>;

export const selectLocalStack: SelectStack = (args) => LocalWorkspace.selectStack(args);

/** Sets the stage and runs `pulumi up`; returns the update's result, throws if it did not succeed. */
export async function applyStage(select: SelectStack, workDir: string, stackName: string, weight: number, log: (line: string) => void): Promise<string> {
    const stack = await select({ stackName, workDir });
    await stack.setConfig(`${PROJECT}:weight`, { value: String(weight) });
    const { summary } = await stack.up({ onOutput: (out) => log(out.trimEnd()) });
    if (summary.result !== "succeeded") throw new Error(`pulumi up of ${stackName} ended ${summary.result}`);
    return summary.result;
}
