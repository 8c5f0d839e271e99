/**
 * The Alertmanager configuration, as plain data. It holds no secret: the Slack webhook URL and the
 * PagerDuty routing key stay in a Kubernetes Secret that the Alertmanager pod mounts, and the config
 * names the mounted files (`api_url_file`, `routing_key_file`).
 */

/** The Secret with the receivers' credentials, mounted by the operator at /etc/alertmanager/secrets/<name>/. */
export const RECEIVER_SECRET = "alertmanager-receivers";
export const SECRET_FILES = { slack: "slack-webhook-url", pagerduty: "pagerduty-routing-key" } as const;

export interface ReceiverSettings {
    /** Send critical and warning alerts to Slack (the webhook URL is in the Secret). */
    readonly slackChannel?: string;
    /** Page critical alerts through PagerDuty (the routing key is in the Secret). */
    readonly pagerduty: boolean;
}

const secretPath = (file: string) => `/etc/alertmanager/secrets/${RECEIVER_SECRET}/${file}`;

/**
 * Critical goes to PagerDuty and Slack, warning to Slack, info (and the Watchdog) nowhere; a critical
 * alert inhibits the warning of the same name in the same namespace.
 */
export function alertmanagerConfig(r: ReceiverSettings): Record<string, unknown> {
    const slack = r.slackChannel !== undefined;
    const receivers: Record<string, unknown>[] = [{ name: "null" }];
    const routes: Record<string, unknown>[] = [{ receiver: "null", matchers: ['alertname = "Watchdog"'] }];
    if (r.pagerduty) {
        receivers.push({
            name: "pagerduty",
            pagerduty_configs: [{ routing_key_file: secretPath(SECRET_FILES.pagerduty), send_resolved: true }],
        });
        routes.push({ receiver: "pagerduty", matchers: ['severity = "critical"'], continue: slack });
    }
    if (slack) {
        receivers.push({
            name: "slack",
            slack_configs: [
                {
                    api_url_file: secretPath(SECRET_FILES.slack),
                    channel: r.slackChannel,
                    send_resolved: true,
                    title: '[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }} ({{ .CommonLabels.namespace }})',
                    text: '{{ range .Alerts }}{{ .Annotations.description }}\nRunbook: {{ .Annotations.runbook_url }}\n{{ end }}',
                },
            ],
        });
        routes.push({ receiver: "slack", matchers: ['severity =~ "critical|warning"'] });
    }
    return {
        route: {
            receiver: "null",
            group_by: ["alertname", "namespace", "app"],
            group_wait: "30s",
            group_interval: "5m",
            repeat_interval: "4h",
            routes,
        },
        inhibit_rules: [{ source_matchers: ['severity = "critical"'], target_matchers: ['severity = "warning"'], equal: ["alertname", "namespace"] }],
        receivers,
    };
}
