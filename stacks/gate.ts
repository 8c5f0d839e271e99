/**
 * How the stage a stack records was verified, as the `stageGate` output says it: a person reading the
 * stack (or prod's promotion check reading the evidence) can tell a stage that passed the judge from
 * one that was only applied or only rendered.
 */
import type { StackConfig } from "./schema";

export type StageGate = "no analysis at weight 0" | "passed on the judge's PROMOTE" | "applied, not waited for (canary:analysis.wait false)" | "applied, not analysed (canary:analysis.enabled false)" | "rendered, not verified (kubernetes:renderYamlToDirectory)";

export function stageGate(weight: number, analysis: Pick<StackConfig["analysis"], "enabled" | "wait">, rendering: boolean): StageGate {
    if (weight === 0) return "no analysis at weight 0";
    if (!analysis.enabled) return "applied, not analysed (canary:analysis.enabled false)";
    if (rendering) return "rendered, not verified (kubernetes:renderYamlToDirectory)";
    return analysis.wait ? "passed on the judge's PROMOTE" : "applied, not waited for (canary:analysis.wait false)";
}
