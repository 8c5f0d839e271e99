/**
 * Mocha root hooks: before any suite, Prometheus, promtool, Alertmanager and amtool at the versions the
 * pinned kube-prometheus-stack deploys go first on PATH (scripts/prometheus.sh, built on a cold cache),
 * so the suites test against those and never an older distribution package; whatever the suites left in
 * the temp dir is removed once the run ends.
 */
import { removeTempDirs, usePrometheusTools } from "../demo/host";

export const mochaHooks = {
    beforeAll(this: Mocha.Context): void {
        this.timeout(60 * 60_000); // a cold cache builds them first: minutes
        usePrometheusTools();
    },
    afterAll(): void {
        removeTempDirs();
    },
};
