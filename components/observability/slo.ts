/**
 * Multiwindow, multi-burn-rate alerting windows for an availability SLO.
 *
 * From the Google SRE Workbook, "Alerting on SLOs", table 5-8
 * (https://sre.google/workbook/alerting-on-slos/#6-multiwindow-multi-burn-rate-alerts):
 * page when 2% of a 30-day budget burns in 1h or 5% in 6h; ticket when 10% burns in 1d or 3d.
 * The burn-rate factor is derived, not typed in: consumed share × SLO period / long window
 * (2% × 720h / 1h = 14.4, 5% × 720h / 6h = 6, 10% × 720h / 24h = 3, 10% × 720h / 72h = 1).
 * The short window is 1/12 of the long one, so an alert stops soon after the burn stops.
 */

export interface BurnWindow {
    readonly long: string;
    readonly short: string;
    readonly longHours: number;
    /** Share of the whole period's error budget consumed within `long` at this burn rate. */
    readonly budgetConsumed: number;
    readonly severity: "critical" | "warning";
}

export const BURN_WINDOWS: readonly BurnWindow[] = [
    { long: "1h", short: "5m", longHours: 1, budgetConsumed: 0.02, severity: "critical" },
    { long: "6h", short: "30m", longHours: 6, budgetConsumed: 0.05, severity: "critical" },
    { long: "1d", short: "2h", longHours: 24, budgetConsumed: 0.1, severity: "warning" },
    { long: "3d", short: "6h", longHours: 72, budgetConsumed: 0.1, severity: "warning" },
];

/** Rounds away floating-point noise (0.02 * 720 is 14.399999999999999 in binary). */
function tidy(x: number): number {
    return Number(x.toPrecision(10));
}

/** How many times faster than "exactly spends the budget over the period" the errors come. */
export function burnFactor(w: BurnWindow, periodDays: number): number {
    return tidy((w.budgetConsumed * periodDays * 24) / w.longHours);
}

/** The error budget: the share of requests allowed to fail. */
export function errorBudget(objective: number): number {
    return tidy(1 - objective);
}

/** Every window the burn-rate alerts read, each recorded once. */
export function sloWindows(): string[] {
    return [...new Set(BURN_WINDOWS.flatMap((w) => [w.short, w.long]))];
}
