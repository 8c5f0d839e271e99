/**
 * `rollout run --apply`: applies the stage the command wrote through the Pulumi Automation API
 * (LocalWorkspace: select the stack, set `canary:weight`, `up` with the project's policy pack, as CI's
 * `.github/scripts/stage-up.sh` runs it), and `rollout next`'s read of the stage the stack applied last
 * (`pulumi stack output`). The workspace is injected, so tests drive this code without a Pulumi CLI;
 * `selectLocalStack` and `readLocalApplied` are the real ones.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { APPLIED_OUTPUTS, AppliedStage, appliedStageOf } from "../domain/stages";
import { UsageError } from "../lib/args";
import type { StackFile } from "./stackFile";

/**
 * The policy pack every `up` runs with, as its executable analyzer: the path `stage-up.sh` gives
 * `pulumi up --policy-pack` (an executable pack runs under any CLI, the toolchain's too: docs/engine.md).
 */
export const POLICY_PACK = path.join("policy", "analyzer");

/** The project's policy pack, absolute; a UsageError when it is not there to run, said before the analysis rather than by a failed `up` after it. */
export function policyPackOf(workDir: string): string {
    const pack = path.resolve(workDir, POLICY_PACK);
    try {
        fs.accessSync(pack, fs.constants.X_OK);
    } catch {
        throw new UsageError(`--apply runs \`pulumi up\` with the policy pack ${POLICY_PACK}, as CI does, and ${pack} is not an executable file: run from the project's directory`);
    }
    return pack;
}

/**
 * The Automation API, loaded on first use: @pulumi/pulumi takes a quarter of a second or more to
 * load, which only `run --apply` needs, not every start of the command.
 */
const automation = () => import("@pulumi/pulumi/automation");

/** The part of an Automation API `Stack` this command uses. */
export interface StackHandle {
    /** `pulumi stack output --json` (@pulumi/pulumi automation/stack.js `outputs`). */
    outputs(): Promise<Record<string, { value: unknown }>>;
    setConfig(key: string, value: { value: string; secret?: boolean }, path?: boolean): Promise<void>;
    /** `policyPacks`: Automation API's UpOptions.policyPacks, each passed as `--policy-pack` (@pulumi/pulumi automation/stack.js, `up`). */
    up(opts: { onOutput?: (out: string) => void; policyPacks?: string[] }): Promise<{ summary: { result: string } }>;
}

export type SelectStack = (args: { stackName: string; workDir: string }) => Promise<StackHandle>;

export const selectLocalStack: SelectStack = async (args) => (await automation()).LocalWorkspace.selectStack(args);

/** Resolves to the CLI's version, or rejects with why the Automation API could not run it. */
export type CheckPulumi = () => Promise<string>;

/**
 * The Automation API's own lookup (`pulumi version` from PATH, checked against the SDK's minimum),
 * so a CLI that passes here is the one `up` will run.
 */
export const checkLocalPulumi: CheckPulumi = async () => {
    try {
        return (await (await automation()).PulumiCommand.get()).version?.toString() ?? "unknown";
    } catch (e) {
        throw new Error(pulumiMessage(e));
    }
};

/**
 * What Pulumi itself said: a failed CLI call carries its stderr (and stdout); the Automation API's
 * own message wraps them in `code: … stdout: … stderr: …`.
 */
export function pulumiMessage(e: unknown): string {
    const r = (e as { commandResult?: { stderr?: string; stdout?: string; err?: Error } }).commandResult;
    if (!r) return (e as Error).message ?? String(e);
    const said = [r.stderr, r.stdout].map((s) => (s ?? "").trim()).filter((s) => s !== "");
    if (said.length > 0) return said.join("\n");
    return r.err?.message ?? (e as Error).message;
}

/**
 * Sets the stage and runs `pulumi up` with the policy pack `policyPack` (`policyPackOf`); returns the
 * update's result, throws with Pulumi's message if it did not succeed. The weight is set with
 * `--path`, so the CLI stores the number 25, not the string "25", and the stack file stays what the
 * schema expects.
 */
export async function applyStage(select: SelectStack, workDir: string, { stack: stackName, project }: StackFile, weight: number, policyPack: string, log: (line: string) => void): Promise<string> {
    try {
        const stack = await select({ stackName, workDir });
        await stack.setConfig(`${project}:weight`, { value: String(weight) }, true);
        const { summary } = await stack.up({ onOutput: (out) => log(out.trimEnd()), policyPacks: [policyPack] });
        if (summary.result !== "succeeded") throw new Error(`pulumi up of ${stackName} ended ${summary.result}`);
        return summary.result;
    } catch (e) {
        throw new Error(pulumiMessage(e));
    }
}

/** The stage the stack applied last (undefined: none yet), or why it could not be read. */
export type AppliedRead = { readonly applied: AppliedStage | undefined } | { readonly unknown: string };
export type ReadApplied = (args: { stackName: string; workDir: string }) => Promise<AppliedRead>;

/**
 * Where Pulumi keeps its state, as the CLI finds it: `PULUMI_BACKEND_URL`, or the backend `pulumi
 * login` stored as `current` in credentials.json under PULUMI_HOME (default ~/.pulumi; pulumi
 * sdk/go/common/workspace/creds.go). Undefined when neither is set: the CLI would then turn to
 * Pulumi Cloud and ask to log in, so the command does not start it.
 */
export function pulumiBackend(env: NodeJS.ProcessEnv, home = os.homedir()): string | undefined {
    if (env.PULUMI_BACKEND_URL) return env.PULUMI_BACKEND_URL;
    try {
        const creds = JSON.parse(fs.readFileSync(path.join(env.PULUMI_HOME || path.join(home, ".pulumi"), "credentials.json"), "utf8"));
        return typeof creds?.current === "string" && creds.current !== "" ? creds.current : undefined;
    } catch {
        return undefined;
    }
}

/** The stack's own outputs through the Automation API (`pulumi stack output`), the same the program reads back (`APPLIED_OUTPUTS`). */
export function readApplied(select: SelectStack, env: NodeJS.ProcessEnv = process.env): ReadApplied {
    return async (args) => {
        if (pulumiBackend(env) === undefined) return { unknown: "no Pulumi backend is logged in here (pulumi login, or PULUMI_BACKEND_URL)" };
        try {
            const outputs = await (await select(args)).outputs();
            return { applied: appliedStageOf({ stage: outputs[APPLIED_OUTPUTS.stage]?.value, canaryVersion: outputs[APPLIED_OUTPUTS.canaryVersion]?.value, entry: outputs[APPLIED_OUTPUTS.entry]?.value }) };
        } catch (e) {
            return { unknown: pulumiMessage(e).split("\n")[0] };
        }
    };
}

export const readLocalApplied: ReadApplied = readApplied(selectLocalStack);
