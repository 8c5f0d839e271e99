/** The two tracks of a canary release: what the pods, Services, series and decisions are about. */

export type Track = "stable" | "canary";
export const TRACKS: readonly Track[] = ["stable", "canary"];
