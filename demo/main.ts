/**
 * `npm run demo`: the main job for real, on this machine. The dev stack through the real Pulumi engine
 * against a local API server with the real Argo Rollouts controller (demo/lab.ts), walking a healthy
 * canary 0 → 5 → 25 → 50 → 100 → promotion, then a faulty one that the gate rolls back, and printing
 * for each stage what `pulumi up` changed, the judge's decision with its requests and reasons, and the
 * time. scripts/demo.sh builds what it needs first. Everything it starts is stopped at the end (also
 * on Ctrl-C); the logs stay in a directory it names.
 */
import * as fs from "fs";
import * as path from "path";
import { chartName } from "./charts";
import { removeTempDirs, sleep } from "./host";
import { APP_NAMESPACE, FAULTY, Lab, STAGE_RATE } from "./lab";
import { count, out, Report } from "./report";

/** A healthy build of the demo app whose process the demo kills mid-stage (demo/pods.ts `kill`). */
const CRASHING = "6.9.1";

async function demo(): Promise<boolean> {
    const t0 = Date.now();
    out("canary demo: the dev stack through the real Pulumi engine, on a local control plane with the real Argo Rollouts controller");
    const lab = await Lab.start();
    const dev = lab.devStack();
    let ok = false;
    const report = new Report();
    try {
        out(`  cluster     ${lab.cp.server}: etcd, kube-apiserver, kube-controller-manager, kube-scheduler, a kwok node, in a network namespace of its own`);
        out(`  pods        a demo-app process on each pod's IP (10.244.0.x), the version its image's tag says`);
        out(`  CRDs        ${lab.crds.join("; ")}`);
        out(`  gateway     Traefik v3.6.12 at ${lab.gatewayUrl}, serving the Gateway gateways/shared by the stage's HTTPRoute; ${STAGE_RATE} requests a second to it during a stage`);
        out(`  Prometheus  ${lab.live.promUrl}, finding the pods through the API server as the ServiceMonitor says, and scraping Traefik`);
        out(`  judge       ${lab.judgeUrl}: two replicas of the program's own bundle behind a round robin, asked with the stack's token by the controller every 2 s`);
        out(`  ready in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
        out();
        report.header();
        report.stage("0", await dev.stage({}));
        let from = 0;
        let promoted = true;
        let splitsHeld = true;
        let headerHeld = true;
        for (const weight of [5, 25, 50, 100]) {
            const s = await dev.stage({ "canary:weight": weight });
            report.stage(`${from} → ${weight}`, s, chartName("stage", weight));
            splitsHeld = report.traffic(s, weight, "6.8.0") && splitsHeld;
            headerHeld = (await report.canaryHeader(dev, "6.8.0")) && headerHeld;
            from = weight;
            promoted &&= s.up.status === 0 && s.answer?.decision === "PROMOTE";
            if (!promoted) break;
        }
        const app = dev.config["canary:app"] as any;
        if (promoted) {
            const p = await dev.stage({ "canary:weight": 0, "canary:app": { ...app, stable: { ...app.stable, image: app.canary.image } } });
            report.stage("promotion", p);
            promoted = p.up.status === 0 && dev.outputs().promotedVersion === "6.8.0";
            if (promoted) report.note("stable runs 6.8.0; the canary Deployment is scaled to 0; the stack exports promotedVersion 6.8.0");
        }
        out();
        out(`a new canary, ${FAULTY.version}, a build that answers ${FAULTY.errorRatio * 100}% of its requests 500`);
        const next = dev.config["canary:app"] as any;
        report.stage(`${FAULTY.version} at 0`, await dev.stage({ "canary:app": { ...next, canary: { image: `ghcr.io/stefanprodan/podinfo:${FAULTY.version}` } } }));
        headerHeld = (await report.canaryHeader(dev, FAULTY.version)) && headerHeld;
        const faulty = await dev.stage({ "canary:weight": 5 });
        report.stage("0 → 5", faulty, chartName("faulty", 5));
        report.traffic(faulty, 5, FAULTY.version);
        const caught = faulty.up.status !== 0 && faulty.answer?.decision === "ROLLBACK" && dev.outputs().stage === 0;
        if (caught) report.note("the stack still records stage 0: a failed stage is never recorded");
        const back = await dev.stage({ "canary:weight": 0 });
        report.stage("rollback", back);
        const rolledBack = back.up.status === 0 && JSON.stringify(await dev.routeWeights()) === "[100,0]";
        out();
        out(`a new canary, ${CRASHING}, whose process crashes mid-stage, judged on Traefik's counts (canary:metrics.source traefik): its own metrics see nothing`);
        const after = dev.config["canary:app"] as any;
        report.stage(`${CRASHING} at 0`, await dev.stage({ "canary:app": { ...after, canary: { image: `ghcr.io/stefanprodan/podinfo:${CRASHING}` } } }));
        const crash = await dev.stage({ "canary:weight": 5, "canary:metrics": { ...(dev.config["canary:metrics"] as object), source: "traefik" } }, async () => {
            await dev.measuring();
            await sleep(3000);
            lab.pods.kill(APP_NAMESPACE, "canary");
        });
        report.stage("0 → 5", crash, chartName("crash", 5));
        report.traffic(crash, 5, CRASHING);
        const crashCaught = crash.up.status !== 0 && crash.answer?.decision === "ROLLBACK" && (crash.served.get("status 502") ?? 0) > 0;
        const crashBack = await dev.stage({ "canary:weight": 0 });
        report.stage("rollback", crashBack);
        out();
        ok = promoted && caught && rolledBack && splitsHeld && headerHeld && crashCaught && crashBack.up.status === 0;
        out(
            ok
                ? `6.8.0 promoted through 5, 25, 50 and 100 on the judge's PROMOTE, each stage's split within its bound, the canary header reaching the canary's image at each; ${FAULTY.version} rolled back at 5 on its ROLLBACK, after ${count(faulty.answer?.canaryRequests)} canary requests; ${CRASHING}, crashed, rolled back on the Gateway's 502s.`
                : `the demo did not go as it should: promoted ${promoted}, faulty canary caught ${caught}, rolled back ${rolledBack}, splits within bound ${splitsHeld}, canary header reaching the canary ${headerHeld}, crashed canary caught ${crashCaught}; see the logs`,
        );
    } finally {
        for (const name of ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "etcd", "rollouts-controller"]) {
            fs.writeFileSync(path.join(report.dir, `${name}.log`), lab.cp.log(name, 2000));
        }
        await lab.stop();
    }
    // Lab.stop has checked its namespace: it throws, naming them, when anything is left.
    out(`took ${((Date.now() - t0) / 60_000).toFixed(1)} min; nothing is left running`);
    out(`logs: ${report.dir} (each pulumi up's output, a chart of each judged stage's live answers, the control plane's and the controller's logs)`);
    return ok;
}

demo()
    .then((ok) => {
        removeTempDirs();
        process.exit(ok ? 0 : 1);
    })
    .catch((e: Error) => {
        removeTempDirs();
        process.stderr.write(`demo: ${e.message}\n`);
        process.exit(1);
    });
