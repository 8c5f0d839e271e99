/**
 * The program's clock: when a new stage's AnalysisRun starts its window (`since`). The test harness
 * sets it, so that two runs of the program agree to the second and a test can move it.
 */
let clock: () => Date = () => new Date();

export function now(): Date {
    return clock();
}

/** Replaces the clock (tests): `setClock(() => new Date("2026-12-06T21:00:00Z"))`. */
export function setClock(c: () => Date): void {
    clock = c;
}
