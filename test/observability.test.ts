/** What the monitoring, logging, ServiceMonitor and dashboard components send, under mocks. */
import * as assert from "assert";
import { fluentBitFilters, fluentBitOutput } from "../components/observability/logging";
import { CHARTS } from "../components/platform/versions";
import { byName, ofType, Registered, runProgram, STACKS } from "./harness";

describe("observability components", () => {
    for (const stack of STACKS) {
        it(`${stack}: kube-prometheus-stack, pinned, picks up every ServiceMonitor and rule, with the environment's retention`, async () => {
            const { error, resources } = await runProgram({ stack });
            assert.ifError(error);
            const release = byName(resources, "monitoring-kube-prometheus-stack").inputs;
            assert.strictEqual(release.name, "kube-prometheus-stack");
            assert.strictEqual(release.namespace, "monitoring");
            assert.strictEqual(release.version, CHARTS.kubePrometheusStack.version);
            const spec = release.values.prometheus.prometheusSpec;
            assert.strictEqual(spec.serviceMonitorSelectorNilUsesHelmValues, false);
            assert.strictEqual(spec.ruleSelectorNilUsesHelmValues, false);
            assert.deepStrictEqual(spec.ruleNamespaceSelector, {});
            assert.strictEqual(spec.retention, "30d", "both environments keep the SLO period");
            assert.deepStrictEqual(release.values.grafana.sidecar.dashboards.label, "grafana_dashboard");
            assert.deepStrictEqual(release.values["kube-state-metrics"].metricLabelsAllowlist, ["pods=[track,app.kubernetes.io/name,app.kubernetes.io/version]"]);
        });
    }

    it("the ServiceMonitor scrapes both tracks and relabels app, version and track; drops go_*", async () => {
        const { resources } = await runProgram({ stack: "dev" });
        const sm = byName(resources, "podinfo-servicemonitor");
        assert.deepStrictEqual(sm.inputs.spec.selector.matchLabels, { "app.kubernetes.io/name": "podinfo", "app.kubernetes.io/part-of": "canary" });
        for (const svc of ["podinfo-stable-svc", "podinfo-canary-svc"]) {
            const labels = byName(resources, svc).inputs.metadata.labels;
            for (const [k, v] of Object.entries(sm.inputs.spec.selector.matchLabels)) assert.strictEqual(labels[k], v, `${svc} is selected`);
        }
        const ep = sm.inputs.spec.endpoints[0];
        const targets = Object.fromEntries(ep.relabelings.map((r: any) => [r.targetLabel, r.sourceLabels[0]]));
        assert.deepStrictEqual(targets, {
            app: "__meta_kubernetes_pod_label_app_kubernetes_io_name",
            version: "__meta_kubernetes_pod_label_app_kubernetes_io_version",
            track: "__meta_kubernetes_pod_label_track",
        });
        assert.deepStrictEqual(ep.metricRelabelings, [{ action: "drop", sourceLabels: ["__name__"], regex: "go_.*" }]);
        assert.ok(sm.dependencies.includes(byName(resources, "monitoring-kube-prometheus-stack").urn), "waits for the CRDs");
    });

    it("the dashboard is a ConfigMap Grafana's sidecar loads, with the panels a stage needs", async () => {
        const { resources } = await runProgram({ stack: "prod" });
        const cm = byName(resources, "dashboard-dashboard").inputs;
        assert.strictEqual(cm.metadata.namespace, "monitoring");
        assert.deepStrictEqual(cm.metadata.labels, { grafana_dashboard: "1" });
        const model = JSON.parse(cm.data["canary-podinfo.json"]);
        const titles = model.panels.map((p: any) => p.title).join(" | ");
        for (const t of ["configured vs observed", "Request rate by track", "Error ratio by track", "p95 and p99", "Error budget", "Burn rate", "Pods up by track"]) {
            assert.ok(titles.includes(t), `panel "${t}" in ${titles}`);
        }
        assert.strictEqual(model.annotations.list[0].name, "Stage changes");
        // The judge's row: a full-width row header on a line of its own, its panels below it.
        const row = model.panels.findIndex((p: any) => p.type === "row");
        assert.ok(row > 0, titles);
        const [header, first] = [model.panels[row], model.panels[row + 1]];
        assert.deepStrictEqual([header.gridPos.x, header.gridPos.w, header.gridPos.h], [0, 24, 1]);
        assert.ok(model.panels.slice(0, row).every((p: any) => p.gridPos.y + p.gridPos.h <= header.gridPos.y), "the row starts below every panel before it");
        assert.deepStrictEqual([first.gridPos.x, first.gridPos.y], [0, header.gridPos.y + 1]);
        assert.match(first.title, /^Judge: errors/);
    });

    it("logging: Loki and Fluent Bit (pinned) in `logging`, Loki as a Grafana datasource", async () => {
        const { resources } = await runProgram({ stack: "dev" });
        const loki = byName(resources, "logging-loki").inputs;
        const fluentBit = byName(resources, "logging-fluent-bit");
        assert.deepStrictEqual([loki.namespace, loki.version, loki.values.deploymentMode, loki.values.loki.storage.type], ["logging", CHARTS.loki.version, "SingleBinary", "filesystem"]);
        assert.strictEqual(fluentBit.inputs.version, CHARTS.fluentBit.version);
        assert.ok(fluentBit.dependencies.includes(byName(resources, "logging-loki").urn));
        assert.match(fluentBit.inputs.values.config.outputs, /Name\s+loki/);
        const ds = byName(resources, "logging-loki-datasource").inputs;
        assert.deepStrictEqual([ds.metadata.namespace, ds.metadata.labels], ["monitoring", { grafana_datasource: "1" }]);
        assert.strictEqual(JSON.parse(ds.data["loki.yaml"]).datasources[0].url, "http://loki.logging.svc.cluster.local:3100");
    });

    it("logging: Fluent Bit lifts track and version from the pod labels into each record", () => {
        const filters = fluentBitFilters();
        assert.match(filters, /Name\s+kubernetes[\s\S]*Labels\s+On/);
        assert.match(filters, /Rename\s+label_track track/);
        assert.match(filters, /Rename\s+label_app\.kubernetes\.io\/version version/);
        assert.match(fluentBitOutput({ enabled: true, output: "loki", lokiStorageSize: "10Gi", lokiRetention: "14d" }, "logging"), /Labels\s+.*track=\$track, version=\$version/);
    });

    it("chart settings a real cluster needs: Prometheus keeps the SLO period on a volume, Loki deletes old logs, Fluent Bit reads only container logs", async () => {
        for (const [stack, size] of [["dev", "10Gi"], ["prod", "50Gi"]] as const) {
            const { resources } = await runProgram({ stack });
            const spec = byName(resources, "monitoring-kube-prometheus-stack").inputs.values.prometheus.prometheusSpec;
            assert.strictEqual(spec.retention, "30d", `${stack}: the SLO period (30 days) is kept`);
            assert.deepStrictEqual(spec.storageSpec.volumeClaimTemplate.spec, { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: size } } });
            const loki = byName(resources, "logging-loki").inputs.values;
            assert.deepStrictEqual([loki.loki.compactor, loki.loki.limits_config], [{ retention_enabled: true, delete_request_store: "filesystem" }, { retention_period: "14d" }]);
            const config = byName(resources, "logging-fluent-bit").inputs.values.config;
            const inputs = config.inputs.split("[INPUT]").slice(1);
            assert.strictEqual(inputs.length, 1, "one input");
            assert.match(inputs[0], /Name\s+tail\n\s+Path\s+\/var\/log\/containers\/\*\.log[\s\S]*Tag\s+kube\.\*/);
            assert.doesNotMatch(config.inputs, /systemd/);
            assert.match(config.outputs, /Match\s+kube\.\*/, "the outputs match what the input tags");
        }
        const classes = await runProgram({ stack: "dev", config: { monitoring: { storage: { size: "20Gi", storageClass: "gp3" } }, logging: { lokiStorageClass: "gp3", lokiRetention: "7d" } } });
        assert.ifError(classes.error);
        assert.strictEqual(byName(classes.resources, "monitoring-kube-prometheus-stack").inputs.values.prometheus.prometheusSpec.storageSpec.volumeClaimTemplate.spec.storageClassName, "gp3");
        const loki = byName(classes.resources, "logging-loki").inputs.values;
        assert.deepStrictEqual([loki.singleBinary.persistence.storageClass, loki.loki.limits_config.retention_period], ["gp3", "7d"]);
    });

    it("a Prometheus retention shorter than the SLO period is refused; a shorter SLO period allows it", async () => {
        const short = await runProgram({ stack: "prod", config: { monitoring: { retention: "15d" } }, previous: null });
        assert.match(short.error?.message ?? "", /canary:monitoring\.retention = "15d": must cover the SLO period \(canary:alerts\.slo\.periodDays = 30 days\)/);
        assert.deepStrictEqual(short.resources, []);
        const week = await runProgram({ stack: "prod", config: { monitoring: { retention: "168h" }, alerts: { slo: { periodDays: 7 } } } });
        assert.ifError(week.error);
    });

    it("tracing (dev): Tempo (pinned) on a volume in `monitoring`, a Grafana datasource, both tracks exporting OTLP to it", async () => {
        const { error, resources } = await runProgram({ stack: "dev", config: { weight: 5 } });
        assert.ifError(error);
        const tempo = byName(resources, "tracing-tempo").inputs;
        assert.deepStrictEqual([tempo.chart, tempo.version, tempo.repositoryOpts.repo, tempo.namespace], ["tempo", CHARTS.tempo.version, CHARTS.tempo.repo, "monitoring"]);
        assert.deepStrictEqual(tempo.values, { tempo: { retention: "72h", reportingEnabled: false }, persistence: { enabled: true, size: "10Gi" } });
        const datasource = byName(resources, "tracing-tempo-datasource").inputs;
        assert.deepStrictEqual(datasource.metadata.labels, { grafana_datasource: "1" });
        assert.deepStrictEqual(JSON.parse(datasource.data["tempo.yaml"]).datasources, [{ name: "Tempo", type: "tempo", uid: "tempo", access: "proxy", url: "http://tempo.monitoring:3200" }]);
        for (const track of ["stable", "canary"]) {
            const env = Object.fromEntries(byName(resources, `podinfo-${track}`).inputs.spec.template.spec.containers[0].env.map((e: any) => [e.name, e.value]));
            assert.strictEqual(env.OTEL_EXPORTER_OTLP_ENDPOINT, "http://tempo.monitoring:4317");
            assert.strictEqual(env.OTEL_EXPORTER_OTLP_PROTOCOL, "grpc");
            assert.strictEqual(env.PODINFO_OTEL_SERVICE_NAME, "podinfo", "podinfo traces only with its otel-service-name flag set");
        }
        const sized = await runProgram({ stack: "dev", config: { tracing: { retention: "336h", storageSize: "20Gi", storageClass: "fast" } } });
        assert.deepStrictEqual(byName(sized.resources, "tracing-tempo").inputs.values.persistence, { enabled: true, size: "20Gi", storageClassName: "fast" });
        const bad = await runProgram({ stack: "dev", config: { tracing: { retention: "3d" } } });
        assert.match(bad.error?.message ?? "", /canary:tracing\.retention = "3d": must be a Go duration above 0 \(time\.ParseDuration\) such as 72h, 1h30m or 1\.5h: .*not d, w or y/);
    });

    it("tracing: the dashboard's latency panel links to the canary version's traces; off (prod's default) means no Tempo, no exporter, no link", async () => {
        const dashboardOf = (r: Registered[]) => JSON.parse(byName(r, "dashboard-dashboard").inputs.data["canary-podinfo.json"]);
        const dev = await runProgram({ stack: "dev", config: { weight: 5 } });
        const latency = dashboardOf(dev.resources).panels.find((p: any) => p.title.startsWith("Latency"));
        assert.strictEqual(latency.links.length, 1);
        const panes = JSON.parse(new URL(latency.links[0].url, "http://grafana").searchParams.get("panes") as string);
        assert.deepStrictEqual(panes.canary.queries[0].query, '{ resource.service.name = "podinfo" && resource.service.version = "6.8.0" }');
        assert.deepStrictEqual(panes.canary.queries[0].datasource, { type: "tempo", uid: "tempo" });
        const prod = await runProgram({ stack: "prod", config: { weight: 5 } });
        assert.ifError(prod.error);
        assert.ok(!prod.resources.some((r) => r.name.startsWith("tracing-")));
        const env = byName(prod.resources, "podinfo-canary").inputs.spec.template.spec.containers[0].env.map((e: any) => e.name);
        assert.ok(!env.includes("OTEL_EXPORTER_OTLP_ENDPOINT"));
        assert.ok(dashboardOf(prod.resources).panels.every((p: any) => p.links === undefined));
    });

    it("logging: Elasticsearch and stdout outputs; no Loki then", async () => {
        const es = await runProgram({ stack: "prod", config: { logging: { output: "elasticsearch", elasticsearch: { host: "es.example.com" } } } });
        assert.ifError(es.error);
        assert.throws(() => byName(es.resources, "logging-loki"));
        const out = byName(es.resources, "logging-fluent-bit").inputs.values.config.outputs;
        assert.match(out, /Name\s+es/);
        assert.match(out, /Host\s+es\.example\.com/);
        assert.match(out, /Port\s+9200/);
        const stdout = await runProgram({ stack: "dev", config: { logging: { output: "stdout" } } });
        assert.match(byName(stdout.resources, "logging-fluent-bit").inputs.values.config.outputs, /Name\s+stdout/);
        assert.ok(!ofType(stdout.resources, "kubernetes:core/v1:ConfigMap").some((c) => c.name === "logging-loki-datasource"), "no Loki, no Loki datasource");
    });

    it("logging: elasticsearch without a host is a config error", async () => {
        const { error, resources } = await runProgram({ stack: "prod", config: { logging: { output: "elasticsearch" } }, previous: null });
        assert.match(error?.message ?? "", /canary:logging\.elasticsearch = \(not set\): is required when canary:logging\.output is elasticsearch/);
        assert.deepStrictEqual(resources, []);
    });

    it("alert thresholds come from stack config", async () => {
        const { resources } = await runProgram({ stack: "dev", config: { alerts: { errorRatio: 0.02, slo: { objective: 0.99 } } } });
        const rules = byName(resources, "alerts-rules").inputs.spec.groups.flatMap((g: any) => g.rules);
        assert.match(rules.find((r: any) => r.alert === "CanaryHighErrorRate").expr, /> 0\.02$/);
        const burn = rules.filter((r: any) => r.alert === "ErrorBudgetBurn").map((r: any) => r.expr.match(/\(([\d.]+) \* ([\d.]+)\)/).slice(1).join("*"));
        assert.deepStrictEqual(burn, ["14.4*0.01", "6*0.01", "3*0.01", "1*0.01"]);
    });

    it("bad thresholds fail with the key named", async () => {
        const { error } = await runProgram({ stack: "dev", config: { alerts: { errorRatio: 5, slo: { objective: 99.9 } } }, previous: null });
        assert.match(error?.message ?? "", /canary:alerts\.errorRatio = 5: must be a ratio above 0 and at most 1/);
        assert.match(error?.message ?? "", /canary:alerts\.slo\.objective = 99\.9: must be between 0 and 1/);
    });
});
