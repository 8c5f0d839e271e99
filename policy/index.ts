/**
 * The policy pack: `pulumi preview --policy-pack policy`. Only this file starts the pack (the
 * PolicyPack constructor serves the analyzer protocol); the policies live in `policies.ts`.
 */
import { PolicyPack } from "@pulumi/policy";
import { canaryPolicies } from "./policies";

new PolicyPack("canary", { policies: canaryPolicies() });
